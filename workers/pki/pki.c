/* pki.c — the per-cluster CA: keys, the CA certificate, server and client
 * certificates, CSR checks (pki.h says what and why).
 *
 * Everything goes through OpenSSL 3's EVP / X509 objects; PEM only at the
 * edges. Extensions are built from OpenSSL's own config strings for fixed
 * values (basicConstraints, keyUsage, EKU, key identifiers) and as
 * GENERAL_NAMES structures for the caller's names, so a name can never
 * smuggle extra entries into a config string. */
#include "pki.h"

#include <string.h>
#include <stdlib.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/util.h"

struct pki_ca {
    X509 *cert;
    EVP_PKEY *key;
};

const char *pki_strerror(pki_err e)
{
    switch (e) {
    case PKI_OK: return "ok";
    case PKI_ERR_INVALID: return "invalid argument";
    case PKI_ERR_PEM: return "not a valid PEM object of the expected kind";
    case PKI_ERR_WEAK_KEY: return "key too weak or not accepted (RSA 2048..8192 bits, EC P-256 or P-384)";
    case PKI_ERR_SIGNATURE: return "signature does not verify";
    case PKI_ERR_KEY_MISMATCH: return "key does not belong to the certificate";
    case PKI_ERR_NOT_CA: return "certificate is not a CA";
    case PKI_ERR_SEALED: return "sealed key does not open";
    case PKI_ERR_CRYPTO: return "OpenSSL error";
    case PKI_ERR_NOMEM: return "out of memory";
    case PKI_ERR_RANDOM: return "random generator failed";
    }
    return "unknown pki error";
}

/* Any failure leaves OpenSSL's (thread-local) error queue empty again. */
static pki_err fail(pki_err e)
{
    ERR_clear_error();
    return e;
}

/* ---- keys ---- */

static pki_err key_new(pki_key_type t, EVP_PKEY **out)
{
    if (t == PKI_KEY_EC_P256) *out = EVP_EC_gen("P-256");
    else if (t == PKI_KEY_RSA_2048) *out = EVP_RSA_gen(2048);
    else return PKI_ERR_INVALID;
    return *out ? PKI_OK : fail(PKI_ERR_CRYPTO);
}

/* RSA 2048..8192 bits, EC on P-256 or P-384; nothing else. */
static pki_err key_acceptable(EVP_PKEY *k)
{
    if (EVP_PKEY_is_a(k, "RSA")) {
        int bits = EVP_PKEY_get_bits(k);
        return bits >= 2048 && bits <= 8192 ? PKI_OK : PKI_ERR_WEAK_KEY;
    }
    if (EVP_PKEY_is_a(k, "EC")) {
        char curve[64];
        if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve, NULL))
            return fail(PKI_ERR_WEAK_KEY);   /* explicit parameters: refused */
        return !strcmp(curve, "prime256v1") || !strcmp(curve, "secp384r1")
               ? PKI_OK : PKI_ERR_WEAK_KEY;
    }
    return PKI_ERR_WEAK_KEY;
}

/* ---- PEM in and out ---- */

static pki_err bio_to_str(BIO *b, char **out)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    if (n < 0) return PKI_ERR_CRYPTO;
    char *s = malloc((size_t)n + 1);
    if (!s) return PKI_ERR_NOMEM;
    memcpy(s, data, (size_t)n);
    s[n] = 0;
    *out = s;
    return PKI_OK;
}

static pki_err cert_to_pem(X509 *x, char **out)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return fail(PKI_ERR_NOMEM);
    pki_err e = PEM_write_bio_X509(b, x) == 1 ? bio_to_str(b, out) : fail(PKI_ERR_CRYPTO);
    BIO_free(b);
    return e;
}

/* PKCS#8, unencrypted (it is sealed at rest, never written in the clear).
 * The memory BIO's buffer held the key: wiped before it is freed. */
static pki_err key_to_pem(EVP_PKEY *k, char **out)
{
    BIO *b = BIO_new(BIO_s_secmem());
    if (!b) return fail(PKI_ERR_NOMEM);
    pki_err e = PEM_write_bio_PKCS8PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1
                ? bio_to_str(b, out) : fail(PKI_ERR_CRYPTO);
    BIO_free(b);
    return e;
}

