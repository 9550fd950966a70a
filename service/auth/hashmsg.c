/* hashmsg.c - encoding and checking the hasher process's messages.
 *
 * Request: id (u64), op (u8), flags (u8, bit 0: a stored hash follows),
 * password length (u16), hash length (u16), the password, the hash.
 * Reply: id (u64), status (u8), hash length (u16), the hash. Pure
 * functions (tests/unit/test_hashmsg.c); wiping buffers that held a
 * password is the callers' job. */
#include "auth/hashmsg.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static void put16(uint8_t *p, size_t v)
{
    uint16_t x = (uint16_t)v;
    memcpy(p, &x, sizeof(x));
}

static size_t get16(const uint8_t *p)
{
    uint16_t x;
    memcpy(&x, p, sizeof(x));
    return x;
}

/* Copies n bytes of text into out (NUL-terminated); -1 when they hold a NUL. */
static int take_text(const uint8_t *p, size_t n, char *out)
{
    if (memchr(p, 0, n))
        return -1;
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

int hashmsg_id(const uint8_t *buf, size_t len, uint64_t *id)
{
    if (len < sizeof(*id))
        return -1;
    memcpy(id, buf, sizeof(*id));
    return 0;
}

size_t hashmsg_req_encode(const struct hashmsg_req *m, uint8_t *buf, size_t cap)
{
    size_t pw = strnlen(m->password, sizeof(m->password));
    size_t enc = m->has_encoded ? strnlen(m->encoded, sizeof(m->encoded)) : 0;
    size_t len = HASHMSG_REQ_HEAD + pw + enc;
    int op_ok = m->op == HASHMSG_VERIFY || (m->op == HASHMSG_HASH && !m->has_encoded);
    if (!op_ok || pw > HASHMSG_PW_MAX || enc > HASHMSG_ENC_MAX || len > cap)
        return 0;
    memcpy(buf, &m->id, 8);
    buf[8] = (uint8_t)m->op;
    buf[9] = m->has_encoded ? 1 : 0;
    put16(buf + 10, pw);
    put16(buf + 12, enc);
    memcpy(buf + HASHMSG_REQ_HEAD, m->password, pw);
    memcpy(buf + HASHMSG_REQ_HEAD + pw, m->encoded, enc);
    return len;
}

int hashmsg_req_decode(const uint8_t *buf, size_t len, struct hashmsg_req *m)
{
    memset(m, 0, sizeof(*m));
    if (len < HASHMSG_REQ_HEAD)
        return -1;
    memcpy(&m->id, buf, 8);
    int op = buf[8], flags = buf[9];
    size_t pw = get16(buf + 10), enc = get16(buf + 12);
    if ((op != HASHMSG_HASH && op != HASHMSG_VERIFY) || (flags & ~1) ||
        (op == HASHMSG_HASH && flags) || (!flags && enc) || pw > HASHMSG_PW_MAX ||
        enc > HASHMSG_ENC_MAX || len != HASHMSG_REQ_HEAD + pw + enc)
        return -1;
    if (take_text(buf + HASHMSG_REQ_HEAD, pw, m->password) < 0 ||
        take_text(buf + HASHMSG_REQ_HEAD + pw, enc, m->encoded) < 0) {
        memset(m->password, 0, sizeof(m->password));
        return -1;
    }
    m->op = op;
    m->has_encoded = flags;
    return 0;
}

size_t hashmsg_rep_encode(const struct hashmsg_rep *m, uint8_t *buf, size_t cap)
{
    size_t enc = m->has_encoded ? strnlen(m->encoded, sizeof(m->encoded)) : 0;
    size_t len = HASHMSG_REP_HEAD + enc;
    int status_ok = m->status == HASHMSG_NO || m->status == HASHMSG_OK || m->status == HASHMSG_BUSY;
    if (!status_ok || (enc && m->status != HASHMSG_OK) || enc > HASHMSG_ENC_MAX || len > cap)
        return 0;
    memcpy(buf, &m->id, 8);
    buf[8] = (uint8_t)m->status;
    put16(buf + 9, enc);
    memcpy(buf + HASHMSG_REP_HEAD, m->encoded, enc);
    return len;
}

int hashmsg_rep_decode(const uint8_t *buf, size_t len, struct hashmsg_rep *m)
{
    memset(m, 0, sizeof(*m));
    if (len < HASHMSG_REP_HEAD)
        return -1;
    memcpy(&m->id, buf, 8);
    int status = buf[8];
    size_t enc = get16(buf + 9);
    if ((status != HASHMSG_NO && status != HASHMSG_OK && status != HASHMSG_BUSY) ||
        (enc && status != HASHMSG_OK) || enc > HASHMSG_ENC_MAX || len != HASHMSG_REP_HEAD + enc ||
        take_text(buf + HASHMSG_REP_HEAD, enc, m->encoded) < 0)
        return -1;
    m->status = status;
    m->has_encoded = enc > 0;
    return 0;
}

int hashmsg_recv(int fd, uint8_t *buf, size_t cap, size_t *len)
{
    for (;;) {
        ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC); /* n: the real length */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return -1;
        }
        *len = (size_t)n > cap ? cap : (size_t)n;
        return 1;
    }
}
