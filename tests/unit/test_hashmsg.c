/* test_hashmsg.c - the messages between reflectd and its hasher process
 * (service/auth/hashmsg.c): what is encoded decodes to the same, and every
 * message whose lengths do not add up, or that is cut short, padded, holds
 * a NUL in a string or names an unknown operation or status, is refused. */
#include "auth/hashmsg.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct hashmsg_req verify_req(const char *password, const char *encoded)
{
    struct hashmsg_req m = {.id = 0x1122334455667788ULL, .op = HASHMSG_VERIFY, .has_encoded = 1};
    snprintf(m.password, sizeof(m.password), "%s", password);
    snprintf(m.encoded, sizeof(m.encoded), "%s", encoded);
    return m;
}

static const char phc[] = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2g";

Test(hashmsg, a_request_round_trips)
{
    struct hashmsg_req in = verify_req("correct horse battery staple", phc), out;
    uint8_t buf[HASHMSG_REQ_MAX];
    size_t n = hashmsg_req_encode(&in, buf, sizeof(buf));
    cr_assert_eq(n, HASHMSG_REQ_HEAD + strlen(in.password) + strlen(phc));
    cr_assert_eq(hashmsg_req_decode(buf, n, &out), 0);
    cr_assert_eq(out.id, in.id);
    cr_assert_eq(out.op, HASHMSG_VERIFY);
    cr_assert_eq(out.has_encoded, 1);
    cr_assert_str_eq(out.password, in.password);
    cr_assert_str_eq(out.encoded, phc);
    uint64_t id = 0;
    cr_assert_eq(hashmsg_id(buf, n, &id), 0);
    cr_assert_eq(id, in.id);
}

Test(hashmsg, a_verify_without_a_stored_hash_and_a_hash_round_trip)
{
    struct hashmsg_req in = verify_req("pw", ""), out;
    in.has_encoded = 0;
    uint8_t buf[HASHMSG_REQ_MAX];
    size_t n = hashmsg_req_encode(&in, buf, sizeof(buf));
    cr_assert_eq(n, HASHMSG_REQ_HEAD + 2);
    cr_assert_eq(hashmsg_req_decode(buf, n, &out), 0);
    cr_assert_eq(out.has_encoded, 0);
    in.op = HASHMSG_HASH;
    n = hashmsg_req_encode(&in, buf, sizeof(buf));
    cr_assert_eq(hashmsg_req_decode(buf, n, &out), 0);
    cr_assert_eq(out.op, HASHMSG_HASH);
    cr_assert_str_eq(out.password, "pw");
}

Test(hashmsg, a_request_cut_short_or_padded_is_refused)
{
    struct hashmsg_req in = verify_req("secret password", phc), out;
    uint8_t buf[HASHMSG_REQ_MAX + 1];
    size_t n = hashmsg_req_encode(&in, buf, sizeof(buf));
    for (size_t len = 0; len < n; len++)
        cr_assert_eq(hashmsg_req_decode(buf, len, &out), -1, "%zu of %zu bytes accepted", len, n);
    buf[n] = 'x';
    cr_assert_eq(hashmsg_req_decode(buf, n + 1, &out), -1);
    cr_assert_eq(hashmsg_id(buf, 7, &in.id), -1);
}

/* Lengths in the header that disagree with the message, or exceed the limits. */
Test(hashmsg, request_lengths_must_add_up)
{
    struct hashmsg_req in = verify_req("secret password", phc), out;
    uint8_t buf[HASHMSG_REQ_MAX];
    size_t n = hashmsg_req_encode(&in, buf, sizeof(buf));
    const uint16_t bad[] = {0, 1, 14, 16, 1025, 0xffff};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t copy[HASHMSG_REQ_MAX];
        memcpy(copy, buf, n);
        memcpy(copy + 10, &bad[i], 2); /* password length */
        cr_assert_eq(hashmsg_req_decode(copy, n, &out), -1, "password length %u", bad[i]);
        memcpy(copy, buf, n);
        memcpy(copy + 12, &bad[i], 2); /* hash length */
        cr_assert_eq(hashmsg_req_decode(copy, n, &out), -1, "hash length %u", bad[i]);
    }
}

Test(hashmsg, unknown_operations_flags_and_nul_bytes_are_refused)
{
    struct hashmsg_req in = verify_req("secret password", phc), out;
    uint8_t buf[HASHMSG_REQ_MAX], copy[HASHMSG_REQ_MAX];
    size_t n = hashmsg_req_encode(&in, buf, sizeof(buf));
    const uint8_t ops[] = {0, 3, 255};
    for (size_t i = 0; i < sizeof(ops); i++) {
        memcpy(copy, buf, n);
        copy[8] = ops[i];
        cr_assert_eq(hashmsg_req_decode(copy, n, &out), -1, "op %u", ops[i]);
    }
    memcpy(copy, buf, n);
    copy[9] = 3; /* unknown flag */
    cr_assert_eq(hashmsg_req_decode(copy, n, &out), -1);
    memcpy(copy, buf, n);
    copy[8] = HASHMSG_HASH; /* a hash takes no stored hash */
    cr_assert_eq(hashmsg_req_decode(copy, n, &out), -1);
    memcpy(copy, buf, n);
    copy[HASHMSG_REQ_HEAD + 3] = 0; /* NUL inside the password */
    cr_assert_eq(hashmsg_req_decode(copy, n, &out), -1);
    cr_assert_eq(out.password[0], 0, "a refused message leaves no password behind");
    memcpy(copy, buf, n);
    copy[n - 1] = 0; /* NUL inside the hash */
    cr_assert_eq(hashmsg_req_decode(copy, n, &out), -1);
}

