/* arena.h - per-request bump allocator; everything dies with the request.
 *
 * Return convention: allocations return the memory, never NULL: running out
 * of memory mid-request aborts (arena.c); init and free cannot fail. */
#ifndef REFLECTD_ARENA_H
#define REFLECTD_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;
};

void arena_init(struct arena *a);
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(struct arena *a);

#endif
