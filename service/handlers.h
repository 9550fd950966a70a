/* handlers.h - every route handler, one group per resource file. */
#ifndef REFLECTD_HANDLERS_H
#define REFLECTD_HANDLERS_H

#include "router.h"

struct req;

/* The routing table (routes.c). */
extern const struct route routes[];
extern const size_t routes_count;

/* ops.c */
void h_healthz(struct req *r);
void h_readyz(struct req *r);
void h_metrics(struct req *r);

#endif
