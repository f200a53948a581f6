/* util.c — ids, time, encodings, hashing and AES-256-GCM on OpenSSL. */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";

int sp_random(void *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

int sp_id_new(const char *prefix, char out[SP_ID_MAX])
{
    unsigned char r[10];
    if (sp_random(r, sizeof r) != 0) return -1;
    size_t p = strlen(prefix);
    if (p + 1 + 16 + 1 > SP_ID_MAX) return -1;
    memcpy(out, prefix, p);
    out[p++] = '-';
    /* 80 bits -> 16 base32 chars */
    uint64_t acc = 0; int bits = 0; size_t ri = 0;
    for (int i = 0; i < 16; i++) {
        if (bits < 5) { acc = (acc << 8) | r[ri++]; bits += 8; }
        out[p++] = B32[(acc >> (bits - 5)) & 31];
        bits -= 5;
    }
    out[p] = 0;
    return 0;
}

bool sp_id_valid(const char *s, const char *prefix)
{
    if (!s) return false;
    size_t p = strlen(prefix);
    if (strncmp(s, prefix, p) != 0 || s[p] != '-') return false;
    s += p + 1;
    size_t n = 0;
    for (; s[n]; n++)
        if (!strchr(B32, s[n]) ) return false;
    return n >= 12 && n <= 26;
}

void sp_now_rfc3339(char out[SP_TS_MAX])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, SP_TS_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, SP_TS_MAX - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

int64_t sp_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t sp_mono_ms(void) { return sp_mono_us() / 1000; }

int64_t sp_clock_wall_ms(const sp_clock *c)
{
    if (c && c->wall_ms) return c->wall_ms(c->arg);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sp_clock_mono_ms(const sp_clock *c) { return c && c->mono_ms ? c->mono_ms(c->arg) : sp_mono_ms(); }

void sp_ms_rfc3339(int64_t wall_ms, char out[SP_TS_MAX])
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, SP_TS_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, SP_TS_MAX - n, ".%03dZ", (int)(wall_ms % 1000));
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* RFC 3339 date-time: YYYY-MM-DD(T|t)HH:MM:SS[.frac](Z|z|+HH:MM|-HH:MM). */
int64_t sp_parse_rfc3339(const char *s)
{
    if (!s || strlen(s) < 20) return -1;
    int Y = digits(s, 4), M = digits(s + 5, 2), D = digits(s + 8, 2);
    int h = digits(s + 11, 2), m = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (Y < 0 || M < 1 || M > 12 || D < 1 || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60 ||
        s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return -1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (D > mdays[M - 1] + (M == 2 && leap)) return -1;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return -1;
        while (*p >= '0' && *p <= '9') p++;
    }
    long off = 0;
    if ((*p == 'Z' || *p == 'z') && !p[1]) {
        /* UTC */
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) return -1;
        off = (oh * 60L + om) * 60L * (*p == '+' ? 1 : -1);
    } else
        return -1;
    struct tm tm = {0};
    tm.tm_year = Y - 1900; tm.tm_mon = M - 1; tm.tm_mday = D;
    tm.tm_hour = h; tm.tm_min = m; tm.tm_sec = sec;
    return (int64_t)timegm(&tm) - off;
}

size_t sp_b64url_encode(const unsigned char *in, size_t n, char *out)
{
    static const char T[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = T[v >> 18]; out[o++] = T[(v >> 12) & 63];
        out[o++] = T[(v >> 6) & 63]; out[o++] = T[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = T[v >> 18]; out[o++] = T[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = T[v >> 18]; out[o++] = T[(v >> 12) & 63]; out[o++] = T[(v >> 6) & 63];
    }
    out[o] = 0;
    return o;
}

static int b64val(int c, bool url)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (url ? c == '-' : c == '+') return 62;
    if (url ? c == '_' : c == '/') return 63;
    return -1;
}

static long b64_decode(const char *in, unsigned char *out, size_t cap, bool url)
{
    uint32_t acc = 0; int bits = 0; size_t o = 0; size_t i = 0; int pad = 0;
    for (; in[i]; i++) {
        int c = (unsigned char)in[i];
        if (!url && (c == '\n' || c == '\r' || c == ' ')) continue;
        if (!url && c == '=') { pad++; continue; }
        if (pad) return -1;
        int v = b64val(c, url);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v; bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap) return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits >= 6) return -1;
    return (long)o;
}

long sp_b64url_decode(const char *in, unsigned char *out, size_t cap)
{ return b64_decode(in, out, cap, true); }
long sp_b64_decode(const char *in, unsigned char *out, size_t cap)
{ return b64_decode(in, out, cap, false); }

