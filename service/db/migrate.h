/* migrate.h - bringing the database schema up to date at start-up.
 *
 * Returns (the house rule in db/, http/, auth/): operations 0 on success
 * and -1 on failure; predicates (is_*, *_ok, valid_*, *_allowed, *_is_null)
 * 1 for yes and 0 for no; look-ups a pointer or NULL; counts a count. */
#ifndef REFLECTD_MIGRATE_H
#define REFLECTD_MIGRATE_H

struct migration {
    int version;
    const char *name;
    const char *sql;
};

/* Generated from the files in migrations/ by the build (build/migrations.c). */
extern const struct migration migrations[];
extern const int migrations_count;

/* Applies every migration newer than the database's, each in its own
 * transaction, under an advisory lock. Refuses (-1) when the database has a
 * migration this binary does not know. Blocking: start-up only. */
int migrate_run(const char *conninfo, int wait_s);

#endif
