/* ids, encodings, hashing, AES-256-GCM, UTF-8, time parsing and CORS origin lists. */
#define _GNU_SOURCE
#include <check.h>
#include <string.h>
#include <stdlib.h>
#include "../../common/util.h"
#include "../../server/server.h"
#include "../../server/connwatch.h"
#include <sys/socket.h>
#include <unistd.h>
#include "../../server/cors.h"

START_TEST(ids_have_prefix_and_entropy)
{
    char a[SP_ID_MAX], b[SP_ID_MAX];
    ck_assert_int_eq(sp_id_new("kc", a), 0);
    ck_assert_int_eq(sp_id_new("kc", b), 0);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(strncmp(a, "kc-", 3), 0);
    ck_assert_uint_eq(strlen(a), 3 + 16);
    ck_assert(sp_id_valid(a, "kc"));
    ck_assert(!sp_id_valid(a, "tn"));
    ck_assert(!sp_id_valid("kc-ABCDEFGHIJKLMNOP", "kc"));   /* upper case is not base32 here */
    ck_assert(!sp_id_valid("kc-abc", "kc"));                /* too short */
    ck_assert(!sp_id_valid("kc-abcdefghijklm1", "kc"));     /* 1 is not in the alphabet */
}
END_TEST

START_TEST(base64url_round_trip)
{
    const unsigned char in[] = {0xfb, 0xff, 0x00, 0x10, 0x7e};
    char enc[16];
    unsigned char dec[16];
    for (size_t n = 0; n <= sizeof in; n++) {
        sp_b64url_encode(in, n, enc);
        ck_assert(strchr(enc, '+') == NULL && strchr(enc, '/') == NULL && strchr(enc, '=') == NULL);
        long m = sp_b64url_decode(enc, dec, sizeof dec);
        ck_assert_int_eq(m, (long)n);
        ck_assert(memcmp(in, dec, n) == 0);
    }
    ck_assert_int_lt(sp_b64url_decode("ab$c", dec, sizeof dec), 0);
    ck_assert_int_eq(sp_b64_decode("aGVsbG8=", dec, sizeof dec), 5);
    ck_assert(memcmp(dec, "hello", 5) == 0);
}
END_TEST

