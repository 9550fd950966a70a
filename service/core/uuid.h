/* uuid.h - the one canonical form of a UUID the service stores and
 * compares: lower-case hex (RFC 9562 says UUIDs compare case-blind; the
 * database's uuid type does, but text comparisons, cursors and ETags
 * would not).
 *
 * Return convention: uuid_lower returns its argument. */
#ifndef REFLECTD_UUID_H
#define REFLECTD_UUID_H

/* Lower-cases the hex letters of s in place (every other byte stays);
 * returns s. s may be a list, as PostgreSQL's array literal {a,b}. */
char *uuid_lower(char *s);

#endif