/* A read-only BIO over caller text; NULL for NULL, empty or oversized. */
static BIO *pem_bio(const char *pem)
{
    if (!pem) return NULL;
    size_t n = strnlen(pem, PKI_PEM_MAX + 1);
    if (n == 0 || n > PKI_PEM_MAX) return NULL;
    return BIO_new_mem_buf(pem, (int)n);
}

/* Never prompt on a terminal for an encrypted PEM key: refuse it. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

static pki_err cert_from_pem(const char *pem, X509 **out)
{
    BIO *b = pem_bio(pem);
    if (!b) return PKI_ERR_PEM;
    *out = PEM_read_bio_X509(b, NULL, no_password, NULL);
    BIO_free(b);
    return *out ? PKI_OK : fail(PKI_ERR_PEM);
}

static pki_err key_from_pem(const char *pem, EVP_PKEY **out)
{
    BIO *b = pem_bio(pem);
    if (!b) return PKI_ERR_PEM;
    *out = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
    BIO_free(b);
    return *out ? PKI_OK : fail(PKI_ERR_PEM);
}

void pki_pem_free(char *pem)
{
    if (!pem) return;
    sp_wipe(pem, strlen(pem));
    free(pem);
}

void pki_issued_free(pki_issued *is)
{
    if (!is) return;
    free(is->cert_pem);
    free(is->chain_pem);
    pki_pem_free(is->key_pem);
    memset(is, 0, sizeof *is);
}

/* ---- certificate skeleton ---- */

/* 128 random bits, top bit clear (positive) and the next one set (always
 * 16 bytes long, never zero). */
static pki_err serial_set(X509 *x)
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) return fail(PKI_ERR_RANDOM);
    r[0] = (unsigned char)((r[0] & 0x7f) | 0x40);
    BIGNUM *bn = BN_bin2bn(r, sizeof r, NULL);
    pki_err e = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ? PKI_OK : fail(PKI_ERR_NOMEM);
    BN_free(bn);
    return e;
}

static pki_err validity_set(X509 *x, int64_t now, int64_t seconds)
{
    if (now <= PKI_BACKDATE || seconds <= 0 || seconds > INT64_MAX - now) return PKI_ERR_INVALID;
    if (!ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - PKI_BACKDATE)) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now + seconds)))
        return fail(PKI_ERR_INVALID);   /* past what ASN.1 time can say */
    return PKI_OK;
}

static bool name_add(X509_NAME *n, const char *field, const char *value)
{
    return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
                                      (const unsigned char *)value, -1, -1, 0) == 1;
}

/* One extension from OpenSSL's config syntax (fixed strings only). */
static bool ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    bool ok = ext && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* A certificate with serial, validity, subject, issuer and key in place. */
static pki_err cert_new(X509_NAME *subject, X509 *issuer, EVP_PKEY *pub,
                        int64_t now, int64_t seconds, X509 **out)
{
    X509 *x = X509_new();
    if (!x) return fail(PKI_ERR_NOMEM);
    pki_err e = serial_set(x);
    if (e == PKI_OK) e = validity_set(x, now, seconds);
    if (e == PKI_OK && (X509_set_version(x, X509_VERSION_3) != 1 ||
                        X509_set_subject_name(x, subject) != 1 ||
                        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
                        X509_set_pubkey(x, pub) != 1))
        e = fail(PKI_ERR_CRYPTO);
    if (e != PKI_OK) { X509_free(x); return e; }
    *out = x;
    return PKI_OK;
}

/* ---- the CA ---- */

static bool id_ok(const char *s)
{
    if (!s || !*s || strlen(s) > PKI_NAME_MAX) return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_'))
            return false;
    return true;
}