START_TEST(hmac_known_vector)
{
    /* RFC 4231 test case 2 */
    unsigned char out[32];
    char hex[65];
    sp_hmac_sha256((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28, out);
    sp_hex(out, 32, hex);
    ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    ck_assert(sp_ct_equal("abc", "abc", 3));
    ck_assert(!sp_ct_equal("abc", "abd", 3));
}
END_TEST

START_TEST(aes_gcm_seal_open_and_tamper)
{
    unsigned char key[32], other[32];
    memset(key, 7, sizeof key);
    memset(other, 8, sizeof other);
    unsigned char *ct, *pt;
    size_t ctlen, ptlen;
    const char *msg = "{\"token\":\"s3cr3t\"}";
    ck_assert_int_eq(sp_seal(key, msg, strlen(msg), "dp-1", &ct, &ctlen), 0);
    ck_assert_uint_eq(ctlen, strlen(msg) + 28);
    ck_assert(memmem(ct, ctlen, "s3cr3t", 6) == NULL);
    ck_assert_int_eq(sp_open(key, ct, ctlen, "dp-1", &pt, &ptlen), 0);
    ck_assert_str_eq((char *)pt, msg);
    free(pt);
    ck_assert_int_ne(sp_open(other, ct, ctlen, "dp-1", &pt, &ptlen), 0);   /* wrong key */
    ck_assert_int_ne(sp_open(key, ct, ctlen, "dp-2", &pt, &ptlen), 0);    /* moved to another row */
    ct[15] ^= 1;
    ck_assert_int_ne(sp_open(key, ct, ctlen, "dp-1", &pt, &ptlen), 0);    /* tampered */
    free(ct);
}
END_TEST

START_TEST(utf8_rules)
{
    ck_assert(sp_utf8_clean("héllo ✓ 😀", strlen("héllo ✓ 😀")));
    ck_assert(!sp_utf8_clean("a\0b", 3));
    ck_assert(!sp_utf8_clean("\xc3\x28", 2));          /* bad continuation */
    ck_assert(!sp_utf8_clean("\xc0\xaf", 2));          /* overlong */
    ck_assert(!sp_utf8_clean("\xed\xa0\x80", 3));      /* surrogate */
    ck_assert(!sp_utf8_clean("tab\there", 8));
}
END_TEST

START_TEST(rfc3339_parse)
{
    ck_assert_int_eq(sp_parse_rfc3339("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(sp_parse_rfc3339("1970-01-01T01:00:00+01:00"), 0);
    ck_assert_int_eq(sp_parse_rfc3339("2026-11-21T22:24:01.123Z"), 1795299841);
    ck_assert_int_eq(sp_parse_rfc3339("2026-13-01T00:00:00Z"), -1);
    ck_assert_int_eq(sp_parse_rfc3339("yesterday"), -1);
    ck_assert_int_eq(sp_parse_rfc3339("2026-11-21T22:24:01"), -1);   /* no zone */
    ck_assert_int_eq(sp_parse_rfc3339("2030-02-31T00:00:00Z"), -1);  /* no such day */
    ck_assert_int_eq(sp_parse_rfc3339("2030-01-01T00:00:00+99:99"), -1);
    ck_assert_int_eq(sp_parse_rfc3339("2030-01-01T00:00:00Zjunk"), -1);
    ck_assert_int_eq(sp_parse_rfc3339("1970-01-01t00:00:00z"), 0);   /* lower case is allowed */
    ck_assert_int_eq(sp_parse_rfc3339("2028-02-29T00:00:00Z") > 0, 1);   /* leap day */
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    ck_assert_int_gt(sp_parse_rfc3339(now), 1700000000);
}
END_TEST


/* Issue 10, finding 8: sscanf("%2x") took signs and spaces, and base64 was
 * decoded leniently (whitespace, missing padding, stray bits). */
START_TEST(master_key_is_hex_or_base64_of_32_bytes)
{
    unsigned char k[32];
    const char *hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
    ck_assert_int_eq(config_parse_master_key(hex, k), 0);
    ck_assert_int_eq(k[1], 0x11);
    ck_assert_int_eq(k[31], 0xff);
    ck_assert_int_eq(config_parse_master_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", k), 0);
    ck_assert_int_eq(k[31], 31);
    static const char *const bad[] = {
        "-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1",   /* signs */
        " 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",   /* spaces */
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeegg",   /* not hex */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",                       /* no padding */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",                      /* stray bits */
        "AAECAwQFBgcICQoLDA0O DxAREhMUFRYXGBkaGxwdHh8=",                     /* a space */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",                      /* 31 bytes */
        "", "secret", NULL};
    for (int i = 0; bad[i]; i++) ck_assert_msg(config_parse_master_key(bad[i], k) != 0, "accepted '%s'", bad[i]);
}
END_TEST


/* The request deadline on a driven clock: a connection whose request has not
 * arrived within it is shut down; one whose request arrived is left alone;
 * the clock starts again for a kept-alive connection's next request. */
static int64_t fake_now;
static int64_t fake_clock(void) { return fake_now; }

START_TEST(connwatch_cuts_late_requests)
{
    int a[2], b[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    fake_now = 1000;
    connwatch *w = connwatch_new(5000, fake_clock);
    void *ca = NULL, *cb = NULL;
    connwatch_opened(w, a[0], &ca);
    connwatch_opened(w, b[0], &cb);
    fake_now += 4000;
    connwatch_arrived(w, cb);                       /* b's request is here */
    ck_assert_int_eq(connwatch_sweep(w), 0);
    fake_now += 1001;                               /* a is 5001 ms late */
    ck_assert_int_eq(connwatch_sweep(w), 1);
    char c;
    ck_assert_int_eq(recv(a[1], &c, 1, MSG_DONTWAIT), 0);        /* a's peer sees EOF */
    ck_assert_int_eq(send(b[1], "x", 1, MSG_DONTWAIT), 1);       /* b still open */
    connwatch_next(w, cb);                          /* answered: the next request's clock */
    fake_now += 5001;
    ck_assert_int_eq(connwatch_sweep(w), 1);
    ck_assert_int_eq(connwatch_cut(w), 2);
    connwatch_closed(w, &ca);
    connwatch_closed(w, &cb);
    ck_assert_ptr_null(ca);
    connwatch_free(w);
    for (int i = 0; i < 2; i++) { close(a[i]); close(b[i]); }
}
END_TEST

START_TEST(cors_origin_list)
{
    char err[300];
    ck_assert_int_eq(cors_parse("https://portal.example.com,http://127.0.0.1:8081", err, sizeof err), 0);
    ck_assert_int_eq(cors_parse("http://[::1]:9000", err, sizeof err), 0);
    ck_assert_int_eq(cors_parse("*", err, sizeof err), -1);
    ck_assert_int_eq(cors_parse("https://portal.example.com/", err, sizeof err), -1);  /* a path */
    ck_assert_int_eq(cors_parse("https://Portal.example.com", err, sizeof err), -1);  /* browsers send lower case */
    ck_assert_int_eq(cors_parse("portal.example.com", err, sizeof err), -1);          /* no scheme */
    ck_assert_int_eq(cors_parse("https://a.com,,https://b.com", err, sizeof err), -1);
    const char *l = "https://a.example.com,http://127.0.0.1:8081";
    ck_assert(cors_allowed(l, "https://a.example.com"));
    ck_assert(cors_allowed(l, "http://127.0.0.1:8081"));
    ck_assert(!cors_allowed(l, "http://127.0.0.1:808"));        /* a prefix is not a match */
    ck_assert(!cors_allowed(l, "https://a.example.com.evil.test"));
    ck_assert(!cors_allowed(l, "http://a.example.com"));         /* another scheme */
    ck_assert(!cors_allowed("", "https://a.example.com"));
    ck_assert(!cors_allowed(l, NULL));
}
END_TEST

Suite *suite_util(void)
{
    Suite *s = suite_create("util");
    TCase *t = tcase_create("core");
    tcase_add_test(t, ids_have_prefix_and_entropy);
    tcase_add_test(t, master_key_is_hex_or_base64_of_32_bytes);
    tcase_add_test(t, connwatch_cuts_late_requests);
    tcase_add_test(t, base64url_round_trip);
    tcase_add_test(t, hmac_known_vector);
    tcase_add_test(t, aes_gcm_seal_open_and_tamper);
    tcase_add_test(t, utf8_rules);
    tcase_add_test(t, rfc3339_parse);
    tcase_add_test(t, cors_origin_list);
    suite_add_tcase(s, t);
    return s;
}
