/* fuzz_check.h - the one assertion of the fuzz targets: an invariant that
 * fails aborts, so libFuzzer (and the replay of the corpus) records the
 * input as a crash, in release builds too (assert would vanish under
 * NDEBUG). */
#ifndef REFLECTD_FUZZ_CHECK_H
#define REFLECTD_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