static pki_err ca_cert_build(const pki_ca_params *p, EVP_PKEY *key, X509 **out)
{
    char cn[PKI_NAME_MAX + 32];
    snprintf(cn, sizeof cn, "streamplane CA %s", p->cluster_id);
    X509_NAME *n = X509_NAME_new();
    if (!n) return fail(PKI_ERR_NOMEM);
    pki_err e = name_add(n, "O", "streamplane") &&
                (!p->tenant_id || name_add(n, "OU", p->tenant_id)) &&
                name_add(n, "CN", cn) ? PKI_OK : fail(PKI_ERR_CRYPTO);
    X509 *x = NULL;
    if (e == PKI_OK) e = cert_new(n, NULL, key, p->now, p->validity_seconds, &x);
    X509_NAME_free(n);
    if (e != PKI_OK) return e;
    if (!ext_add(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !ext_add(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !ext_add(x, x, NID_subject_key_identifier, "hash") ||
        !ext_add(x, x, NID_authority_key_identifier, "keyid:always") ||
        !X509_sign(x, key, EVP_sha256())) {
        X509_free(x);
        return fail(PKI_ERR_CRYPTO);
    }
    *out = x;
    return PKI_OK;
}

pki_err pki_ca_create(const pki_ca_params *p, pki_ca **out)
{
    if (!p || !out || !id_ok(p->cluster_id) || (p->tenant_id && !id_ok(p->tenant_id)))
        return PKI_ERR_INVALID;
    pki_ca *ca = calloc(1, sizeof *ca);
    if (!ca) return PKI_ERR_NOMEM;
    pki_err e = key_new(p->key_type, &ca->key);
    if (e == PKI_OK) e = ca_cert_build(p, ca->key, &ca->cert);
    if (e != PKI_OK) { pki_ca_free(ca); return e; }
    *out = ca;
    return PKI_OK;
}

void pki_ca_free(pki_ca *ca)
{
    if (!ca) return;
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    free(ca);
}

pki_err pki_ca_load(const char *cert_pem, const char *key_pem, pki_ca **out)
{
    if (!out) return PKI_ERR_INVALID;
    pki_ca *ca = calloc(1, sizeof *ca);
    if (!ca) return PKI_ERR_NOMEM;
    pki_err e = cert_from_pem(cert_pem, &ca->cert);
    if (e == PKI_OK) e = key_from_pem(key_pem, &ca->key);
    if (e == PKI_OK && X509_check_private_key(ca->cert, ca->key) != 1) e = fail(PKI_ERR_KEY_MISMATCH);
    if (e == PKI_OK && X509_check_ca(ca->cert) != 1) e = fail(PKI_ERR_NOT_CA);
    if (e == PKI_OK && !(X509_get_key_usage(ca->cert) & KU_KEY_CERT_SIGN)) e = fail(PKI_ERR_NOT_CA);
    if (e != PKI_OK) { pki_ca_free(ca); return e; }
    *out = ca;
    return PKI_OK;
}

pki_err pki_ca_open(const char *cert_pem, const unsigned char *sealed, size_t n,
                    const unsigned char master[32], const char *aad, pki_ca **out)
{
    char *key_pem = NULL;
    pki_err e = pki_key_open(sealed, n, master, aad, &key_pem);
    if (e == PKI_OK) e = pki_ca_load(cert_pem, key_pem, out);
    pki_pem_free(key_pem);
    return e;
}

pki_err pki_ca_cert_pem(const pki_ca *ca, char **pem)
{
    return ca && pem ? cert_to_pem(ca->cert, pem) : PKI_ERR_INVALID;
}

pki_err pki_ca_key_pem(const pki_ca *ca, char **pem)
{
    return ca && pem ? key_to_pem(ca->key, pem) : PKI_ERR_INVALID;
}

/* ---- leaves ---- */

/* DNS names: letters, digits, '-', '.', a leading "*." wildcard; <= 253. */
static bool dns_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.') return false;
    const char *c = s;
    if (c[0] == '*' && c[1] == '.') c += 2;
    for (; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || (*c == '.' && c[1] != '.')))
            return false;
    return true;
}

