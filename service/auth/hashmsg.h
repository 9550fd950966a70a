/* hashmsg.h - the messages between reflectd and its hasher process.
 *
 * One request or reply per SOCK_SEQPACKET message, so a message is never
 * split or joined. Both sides run the same binary on the same machine:
 * integers are in host byte order. Every decode checks that the lengths
 * add up exactly and that strings hold no NUL byte. */
#ifndef REFLECTD_HASHMSG_H
#define REFLECTD_HASHMSG_H

#include <stddef.h>
#include <stdint.h>

/* The socket to reflectd, where the hasher process finds it after exec. */
#define HASHMSG_CHILD_FD 3

#define HASHMSG_PW_MAX   1024 /* bytes: 256 code points of UTF-8 (the handlers' limit) */
#define HASHMSG_ENC_MAX  512  /* a PHC string (phc.h: PHC_MAX_LEN) */
#define HASHMSG_REQ_HEAD 14   /* id 8, op 1, flags 1, password length 2, hash length 2 */
#define HASHMSG_REP_HEAD 11   /* id 8, status 1, hash length 2 */
#define HASHMSG_REQ_MAX  (HASHMSG_REQ_HEAD + HASHMSG_PW_MAX + HASHMSG_ENC_MAX)
#define HASHMSG_REP_MAX  (HASHMSG_REP_HEAD + HASHMSG_ENC_MAX)

enum hashmsg_op { HASHMSG_HASH = 1, HASHMSG_VERIFY = 2 };
enum hashmsg_status { HASHMSG_NO = 0, HASHMSG_OK = 1, HASHMSG_BUSY = 2 };

/* A hash of password, or a verify of it against encoded (has_encoded 0:
 * against the dummy, for an unknown account). */
struct hashmsg_req {
    uint64_t id;
    int op;
    int has_encoded;
    char password[HASHMSG_PW_MAX + 1];
    char encoded[HASHMSG_ENC_MAX + 1];
};

/* status OK with encoded: the new hash (a hash; a verify that rehashed). */
struct hashmsg_rep {
    uint64_t id;
    int status;
    int has_encoded;
    char encoded[HASHMSG_ENC_MAX + 1];
};

/* The message into buf (cap bytes); its length, or 0 when m does not fit
 * the limits above. */
size_t hashmsg_req_encode(const struct hashmsg_req *m, uint8_t *buf, size_t cap);
size_t hashmsg_rep_encode(const struct hashmsg_rep *m, uint8_t *buf, size_t cap);
/* 0 and *m filled, or -1 when the message is malformed (m then holds at
 * most the id, see hashmsg_id). */
int hashmsg_req_decode(const uint8_t *buf, size_t len, struct hashmsg_req *m);
int hashmsg_rep_decode(const uint8_t *buf, size_t len, struct hashmsg_rep *m);
/* The id at the start of any message: 0, or -1 when it is too short. */
int hashmsg_id(const uint8_t *buf, size_t len, uint64_t *id);
/* One message from the non-blocking SOCK_SEQPACKET fd into buf (cap
 * bytes, one more than the longest valid message): 1 and its length in
 * *len; a longer one gives *len = cap, which no decoder accepts. 0 when
 * none is waiting, -1 at EOF (errno 0) or on an error (errno set). */
int hashmsg_recv(int fd, uint8_t *buf, size_t cap, size_t *len);

#endif
