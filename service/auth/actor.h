/* actor.h - the authenticated caller, as a verified access token names it.
 * Its own header so that the token code (auth/) and the request context
 * (http/) share it without including each other. */
#ifndef REFLECTD_ACTOR_H
#define REFLECTD_ACTOR_H

/* Ids are canonical UUID text (36 characters and the NUL). */
struct actor {
    char user_id[37];
    char org_id[37];
    char session_id[37];
    int is_admin, is_praktijkopleider;
};

#endif