static bool san_push(GENERAL_NAMES *g, int type, ASN1_IA5STRING *dns, ASN1_OCTET_STRING *ip)
{
    GENERAL_NAME *n = GENERAL_NAME_new();
    if (!n) { ASN1_IA5STRING_free(dns); ASN1_OCTET_STRING_free(ip); return false; }
    GENERAL_NAME_set0_value(n, type, type == GEN_DNS ? (void *)dns : (void *)ip);
    if (sk_GENERAL_NAME_push(g, n) > 0) return true;
    GENERAL_NAME_free(n);
    return false;
}

/* subjectAltName from the caller's lists; INVALID for a bad name. */
static pki_err sans_add(X509 *x, const pki_server_params *p)
{
    if (p->ndns + p->nips == 0 || p->ndns + p->nips > PKI_MAX_SANS ||
        (p->ndns && !p->dns) || (p->nips && !p->ips))
        return PKI_ERR_INVALID;
    GENERAL_NAMES *g = sk_GENERAL_NAME_new_null();
    if (!g) return fail(PKI_ERR_NOMEM);
    pki_err e = PKI_OK;
    for (size_t i = 0; e == PKI_OK && i < p->ndns; i++) {
        ASN1_IA5STRING *s = dns_ok(p->dns[i]) ? ASN1_IA5STRING_new() : NULL;
        if (!dns_ok(p->dns[i])) e = PKI_ERR_INVALID;
        else if (!s || !ASN1_STRING_set(s, p->dns[i], -1) || !san_push(g, GEN_DNS, s, NULL))
            e = fail(PKI_ERR_NOMEM);
    }
    for (size_t i = 0; e == PKI_OK && i < p->nips; i++) {
        ASN1_OCTET_STRING *ip = p->ips[i] ? a2i_IPADDRESS(p->ips[i]) : NULL;
        if (!ip) e = fail(PKI_ERR_INVALID);
        else if (!san_push(g, GEN_IPADD, NULL, ip)) e = fail(PKI_ERR_NOMEM);
    }
    if (e == PKI_OK && X509_add1_ext_i2d(x, NID_subject_alt_name, g, 0, X509V3_ADD_DEFAULT) != 1)
        e = fail(PKI_ERR_CRYPTO);
    GENERAL_NAMES_free(g);
    return e;
}

