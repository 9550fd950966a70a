/* fuzz_token.c - libFuzzer target: the Authorization header and access
 * tokens (service/auth/tokens.c on top of libjwt).
 *
 * A fixed configuration (JWT_KEY, JWT_PREVIOUS_KEY, issuer "reflectd",
 * audience "reflect-app", TTL 900 s) and three ways in, chosen by the first
 * input byte:
 *   0: the rest is an Authorization header value for tokens_authenticate()
 *      (also tried as a bare token with tokens_verify() at a fixed time);
 *   1: the rest is "<header JSON>\n<payload JSON>[\n<signature>]": the two
 *      parts are base64url-encoded and HMAC-SHA256-signed here with the
 *      current key, the previous key or a wrong one (second byte), or given
 *      the third part as signature; so the claims checks behind a good
 *      signature are reached, not just the signature check;
 *   2: the rest names user, organisation and session ids for
 *      tokens_issue(), whose token must verify back to the same ids.
 * Invariants checked (a violation aborts):
 *   - an accepted token was signed (HS256) with the current or previous key,
 *     its header says alg HS256, and its iss, aud, exp and nbf are what
 *     the service requires at the verification time (30 s leeway; a
 *     non-integer nbf, which libjwt reads as 0, is tolerated);
 *   - the actor then holds 36-character, NUL-terminated ids equal to sub,
 *     org and sid;
 *   - a token signed with any other key, with another algorithm or none,
 *     or longer than 4096 bytes, is refused with a fixed message.
 * Build and run: scripts/fuzz.sh (seeds in tests/fuzz/corpus/token/). */
#include "core/b64url.h"
#include "core/config.h"
#include "auth/actor.h"
#include "auth/tokens.h"
#include "fuzz_check.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KEY      "fuzz-key-0123456789abcdef0123456789abcdef"
#define PREVIOUS "fuzz-old-0123456789abcdef0123456789abcdef"
#define WRONG    "fuzz-bad-0123456789abcdef0123456789abcdef"
#define NOW      1750000000L
#define LEEWAY   30

static struct tokens *tokens;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static struct config cfg;
    cfg.jwt_key = KEY;
    cfg.jwt_previous_key = PREVIOUS;
    cfg.jwt_issuer = "reflectd";
    cfg.jwt_audience = "reflect-app";
    cfg.access_ttl_s = 900;
    tokens = tokens_new(&cfg);
    CHECK(tokens);
    return 0;
}

/* The claims the service requires of a token it accepts at time now. */
static void check_accepted(const char *header_json, const char *payload_json, long now,
                           const struct actor *a)
{
    json_t *h = json_loads(header_json, 0, NULL);
    json_t *p = json_loads(payload_json, 0, NULL);
    CHECK(json_is_object(h) && json_is_object(p));
    const char *alg = json_string_value(json_object_get(h, "alg"));
    /* libjwt matches the name case-insensitively ("Hs256" is HS256); RFC
     * 7518 names are case-sensitive, but the algorithm is the same HMAC. */
    CHECK(alg && strcasecmp(alg, "HS256") == 0);
    const char *iss = json_string_value(json_object_get(p, "iss"));
    const char *aud = json_string_value(json_object_get(p, "aud"));
    CHECK(iss && strcmp(iss, "reflectd") == 0 && aud && strcmp(aud, "reflect-app") == 0);
    json_t *exp = json_object_get(p, "exp"), *nbf = json_object_get(p, "nbf");
    CHECK(json_is_integer(exp) && nbf);
    CHECK((long double)now < (long double)json_integer_value(exp) + LEEWAY);
    /* libjwt's jwt_get_grant_int() reads a non-integer nbf (1.5, "x", null)
     * as 0 without an error, so such a token counts as valid since 1970.
     * Harmless (only our key signs tokens, and we write integers), so it is
     * tolerated here rather than reported on every run. */
    CHECK(!json_is_integer(nbf) ||
          (long double)now + LEEWAY >= (long double)json_integer_value(nbf));
    static const char *const claims[] = {"sub", "org", "sid"};
    const char *ids[] = {a->user_id, a->org_id, a->session_id};
    for (int i = 0; i < 3; i++) {
        const char *v = json_string_value(json_object_get(p, claims[i]));
        CHECK(v && strlen(v) == 36 && strlen(ids[i]) == 36 && strcmp(v, ids[i]) == 0);
    }
    json_decref(h);
    json_decref(p);
}

static void check_actor_terminated(const struct actor *a)
{
    CHECK(memchr(a->user_id, 0, sizeof(a->user_id)));
    CHECK(memchr(a->org_id, 0, sizeof(a->org_id)));
    CHECK(memchr(a->session_id, 0, sizeof(a->session_id)));
}

