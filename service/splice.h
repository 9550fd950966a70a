/* splice.h - raw JSON fragments placed into a jansson document. */
#ifndef REFLECTD_SPLICE_H
#define REFLECTD_SPLICE_H

#include <jansson.h>
#include <stddef.h>

struct splice;

/* One per response. NULL when out of memory. */
struct splice *splice_new(void);
void splice_free(struct splice *s);

/* A string to put in the document where the JSON text raw[0..len) must
 * appear; raw is borrowed and must stay valid until splice_dump(). The
 * caller guarantees raw is one valid JSON value. A new reference. */
json_t *splice_placeholder(struct splice *s, const char *raw, size_t len);

/* json_dumps(doc, JSON_COMPACT) with every placeholder replaced by its
 * text; malloc'd, NULL when out of memory. doc is not consumed. */
char *splice_dump(struct splice *s, const json_t *doc);

#endif