/* The extensions every leaf has, then the CA's signature. */
static pki_err leaf_finish(const pki_ca *ca, X509 *x, EVP_PKEY *pub, const char *eku)
{
    const char *ku = EVP_PKEY_is_a(pub, "RSA") ? "critical,digitalSignature,keyEncipherment"
                                               : "critical,digitalSignature";
    if (!ext_add(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
        !ext_add(x, ca->cert, NID_key_usage, ku) ||
        !ext_add(x, ca->cert, NID_ext_key_usage, eku) ||
        !ext_add(x, ca->cert, NID_subject_key_identifier, "hash") ||
        !ext_add(x, ca->cert, NID_authority_key_identifier, "keyid:always") ||
        !X509_sign(x, ca->key, EVP_sha256()))
        return fail(PKI_ERR_CRYPTO);
    return PKI_OK;
}

/* Fills out's PEM strings, serial and times from a signed leaf. */
static pki_err issued_fill(const pki_ca *ca, X509 *x, EVP_PKEY *key_or_null, pki_issued *out)
{
    memset(out, 0, sizeof *out);
    char *ca_pem = NULL;
    pki_err e = cert_to_pem(x, &out->cert_pem);
    if (e == PKI_OK) e = cert_to_pem(ca->cert, &ca_pem);
    if (e == PKI_OK) {
        size_t a = strlen(out->cert_pem), b = strlen(ca_pem);
        out->chain_pem = malloc(a + b + 1);
        if (!out->chain_pem) e = PKI_ERR_NOMEM;
        else { memcpy(out->chain_pem, out->cert_pem, a); memcpy(out->chain_pem + a, ca_pem, b + 1); }
    }
    free(ca_pem);
    if (e == PKI_OK && key_or_null) e = key_to_pem(key_or_null, &out->key_pem);
    pki_cert_info info;
    if (e == PKI_OK) e = pki_cert_info_get(out->cert_pem, &info);
    if (e == PKI_OK) {
        memcpy(out->serial_hex, info.serial_hex, sizeof out->serial_hex - 1);
        out->not_before = info.not_before;
        out->not_after = info.not_after;
    }
    if (e != PKI_OK) pki_issued_free(out);
    return e;
}

pki_err pki_issue_server(const pki_ca *ca, const pki_server_params *p, pki_issued *out)
{
    if (!ca || !p || !out || !dns_ok(p->common_name) || strlen(p->common_name) > PKI_NAME_MAX)
        return PKI_ERR_INVALID;
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    X509_NAME *n = X509_NAME_new();
    pki_err e = n && name_add(n, "O", "streamplane") && name_add(n, "CN", p->common_name)
                ? PKI_OK : fail(PKI_ERR_NOMEM);
    if (e == PKI_OK) e = key_new(p->key_type, &key);
    if (e == PKI_OK) e = cert_new(n, ca->cert, key, p->now, p->validity_seconds, &x);
    if (e == PKI_OK) e = sans_add(x, p);
    if (e == PKI_OK) e = leaf_finish(ca, x, key, "serverAuth,clientAuth");
    if (e == PKI_OK) e = issued_fill(ca, x, key, out);
    X509_NAME_free(n);
    X509_free(x);
    EVP_PKEY_free(key);
    return e;
}

/* O=streamplane,CN=<principal>: only what streamplane chose, never
 * anything from the client's CSR. */
static pki_err client_cert(const pki_ca *ca, const pki_client_params *p, EVP_PKEY *pub, X509 **out)
{
    int64_t v = p->validity_seconds ? p->validity_seconds : PKI_CLIENT_VALIDITY_DEFAULT;
    if (!id_ok(p->principal) || v < 0 || v > PKI_CLIENT_VALIDITY_MAX) return PKI_ERR_INVALID;
    X509_NAME *n = X509_NAME_new();
    pki_err e = n && name_add(n, "O", "streamplane") && name_add(n, "CN", p->principal)
                ? PKI_OK : fail(PKI_ERR_NOMEM);
    X509 *x = NULL;
    if (e == PKI_OK) e = cert_new(n, ca->cert, pub, p->now, v, &x);
    if (e == PKI_OK) e = leaf_finish(ca, x, pub, "clientAuth");
    X509_NAME_free(n);
    if (e != PKI_OK) { X509_free(x); return e; }
    *out = x;
    return PKI_OK;
}

/* Proof of possession: the CSR's signature by its own key, with a digest
 * that is not broken; and a key we accept. */
static pki_err csr_check(X509_REQ *req, EVP_PKEY **pub)
{
    *pub = X509_REQ_get0_pubkey(req);
    if (!*pub) return fail(PKI_ERR_PEM);
    pki_err e = key_acceptable(*pub);
    if (e != PKI_OK) return e;
    int md = NID_undef, pk = NID_undef;
    if (!OBJ_find_sigid_algs(X509_REQ_get_signature_nid(req), &md, &pk)) return fail(PKI_ERR_SIGNATURE);
    if (md == NID_md5 || md == NID_sha1 || md == NID_md4) return PKI_ERR_SIGNATURE;
    return X509_REQ_verify(req, *pub) == 1 ? PKI_OK : fail(PKI_ERR_SIGNATURE);
}

pki_err pki_sign_csr(const pki_ca *ca, const char *csr_pem, const pki_client_params *p,
                     pki_issued *out)
{
    if (!ca || !p || !out) return PKI_ERR_INVALID;
    BIO *b = pem_bio(csr_pem);
    if (!b) return PKI_ERR_PEM;
    X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, no_password, NULL);
    BIO_free(b);
    if (!req) return fail(PKI_ERR_PEM);
    EVP_PKEY *pub = NULL;
    X509 *x = NULL;
    pki_err e = csr_check(req, &pub);
    if (e == PKI_OK) e = client_cert(ca, p, pub, &x);
    if (e == PKI_OK) e = issued_fill(ca, x, NULL, out);
    X509_free(x);
    X509_REQ_free(req);
    return e;
}

