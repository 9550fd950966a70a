/* uuid.c - canonical lower-case UUIDs (uuid.h). */
#include "core/uuid.h"

char *uuid_lower(char *s)
{
    for (char *c = s; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    return s;
}