void sp_hex(const unsigned char *in, size_t n, char *out)
{
    static const char H[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) { out[2 * i] = H[in[i] >> 4]; out[2 * i + 1] = H[in[i] & 15]; }
    out[2 * n] = 0;
}

void sp_sha256(const void *data, size_t n, unsigned char out[32])
{
    SHA256(data, n, out);
}

void sp_hmac_sha256(const unsigned char *key, size_t klen, const void *data,
                    size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)klen, data, n, out, &len);
}

void sp_wipe(void *p, size_t n) { OPENSSL_cleanse(p, n); }

bool sp_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int sp_seal(const unsigned char key[32], const void *pt, size_t ptlen,
            const char *aad, unsigned char **out, size_t *outlen)
{
    int rc = -1, len = 0;
    unsigned char *buf = malloc(12 + ptlen + 16);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!buf || !c || sp_random(buf, 12) != 0) goto done;
    if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, buf) != 1) goto done;
    if (aad && EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1) goto done;
    if (EVP_EncryptUpdate(c, buf + 12, &len, pt, (int)ptlen) != 1) goto done;
    if (EVP_EncryptFinal_ex(c, buf + 12 + len, &len) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, buf + 12 + ptlen) != 1) goto done;
    *out = buf; *outlen = 12 + ptlen + 16; buf = NULL; rc = 0;
done:
    free(buf);
    EVP_CIPHER_CTX_free(c);
    return rc;
}

int sp_open(const unsigned char key[32], const unsigned char *in, size_t inlen,
            const char *aad, unsigned char **pt, size_t *ptlen)
{
    if (inlen < 28) return -1;
    int rc = -1, len = 0;
    size_t n = inlen - 28;
    unsigned char *buf = malloc(n + 1);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!buf || !c) goto done;
    if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in) != 1) goto done;
    if (aad && EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1) goto done;
    if (EVP_DecryptUpdate(c, buf, &len, in + 12, (int)n) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + 12 + n)) != 1) goto done;
    if (EVP_DecryptFinal_ex(c, buf + len, &len) != 1) goto done;
    buf[n] = 0;
    *pt = buf; *ptlen = n; buf = NULL; rc = 0;
done:
    free(buf);
    EVP_CIPHER_CTX_free(c);
    return rc;
}

char *sp_read_file_max(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return NULL;
    struct stat sb;
    /* only regular files: a device (/dev/zero) or a FIFO never ends */
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > max) {
        if (fstat(fd, &sb) == 0) errno = S_ISREG(sb.st_mode) ? EFBIG : EINVAL;
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)sb.st_size + 1, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) { free(buf); buf = NULL; errno = EFBIG; break; }  /* grew past its size */
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { free(buf); buf = NULL; break; }
        if (r == 0) break;
        n += (size_t)r;
        if (n > max) { free(buf); buf = NULL; errno = EFBIG; break; }
    }
    close(fd);
    if (!buf) return NULL;
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

char *sp_read_file(const char *path, size_t *len) { return sp_read_file_max(path, SP_READ_FILE_MAX, len); }

int sp_write_file_atomic(const char *path, const void *data, size_t n, int mode)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp) return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return -1;
    const char *p = data; size_t left = n;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) { if (errno == EINTR) continue; close(fd); unlink(tmp); return -1; }
        p += w; left -= (size_t)w;
    }
    if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0) { close(fd); unlink(tmp); return -1; }
    close(fd);
    if (rename(tmp, path) != 0) { unlink(tmp); return -1; }
    return 0;
}

static bool utf8_check(const char *s, size_t n, bool text)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        unsigned c = *p;
        if ((c < 0x20 && !(text && (c == '\t' || c == '\n' || c == '\r'))) || c == 0x7f) return false;
        if (c < 0x80) { p++; continue; }
        int len; unsigned cp;
        if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
        else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
        else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
        else return false;
        if (e - p < len) return false;
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += len;
    }
    return true;
}

bool sp_utf8_clean(const char *s, size_t n) { return utf8_check(s, n, false); }
bool sp_utf8_text(const char *s, size_t n) { return utf8_check(s, n, true); }

bool sp_slot_take(int *busy, int max)
{
    if (!busy) return true;
    if (__atomic_add_fetch(busy, 1, __ATOMIC_SEQ_CST) <= max) return true;
    __atomic_sub_fetch(busy, 1, __ATOMIC_SEQ_CST);
    return false;
}

void sp_slot_give(int *busy)
{
    if (busy) __atomic_sub_fetch(busy, 1, __ATOMIC_SEQ_CST);
}
