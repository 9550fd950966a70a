/* vermogens.h - the four vermogens a care student grows in (absorptie,
 * verbindend, opleidend, lerend): the one list of their names, in the
 * order the API, the schema's columns and the summaries use.
 *
 * Return convention: none (data only). */
#ifndef REFLECTD_VERMOGENS_H
#define REFLECTD_VERMOGENS_H

#define NVERMOGENS 4

/* The names, then NULL: usable as a validator's allowed list. */
extern const char *const vermogens[NVERMOGENS + 1];

#endif
