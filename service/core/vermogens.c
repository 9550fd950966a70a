/* vermogens.c - the list of vermogen names (vermogens.h). */
#include "core/vermogens.h"

#include <stddef.h>

const char *const vermogens[NVERMOGENS + 1] = {"absorptie", "verbindend", "opleidend", "lerend",
                                               NULL};