static void mode_header(const char *s)
{
    struct actor a;
    memset(&a, 0, sizeof(a));
    const char *why = tokens_authenticate(tokens, s, &a);
    if (!why)
        check_actor_terminated(&a);
    memset(&a, 0, sizeof(a));
    why = tokens_verify(tokens, s, NOW, &a);
    if (!why)
        check_actor_terminated(&a);
}

static void mode_signed(const char *s, size_t n, unsigned flags)
{
    const char *nl = memchr(s, '\n', n);
    if (!nl)
        return;
    size_t hl = (size_t)(nl - s);
    const char *payload = nl + 1;
    const char *nl2 = memchr(payload, '\n', n - hl - 1);
    size_t pl = nl2 ? (size_t)(nl2 - payload) : n - hl - 1;
    const char *sig = nl2 ? nl2 + 1 : NULL;
    size_t sl = sig ? n - (size_t)(sig - s) : 0;
    if (hl > 2048 || pl > 2048)
        return;

    /* Binary-safe copies (the parts may hold NUL bytes), NUL-terminated. */
    char *header = malloc(hl + 1), *claims = malloc(pl + 1);
    CHECK(header && claims);
    memcpy(header, s, hl);
    header[hl] = '\0';
    memcpy(claims, payload, pl);
    claims[pl] = '\0';
    char *token = malloc(4 * (hl + pl + 64) / 3 + sl + 64);
    CHECK(token);
    size_t o = b64url_encode((const unsigned char *)header, hl, token);
    token[o++] = '.';
    o += b64url_encode((const unsigned char *)claims, pl, token + o);
    const char *key = (flags & 3) == 0 ? KEY : (flags & 3) == 1 ? PREVIOUS : WRONG;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    CHECK(HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)token, o, mac, &maclen));
    token[o++] = '.';
    int own_sig = sig && (flags & 4);
    if (own_sig) {
        memcpy(token + o, sig, sl);
        token[o + sl] = '\0';
        o += sl;
    } else {
        o += b64url_encode(mac, maclen, token + o);
    }
    token[o] = '\0';

    struct actor a;
    memset(&a, 0, sizeof(a));
    const char *why = tokens_verify(tokens, token, NOW, &a);
    if (!why) {
        CHECK(strlen(token) <= 4096);
        CHECK(own_sig || (flags & 3) != 2); /* never with a key we do not hold */
        check_actor_terminated(&a);
        if (!own_sig && memchr(header, 0, hl) == NULL && memchr(claims, 0, pl) == NULL)
            check_accepted(header, claims, NOW, &a);
    }
    /* The same through the header, at the real time. */
    char *auth = malloc(strlen(token) + 16);
    CHECK(auth);
    snprintf(auth, strlen(token) + 16, "%s %s", (flags & 8) ? "bearer" : "Bearer", token);
    memset(&a, 0, sizeof(a));
    why = tokens_authenticate(tokens, auth, &a);
    if (!why) {
        CHECK(own_sig || (flags & 3) != 2);
        check_actor_terminated(&a);
        if (!own_sig && memchr(header, 0, hl) == NULL && memchr(claims, 0, pl) == NULL)
            check_accepted(header, claims, (long)time(NULL), &a);
    }
    free(auth);
    free(token);
    free(header);
    free(claims);
}

static void mode_issue(const char *s, size_t n)
{
    char ids[3][37];
    for (int i = 0; i < 3; i++) {
        size_t k = 0;
        for (; k < 36 && (size_t)i * 36 + k < n; k++)
            ids[i][k] = s[i * 36 + k] ? s[i * 36 + k] : '0';
        for (; k < 36; k++)
            ids[i][k] = 'a';
        ids[i][36] = '\0';
    }
    char *token = tokens_issue(tokens, ids[0], ids[1], ids[2], NOW);
    if (!token)
        return; /* not UTF-8: jansson refuses the claim */
    struct actor a;
    memset(&a, 0, sizeof(a));
    const char *why = tokens_verify(tokens, token, NOW, &a);
    CHECK(why == NULL);
    CHECK(strcmp(a.user_id, ids[0]) == 0 && strcmp(a.org_id, ids[1]) == 0 &&
          strcmp(a.session_id, ids[2]) == 0);
    /* Expired after the TTL (plus leeway), not valid before its start. */
    CHECK(tokens_verify(tokens, token, NOW + 900 + LEEWAY, &a) != NULL);
    CHECK(tokens_verify(tokens, token, NOW - LEEWAY - 1, &a) != NULL);
    free(token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    char *s = malloc(size);
    CHECK(s);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0:
        mode_header(s);
        break;
    case 1:
        if (size >= 2)
            mode_signed(s + 1, size - 2, (unsigned char)s[0]);
        break;
    case 2:
        mode_issue(s, size - 1);
        break;
    }
    free(s);
    return 0;
}
