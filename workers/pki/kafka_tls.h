/* kafka_tls.h — the PEM key store and trust store as Kafka 3.9 reads them
 * (KIP-651), from what pki.h issues. The broker properties to wire are in
 * workers/pki/README.md.
 *
 * Two layouts, the same content:
 *   - inline: ssl.keystore.type=PEM, ssl.keystore.certificate.chain=<leaf+CA>,
 *     ssl.keystore.key=<PKCS#8 key>, ssl.truststore.type=PEM,
 *     ssl.truststore.certificates=<CA>; pki_kafka_ssl_props() writes these
 *     lines (Java properties escaping: each PEM line ends in "\n\").
 *   - files: ssl.keystore.location=<file holding key then chain>,
 *     ssl.truststore.location=<file holding the CA>, both type PEM;
 *     pki_kafka_keystore_file() makes the first file's text. This is the one
 *     for Kubernetes: the files live in the cluster's Secret, the ConfigMap
 *     holds only paths, so no key ever sits in a ConfigMap.
 * Cost: linear in the PEM text (a few KB). Errors: pki_err (pki.h). */
#ifndef SP_PKI_KAFKA_TLS_H
#define SP_PKI_KAFKA_TLS_H

#include "pki.h"

typedef struct pki_kafka_tls {
    const char *chain_pem;   /* leaf then CA (pki_issued.chain_pem) */
    const char *key_pem;     /* PKCS#8, unencrypted (pki_issued.key_pem) */
    const char *ca_pem;      /* the cluster CA (pki_ca_cert_pem) */
} pki_kafka_tls;

/* A properties value: '\\' -> "\\\\", each line break -> "\\n\\" + newline
 * (an escaped newline, then a continuation line), so Java's
 * Properties.load gives back exactly the PEM text. *out is malloc'd. */
pki_err pki_kafka_props_escape(const char *pem, char **out);

/* The five ssl.* lines above (plus ssl.client.auth=required), each key
 * preceded by prefix: "" for the broker-wide defaults or
 * "listener.name.<listener, lower case>." for one listener. The text holds
 * the private key: wipe it with pki_pem_free. */
pki_err pki_kafka_ssl_props(const pki_kafka_tls *t, const char *prefix, char **out);

/* The ssl.keystore.location file: the key, then the chain. pki_pem_free. */
pki_err pki_kafka_keystore_file(const pki_kafka_tls *t, char **out);

#endif
