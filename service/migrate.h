/* migrate.h - bringing the database schema up to date at start-up. */
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
extern const int migrations_latest; /* the highest version: the schema this binary serves */

/* Applies every migration the database has not recorded (normally those
 * newer than its highest; also one that was numbered lower on a branch
 * merged later), each in its own transaction, under an advisory lock.
 * Refuses (-1) when the database has a migration newer than this binary
 * knows. Blocking: start-up only. */
int migrate_run(const char *conninfo, int wait_s);

#endif