pki_err pki_issue_client_with_key(const pki_ca *ca, const pki_client_params *p, pki_issued *out)
{
    if (!ca || !p || !out) return PKI_ERR_INVALID;
    if (!id_ok(p->principal)) return PKI_ERR_INVALID;   /* before paying for a key */
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    pki_err e = key_new(p->key_type, &key);
    if (e == PKI_OK) e = client_cert(ca, p, key, &x);
    if (e == PKI_OK) e = issued_fill(ca, x, key, out);
    X509_free(x);
    EVP_PKEY_free(key);
    return e;
}

/* ---- reading ---- */

static pki_err asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return fail(PKI_ERR_PEM);
    *out = (int64_t)timegm(&tm);
    return PKI_OK;
}

static pki_err info_from_cert(X509 *x, pki_cert_info *out)
{
    memset(out, 0, sizeof *out);
    pki_err e = asn1_time_unix(X509_get0_notBefore(x), &out->not_before);
    if (e == PKI_OK) e = asn1_time_unix(X509_get0_notAfter(x), &out->not_after);
    if (e != PKI_OK) return e;
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
                              out->common_name, sizeof out->common_name);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex) snprintf(out->serial_hex, sizeof out->serial_hex, "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    out->is_ca = X509_check_ca(x) == 1;
    return hex ? PKI_OK : fail(PKI_ERR_NOMEM);
}

pki_err pki_cert_info_get(const char *cert_pem, pki_cert_info *out)
{
    if (!out) return PKI_ERR_INVALID;
    X509 *x = NULL;
    pki_err e = cert_from_pem(cert_pem, &x);
    if (e == PKI_OK) e = info_from_cert(x, out);
    X509_free(x);
    return e;
}

pki_err pki_needs_renewal(const char *cert_pem, int64_t now, int64_t window, bool *renew)
{
    if (!renew || window < 0 || window > INT64_MAX / 2 || now > INT64_MAX / 2) return PKI_ERR_INVALID;
    pki_cert_info info;
    pki_err e = pki_cert_info_get(cert_pem, &info);
    if (e == PKI_OK) *renew = now + window >= info.not_after;
    return e;
}

pki_err pki_verify(const pki_ca *ca, const char *cert_pem, int64_t now)
{
    if (!ca) return PKI_ERR_INVALID;
    X509 *x = NULL;
    pki_err e = cert_from_pem(cert_pem, &x);
    if (e != PKI_OK) return e;
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!st || !ctx || X509_STORE_add_cert(st, ca->cert) != 1 ||
        X509_STORE_CTX_init(ctx, st, x, NULL) != 1) e = fail(PKI_ERR_NOMEM);
    if (e == PKI_OK) {
        X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
        e = X509_verify_cert(ctx) == 1 ? PKI_OK : fail(PKI_ERR_SIGNATURE);
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    X509_free(x);
    return e;
}

/* ---- keys at rest (common/util.c's AES-256-GCM) ---- */

pki_err pki_key_seal(const char *key_pem, const unsigned char master[32], const char *aad,
                     unsigned char **blob, size_t *n)
{
    if (!key_pem || !master || !aad || !blob || !n) return PKI_ERR_INVALID;
    size_t len = strnlen(key_pem, PKI_PEM_MAX + 1);
    if (len == 0 || len > PKI_PEM_MAX) return PKI_ERR_PEM;
    return sp_seal(master, key_pem, len, aad, blob, n) == 0 ? PKI_OK : fail(PKI_ERR_CRYPTO);
}

pki_err pki_key_open(const unsigned char *blob, size_t n, const unsigned char master[32],
                     const char *aad, char **key_pem)
{
    if (!blob || !master || !aad || !key_pem) return PKI_ERR_INVALID;
    unsigned char *pt = NULL;
    size_t len = 0;
    if (sp_open(master, blob, n, aad, &pt, &len) != 0) return fail(PKI_ERR_SEALED);
    if (strlen((char *)pt) != len) {   /* a NUL inside: not the PEM we sealed */
        sp_wipe(pt, len);
        free(pt);
        return PKI_ERR_SEALED;
    }
    *key_pem = (char *)pt;
    return PKI_OK;
}
