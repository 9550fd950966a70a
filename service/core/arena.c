/* arena.c - per-request bump allocator.
 *
 * A request makes many small allocations (path parameters, SQL parameters,
 * formatted strings) that all die together when the response is sent. The
 * arena hands them out from 4 KiB chunks and frees the chunks in one go, so
 * no per-string free() can be forgotten on an error path. Allocations larger
 * than a chunk get a chunk of their own. */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 4096
#define ARENA_ALIGN 16

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void arena_init(struct arena *a)
{
    a->head = NULL;
}

static struct arena_chunk *arena_chunk_new(size_t size)
{
    struct arena_chunk *c = malloc(sizeof(*c) + size);
    if (!c)
        abort(); /* out of memory: nothing sensible to do mid-request */
    c->next = NULL;
    c->used = 0;
    c->size = size;
    return c;
}

void *arena_alloc(struct arena *a, size_t n)
{
    if (n > SIZE_MAX - sizeof(struct arena_chunk) - ARENA_ALIGN)
        abort(); /* no such memory: fail like malloc would, never wrap */
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n == 0)
        n = ARENA_ALIGN;
    struct arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        c = arena_chunk_new(n > ARENA_CHUNK ? n : ARENA_CHUNK);
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        abort();
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return arena_strdup(a, "");
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_free(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}
