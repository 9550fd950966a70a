/* test_arena.c - the per-request bump allocator.
 *
 * Alignment of every allocation, allocations larger than a chunk, many
 * allocations spanning chunks without overlap, the string helpers, and
 * reuse after arena_free. ASan (the unit-asan build) catches any overrun of
 * the memory these tests write. */
#include "core/arena.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static struct arena a;

static void setup(void)
{
    arena_init(&a);
}

static void teardown(void)
{
    arena_free(&a);
}

TestSuite(arena, .init = setup, .fini = teardown);

static int aligned(const void *p)
{
    return (uintptr_t)p % alignof(max_align_t) == 0;
}

Test(arena, allocations_are_aligned_for_any_type)
{
    static const size_t sizes[] = {1, 3, 7, 8, 15, 16, 17, 31, 100, 4095, 4096, 5000, 1};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *p = arena_alloc(&a, sizes[i]);
        cr_assert_not_null(p);
        cr_assert(aligned(p), "size %zu: %p is misaligned", sizes[i], p);
        memset(p, 0xab, sizes[i]);
    }
}

Test(arena, zero_bytes_gives_a_distinct_pointer)
{
    void *p = arena_alloc(&a, 0);
    void *q = arena_alloc(&a, 0);
    cr_assert_not_null(p);
    cr_assert_neq(p, q);
}

Test(arena, big_allocations_get_their_own_chunk)
{
    char *small = arena_strdup(&a, "before");
    size_t big = 1024 * 1024;
    unsigned char *p = arena_alloc(&a, big);
    cr_assert(aligned(p));
    memset(p, 0x5a, big);
    char *after = arena_strdup(&a, "after");
    cr_assert_eq(p[0], 0x5a);
    cr_assert_eq(p[big - 1], 0x5a);
    cr_assert_str_eq(small, "before");
    cr_assert_str_eq(after, "after");
}

/* 2000 blocks of different sizes: each keeps its own contents. */
Test(arena, many_allocations_do_not_overlap)
{
    enum { N = 2000 };
    static unsigned char *blocks[N];
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)(i % 97) + 1;
        blocks[i] = arena_alloc(&a, n);
        memset(blocks[i], i & 0xff, n);
    }
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)(i % 97) + 1;
        for (size_t j = 0; j < n; j++)
            cr_assert_eq(blocks[i][j], i & 0xff, "block %d byte %zu overwritten", i, j);
    }
}

Test(arena, strdup_and_strndup)
{
    const char *s = "reflectie";
    char *d = arena_strdup(&a, s);
    cr_assert_str_eq(d, s);
    cr_assert_neq(d, s);
    char *n = arena_strndup(&a, "situation-task", 9);
    cr_assert_str_eq(n, "situation");
    char *e = arena_strdup(&a, "");
    cr_assert_str_eq(e, "");
    /* strndup copies exactly n bytes: the source need not be terminated. */
    const char raw[4] = {'a', 'b', 'c', 'd'};
    cr_assert_str_eq(arena_strndup(&a, raw, 4), "abcd");
}

Test(arena, printf_formats_short_and_long)
{
    char *s = arena_printf(&a, "%s-%d-%05.1f", "id", 42, 3.14159);
    cr_assert_str_eq(s, "id-42-003.1");
    char *big = arena_printf(&a, "%9000d|", 7);
    cr_assert_eq(strlen(big), 9001);
    cr_assert_eq(big[8999], '7');
    cr_assert_eq(big[9000], '|');
    cr_assert(aligned(big));
    cr_assert_str_eq(arena_printf(&a, "%s", ""), "");
}

Test(arena, free_then_reuse)
{
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++)
            arena_printf(&a, "round %d item %d", round, i);
        arena_alloc(&a, 10000);
        arena_free(&a);
        cr_assert_null(a.head);
    }
    cr_assert_str_eq(arena_strdup(&a, "again"), "again");
}

Test(arena, free_of_an_empty_arena)
{
    arena_free(&a);
    arena_free(&a);
    cr_assert_null(a.head);
}

/* Regression (fixed): the size is rounded up with (n + 15) & ~15, which wraps for n
 * near SIZE_MAX, so arena_alloc(SIZE_MAX - 5) returns a 16-byte block
 * instead of failing (arena.c, arena_alloc; arena_strndup(a, s, SIZE_MAX)
 * likewise). */
Test(arena, impossible_size_aborts, .signal = SIGABRT)
{
    void *p = arena_alloc(&a, SIZE_MAX - 5);
    cr_log_error("arena_alloc(SIZE_MAX - 5) returned %p", p);
}
