/* util.h — small building blocks shared by every layer: identifiers, time,
 * encodings, hashing and authenticated encryption.
 *
 * Why here: ids, timestamps and crypto must be the same everywhere (an id made
 * by the API must parse in the store and the workers), so one owner for each. */
#ifndef SP_UTIL_H
#define SP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define SP_ID_MAX 40          /* longest id incl. prefix and NUL */
#define SP_TS_MAX 32          /* RFC 3339 timestamp buffer */

/* "<prefix>-" followed by 16 lowercase base32 chars (80 random bits). */
int sp_id_new(const char *prefix, char out[SP_ID_MAX]);
/* true if s looks like an id with this prefix (prefix without '-'). */
bool sp_id_valid(const char *s, const char *prefix);

/* Current time as RFC 3339 UTC with milliseconds: 2026-11-21T22:24:01.123Z */
void sp_now_rfc3339(char out[SP_TS_MAX]);
/* Monotonic milliseconds / microseconds. */
int64_t sp_mono_ms(void);

/* A clock that tests can drive (tests/unit/fake_clock.h): wall time in ms
 * since the epoch for timestamps and windows, monotonic ms for periods.
 * A NULL clock, or one without a function, reads the real clocks. Cost:
 * three pointers; whoever holds one owns nothing behind it. */
typedef struct sp_clock {
    int64_t (*wall_ms)(void *arg);
    int64_t (*mono_ms)(void *arg);
    void *arg;
} sp_clock;
int64_t sp_clock_wall_ms(const sp_clock *c);
int64_t sp_clock_mono_ms(const sp_clock *c);
/* A wall time (ms since the epoch) as RFC 3339 UTC with milliseconds. */
void sp_ms_rfc3339(int64_t wall_ms, char out[SP_TS_MAX]);
int64_t sp_mono_us(void);
/* Parse RFC 3339 (Z or offset) into unix seconds; -1 on error. */
int64_t sp_parse_rfc3339(const char *s);

/* Random bytes from OpenSSL; 0 on success. */
int sp_random(void *buf, size_t n);
/* A counting slot for bounding concurrent work: takes one of max slots of
 * *busy (atomically) or returns false when all are taken. busy NULL: no
 * bound. sp_slot_give returns one taken. */
bool sp_slot_take(int *busy, int max);
void sp_slot_give(int *busy);

/* base64url without padding. out needs 4*ceil(n/3)+1 bytes. Returns length. */
size_t sp_b64url_encode(const unsigned char *in, size_t n, char *out);
/* Decode base64url (no padding); returns decoded length or -1. */
long sp_b64url_decode(const char *in, unsigned char *out, size_t outcap);
/* Standard base64 with padding (for PEM-ish inputs); -1 on error. */
long sp_b64_decode(const char *in, unsigned char *out, size_t outcap);
void sp_hex(const unsigned char *in, size_t n, char *out);

/* SHA-256 of the concatenation salt||data. */
void sp_sha256(const void *data, size_t n, unsigned char out[32]);
void sp_hmac_sha256(const unsigned char *key, size_t klen, const void *data,
                    size_t n, unsigned char out[32]);
/* Constant-time equality of two n-byte buffers. */
bool sp_ct_equal(const void *a, const void *b, size_t n);

/* AES-256-GCM. Output layout: 12-byte nonce || ciphertext || 16-byte tag.
 * *out is malloc'd. aad may be NULL. Returns 0 on success. */
int sp_seal(const unsigned char key[32], const void *pt, size_t ptlen,
            const char *aad, unsigned char **out, size_t *outlen);
int sp_open(const unsigned char key[32], const unsigned char *in, size_t inlen,
            const char *aad, unsigned char **pt, size_t *ptlen);

/* Overwrites memory that held a secret (not optimised away). */
void sp_wipe(void *p, size_t n);

/* Read a whole regular file (NUL-terminated); NULL on error, for anything
 * but a regular file (devices, FIFOs never end) and past max bytes (EFBIG).
 * sp_read_file's bound is SP_READ_FILE_MAX. */
#define SP_READ_FILE_MAX ((size_t)64 << 20)
char *sp_read_file_max(const char *path, size_t max, size_t *len);
char *sp_read_file(const char *path, size_t *len);
/* Write a file with the given mode atomically (tmp + fsync + rename). */
int sp_write_file_atomic(const char *path, const void *data, size_t n, int mode);

/* Valid UTF-8 without NUL bytes or control characters. */
bool sp_utf8_clean(const char *s, size_t n);
/* The same, but tabs and line breaks are allowed (multi-line text: YAML, PEM). */
bool sp_utf8_text(const char *s, size_t n);

#endif