Test(hashmsg, requests_beyond_the_limits_are_not_encoded)
{
    struct hashmsg_req in = verify_req("", phc);
    memset(in.password, 'p', HASHMSG_PW_MAX);
    uint8_t buf[HASHMSG_REQ_MAX];
    cr_assert_gt(hashmsg_req_encode(&in, buf, sizeof(buf)), 0, "the longest password fits");
    cr_assert_eq(hashmsg_req_encode(&in, buf, HASHMSG_REQ_HEAD + 10), 0, "buffer too small");
    in.op = 7;
    cr_assert_eq(hashmsg_req_encode(&in, buf, sizeof(buf)), 0);
    in.op = HASHMSG_HASH; /* with a stored hash */
    cr_assert_eq(hashmsg_req_encode(&in, buf, sizeof(buf)), 0);
}

Test(hashmsg, replies_round_trip_and_bad_ones_are_refused)
{
    struct hashmsg_rep in = {.id = 42, .status = HASHMSG_OK, .has_encoded = 1}, out;
    snprintf(in.encoded, sizeof(in.encoded), "%s", phc);
    uint8_t buf[HASHMSG_REP_MAX + 1], copy[HASHMSG_REP_MAX + 1];
    size_t n = hashmsg_rep_encode(&in, buf, sizeof(buf));
    cr_assert_eq(n, HASHMSG_REP_HEAD + strlen(phc));
    cr_assert_eq(hashmsg_rep_decode(buf, n, &out), 0);
    cr_assert_eq(out.id, 42);
    cr_assert_eq(out.status, HASHMSG_OK);
    cr_assert_str_eq(out.encoded, phc);
    for (size_t len = 0; len < n; len++)
        cr_assert_eq(hashmsg_rep_decode(buf, len, &out), -1, "%zu bytes accepted", len);
    cr_assert_eq(hashmsg_rep_decode(buf, n + 1, &out), -1);
    memcpy(copy, buf, n);
    copy[8] = HASHMSG_NO; /* only a success carries a hash */
    cr_assert_eq(hashmsg_rep_decode(copy, n, &out), -1);
    memcpy(copy, buf, n);
    copy[8] = 9;
    cr_assert_eq(hashmsg_rep_decode(copy, n, &out), -1);
    memcpy(copy, buf, n);
    uint16_t big = HASHMSG_ENC_MAX + 1;
    memcpy(copy + 9, &big, 2);
    cr_assert_eq(hashmsg_rep_decode(copy, n, &out), -1);
    in.status = HASHMSG_BUSY;
    cr_assert_eq(hashmsg_rep_encode(&in, buf, sizeof(buf)), 0, "busy with a hash");
    in.has_encoded = 0;
    n = hashmsg_rep_encode(&in, buf, sizeof(buf));
    cr_assert_eq(n, HASHMSG_REP_HEAD);
    cr_assert_eq(hashmsg_rep_decode(buf, n, &out), 0);
    cr_assert_eq(out.status, HASHMSG_BUSY);
}

/* hashmsg_recv: one message at a time, "none waiting", an oversized one
 * cut to cap (so no decoder takes it), and EOF. */
Test(hashmsg, recv_reads_one_message_and_reports_eof)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    uint8_t buf[16], big[64] = {0};
    size_t len = 0;
    cr_assert_eq(hashmsg_recv(sv[0], buf, sizeof(buf), &len), 0, "nothing is waiting yet");
    cr_assert_eq(send(sv[1], "abc", 3, 0), 3);
    cr_assert_eq(send(sv[1], big, sizeof(big), 0), (ssize_t)sizeof(big));
    cr_assert_eq(hashmsg_recv(sv[0], buf, sizeof(buf), &len), 1);
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(buf, "abc", 3), 0);
    cr_assert_eq(hashmsg_recv(sv[0], buf, sizeof(buf), &len), 1);
    cr_assert_eq(len, sizeof(buf), "an oversized message is cut to cap, not taken as shorter");
    cr_assert_eq(hashmsg_recv(sv[0], buf, sizeof(buf), &len), 0);
    close(sv[1]);
    cr_assert_eq(hashmsg_recv(sv[0], buf, sizeof(buf), &len), -1);
    cr_assert_eq(errno, 0, "EOF is told apart from an error");
    close(sv[0]);
}
