/* The project's Web PKI rules (engine/verify/rules.py), applied to a path OpenSSL accepted,
 * and the server-identity check made before path building. */

#define _DEFAULT_SOURCE 1 /* inet_aton */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "engine_verify_internal.h"

/* ---- names */

int engine_verify_has_server_identity(X509 *leaf)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int found = 0;
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        int type = sk_GENERAL_NAME_value(names, i)->type;
        if (type == GEN_DNS || type == GEN_IPADD)
            found = 1;
    }
    GENERAL_NAMES_free(names);
    return found;
}

int engine_verify_bad_address(X509 *leaf)
{
    if (X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1) < 0)
        return 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int bad = names == NULL;
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && !bad; i++) {
        GENERAL_NAME *entry = sk_GENERAL_NAME_value(names, i);
        if (entry->type == GEN_IPADD) {
            int len = ASN1_STRING_length(entry->d.iPAddress);
            bad = len != 4 && len != 16;
        }
    }
    GENERAL_NAMES_free(names);
    return bad;
}

typedef struct {
    unsigned char key[64]; /* SHA-256 of the subject's DER, then of the SubjectPublicKeyInfo */
} subject_and_key;

static int compare_keys(const void *a, const void *b)
{
    return memcmp(((const subject_and_key *)a)->key, ((const subject_and_key *)b)->key, 64);
}

int engine_verify_interchangeable(X509 *const *certs, const unsigned int *members, size_t n)
{
    if (n <= MAX_INTERCHANGEABLE)
        return 0;
    subject_and_key *keys = calloc(n, sizeof(*keys));
    if (keys == NULL)
        return 0; /* the path search has its own bounds */
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        cert_facts scratch;
        const cert_facts *facts = engine_verify_facts(certs[members[i]], &scratch);
        const unsigned char *der = NULL;
        size_t len = 0;
        unsigned int got = 0;
        if (!facts->has_hashes
            || !X509_NAME_get0_der(X509_get_subject_name(certs[members[i]]), &der, &len)
            || !EVP_Digest(der, len, keys[used].key, &got, EVP_sha256(), NULL) || got != 32)
            continue;
        memcpy(keys[used].key + 32, facts->spki_sha256, 32);
        used++;
    }
    qsort(keys, used, sizeof(*keys), compare_keys);
    int found = 0;
    for (size_t start = 0, i = 1; i <= used && !found; i++) {
        if (i == used || compare_keys(&keys[i], &keys[start]) != 0) {
            found = i - start > MAX_INTERCHANGEABLE;
            start = i;
        }
    }
    free(keys);
    ERR_clear_error();
    return found;
}

static int ldh_label_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
           || c == '-';
}

int engine_verify_name_kind(const char *name)
{
    unsigned char address[16];
    size_t len = strnlen(name, 254);
    if (strchr(name, ':') != NULL)
        return strchr(name, '%') == NULL && inet_pton(AF_INET6, name, address) == 1 ? 2 : 0;
    if (len == 0 || len > 253)
        return 0;
    size_t label = 0;
    int dotted_digits = 1;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.' || c == '\0') {
            /* RFC 1123 2.1: 1 to 63 characters, neither first nor last a hyphen */
            if (label == 0 || label > 63 || name[i - label] == '-' || name[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!ldh_label_char(c))
            return 0;
        dotted_digits &= c >= '0' && c <= '9';
        label++;
    }
    if (dotted_digits && inet_pton(AF_INET, name, address) == 1)
        return 2;
    return 1;
}

/* ---- the project's Web PKI rules, on a path OpenSSL accepted (engine/verify/rules.py) */

int engine_verify_key_fault(X509 *x)
{
    EVP_PKEY *key = X509_get0_pubkey(x);
    if (key == NULL)
        return ENGINE_VERIFY_FORBIDDEN_KEY;
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS: {
        int bits = EVP_PKEY_get_bits(key);
        return bits < 2048 || bits % 8 != 0 ? ENGINE_VERIFY_WEAK_KEY : 0;
    }
    case EVP_PKEY_EC: {
        char group[64];
        size_t len = 0;
        if (!EVP_PKEY_get_group_name(key, group, sizeof(group), &len))
            return ENGINE_VERIFY_FORBIDDEN_KEY;
        return strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0
                       || strcmp(group, "secp521r1") == 0
                   ? 0
                   : ENGINE_VERIFY_FORBIDDEN_KEY;
    }
    case EVP_PKEY_ED25519:
    case EVP_PKEY_ED448:
        return 0;
    default:
        return ENGINE_VERIFY_FORBIDDEN_KEY;
    }
}

static int serial_fault(X509 *x)
{
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    const unsigned char *data = ASN1_STRING_get0_data(serial);
    int len = ASN1_STRING_length(serial);
    if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER || len <= 0 || data == NULL)
        return ENGINE_VERIFY_BAD_SERIAL;
    int nonzero = 0;
    for (int i = 0; i < len; i++)
        nonzero |= data[i];
    if (!nonzero)
        return ENGINE_VERIFY_BAD_SERIAL;
    int encoded = len + ((data[0] & 0x80) ? 1 : 0);
    return encoded > 20 ? ENGINE_VERIFY_BAD_SERIAL : 0;
}

static int eku_fault(X509 *leaf)
{
    int at = X509_get_ext_by_NID(leaf, NID_ext_key_usage, -1);
    if (at < 0)
        return 0;
    if (X509_EXTENSION_get_critical(X509_get_ext(leaf, at)))
        return ENGINE_VERIFY_EKU_CRITICAL;
    if (X509_get_extended_key_usage(leaf) & XKU_ANYEKU)
        return ENGINE_VERIFY_EKU_ANY;
    return 0;
}

/* The text form of an iPAddress SAN: dotted quad, or RFC 5952 for IPv6. */
static int ip_text(const ASN1_OCTET_STRING *ip, char *out, size_t size)
{
    const unsigned char *p = ASN1_STRING_get0_data(ip);
    int len = ASN1_STRING_length(ip);
    if (len == 4) {
        snprintf(out, size, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
        return 1;
    }
    if (len != 16)
        return 0;
    unsigned int words[8];
    for (int i = 0; i < 8; i++)
        words[i] = ((unsigned int)p[2 * i] << 8) | p[2 * i + 1];
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (words[i] != 0) {
            i++;
            continue;
        }
        int k = i;
        while (k < 8 && words[k] == 0)
            k++;
        if (k - i > best_len && k - i >= 2) {
            best = i;
            best_len = k - i;
        }
        i = k;
    }
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            used += (size_t)snprintf(out + used, size - used, "::");
            i += best_len - 1;
            continue;
        }
        used += (size_t)snprintf(out + used, size - used, "%x%s", words[i],
                                 i < 7 && i + 1 != best ? ":" : "");
        if (used >= size)
            return 0;
    }
    return 1;
}

static int ascii_equal_ignoring_case(const unsigned char *a, const unsigned char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

/* Whether a commonName spells one of the subjectAltNames other than byte for byte:
 * 1 when it denotes one of them in another spelling (case, IP address notation), else 0. */
static int common_name_misspells(const unsigned char *cn, int cn_len, GENERAL_NAMES *names)
{
    char text[64];
    unsigned char address[16];
    int family = 0;
    if (cn_len > 0 && (size_t)cn_len < sizeof(text) && memchr(cn, 0, (size_t)cn_len) == NULL) {
        memcpy(text, cn, (size_t)cn_len);
        text[cn_len] = '\0';
        struct in_addr v4;
        if (inet_pton(AF_INET6, text, address) == 1) {
            family = 16;
        } else if (inet_aton(text, &v4) != 0) {
            memcpy(address, &v4.s_addr, 4);
            family = 4;
        }
    }
    int misspelled = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        GENERAL_NAME *entry = sk_GENERAL_NAME_value(names, i);
        if (entry->type == GEN_DNS) {
            const unsigned char *dns = ASN1_STRING_get0_data(entry->d.dNSName);
            int len = ASN1_STRING_length(entry->d.dNSName);
            if (len != cn_len)
                continue;
            if (memcmp(dns, cn, (size_t)len) == 0)
                return 0;
            misspelled |= ascii_equal_ignoring_case(dns, cn, (size_t)len);
        } else if (entry->type == GEN_IPADD) {
            char canonical[64];
            const ASN1_OCTET_STRING *ip = entry->d.iPAddress;
            if (!ip_text(ip, canonical, sizeof(canonical)))
                continue;
            if (strlen(canonical) == (size_t)cn_len && memcmp(canonical, cn, (size_t)cn_len) == 0)
                return 0;
            misspelled |= family != 0 && ASN1_STRING_length(ip) == family
                          && memcmp(ASN1_STRING_get0_data(ip), address, (size_t)family) == 0;
        }
    }
    return misspelled;
}

/* CABF BR 7.1.4.3: a server leaf's commonName that names one of its subjectAltNames must
 * copy it exactly; a name in another spelling (case, IP address notation) is ambiguous. */
static int common_name_fault(X509 *leaf)
{
    X509_NAME *subject = X509_get_subject_name(leaf);
    int position = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (position < 0)
        return 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int fault = 0;
    for (; position >= 0 && names != NULL && !fault;
         position = X509_NAME_get_index_by_NID(subject, NID_commonName, position)) {
        ASN1_STRING *value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, position));
        unsigned char *cn = NULL;
        int cn_len = ASN1_STRING_to_UTF8(&cn, value);
        if (cn_len >= 0 && common_name_misspells(cn, cn_len, names))
            fault = ENGINE_VERIFY_CN_NOT_IN_SAN;
        OPENSSL_free(cn);
    }
    GENERAL_NAMES_free(names);
    return fault;
}

/* A root's (a self-issued trust anchor's) authorityKeyIdentifier, when present, is only its
 * own key identifier (CABF BR 7.1.2.1.3). */
static int anchor_aki_fault(X509 *anchor)
{
    if (X509_get_ext_by_NID(anchor, NID_authority_key_identifier, -1) < 0)
        return 0;
    const ASN1_OCTET_STRING *keyid = X509_get0_authority_key_id(anchor);
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(anchor);
    if (keyid == NULL || X509_get0_authority_issuer(anchor) != NULL
        || X509_get0_authority_serial(anchor) != NULL
        || (ski != NULL && ASN1_OCTET_STRING_cmp(keyid, ski) != 0))
        return ENGINE_VERIFY_ANCHOR_AKI;
    return 0;
}

/* A DNS name in preferred name syntax (RFC 1034 3.5, RFC 5280 4.2.1.6), a wildcard allowed
 * only as the whole left-most label: letters, digits and hyphens, labels of 1 to 63. */
static int dns_name_valid(const unsigned char *name, int len)
{
    if (len <= 0 || len > 253)
        return 0;
    int start = 0;
    if (len >= 2 && name[0] == '*' && name[1] == '.')
        start = 2;
    int label = 0;
    for (int i = start; i < len; i++) {
        unsigned char c = name[i];
        if (c == '.') {
            if (label == 0 || name[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        int digit = c >= '0' && c <= '9';
        if (!letter && !digit && c != '-')
            return 0;
        if (c == '-' && label == 0)
            return 0;
        if (++label > 63)
            return 0;
    }
    return label > 0 && name[len - 1] != '-';
}

/* The end-entity profile (CABF BR 7.1.2.7) that cryptography's verifier applies and OpenSSL
 * does not: no nameConstraints, a subjectAltName marked critical only with an empty subject,
 * DNS names in preferred name syntax, and decodable AIA, CRL distribution points and
 * certificate policies. (Not a CA unless pinned is engine_verify_webpki_fault's, as it
 * depends on the path.) */
static int leaf_profile_fault(X509 *leaf)
{
    if (X509_get_ext_by_NID(leaf, NID_name_constraints, -1) >= 0)
        return ENGINE_VERIFY_LEAF_NAME_CONSTRAINTS;
    int at = X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1);
    if (at >= 0 && X509_EXTENSION_get_critical(X509_get_ext(leaf, at))
        && X509_NAME_entry_count(X509_get_subject_name(leaf)) > 0)
        return ENGINE_VERIFY_SAN_CRITICAL;
    if (at >= 0) {
        GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
        int fault = names == NULL ? ENGINE_VERIFY_BAD_EXTENSION : 0;
        for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && !fault; i++) {
            GENERAL_NAME *entry = sk_GENERAL_NAME_value(names, i);
            if (entry->type == GEN_DNS
                && !dns_name_valid(ASN1_STRING_get0_data(entry->d.dNSName),
                                   ASN1_STRING_length(entry->d.dNSName)))
                fault = ENGINE_VERIFY_BAD_DNS_NAME;
        }
        GENERAL_NAMES_free(names);
        if (fault)
            return fault;
    }
    int critical = -1;
    if (X509_get_ext_by_NID(leaf, NID_info_access, -1) >= 0) {
        AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(leaf, NID_info_access, &critical, NULL);
        if (aia == NULL)
            return ENGINE_VERIFY_BAD_EXTENSION;
        AUTHORITY_INFO_ACCESS_free(aia);
    }
    if (X509_get_ext_by_NID(leaf, NID_crl_distribution_points, -1) >= 0) {
        CRL_DIST_POINTS *points = X509_get_ext_d2i(leaf, NID_crl_distribution_points,
                                                   &critical, NULL);
        if (points == NULL)
            return ENGINE_VERIFY_BAD_EXTENSION;
        CRL_DIST_POINTS_free(points);
    }
    if (X509_get_ext_by_NID(leaf, NID_certificate_policies, -1) >= 0) {
        CERTIFICATEPOLICIES *policies = X509_get_ext_d2i(leaf, NID_certificate_policies,
                                                         &critical, NULL);
        if (policies == NULL)
            return ENGINE_VERIFY_BAD_EXTENSION;
        CERTIFICATEPOLICIES_free(policies);
    }
    return 0;
}

/* RFC 5280 4.2.1.10: nameConstraints with neither permitted nor excluded subtrees. */
static int empty_name_constraints(X509 *ca)
{
    if (X509_get_ext_by_NID(ca, NID_name_constraints, -1) < 0)
        return 0;
    NAME_CONSTRAINTS *nc = X509_get_ext_d2i(ca, NID_name_constraints, NULL, NULL);
    if (nc == NULL)
        return ENGINE_VERIFY_BAD_EXTENSION;
    int empty = sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) <= 0
                && sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) <= 0;
    NAME_CONSTRAINTS_free(nc);
    return empty ? ENGINE_VERIFY_EMPTY_NAME_CONSTRAINTS : 0;
}

/* A root's (a self-issued top of a path's) faults: its authorityKeyIdentifier, then an
 * extendedKeyUsage (CABF BR 7.1.2.1.2 and 7.1.2.1.3). */
static int root_fault(X509 *x)
{
    int code = anchor_aki_fault(x);
    if (code == 0 && X509_get_ext_by_NID(x, NID_ext_key_usage, -1) >= 0)
        code = ENGINE_VERIFY_ANCHOR_EKU;
    return code;
}

void engine_verify_rule_facts(X509 *x, cert_facts *f)
{
    uint32_t flags = X509_get_extension_flags(x);
    f->key_fault = engine_verify_key_fault(x);
    f->serial_fault = serial_fault(x);
    f->name_constraints_fault = empty_name_constraints(x);
    f->leaf_fault = leaf_profile_fault(x);
    f->leaf_is_ca = (flags & EXFLAG_BCONS) && (flags & EXFLAG_CA);
    f->eku_fault = eku_fault(x);
    f->common_name_fault = common_name_fault(x);
    f->server_identity = engine_verify_has_server_identity(x);
    f->bad_address = engine_verify_bad_address(x);
    f->root_fault = root_fault(x);
    f->self_issued = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
    ERR_clear_error();
}

/* The first rule the path breaks, in rules.after's order; 0 when none. Each rule's verdict
 * on each certificate was computed when it was parsed (cert_facts). */
int engine_verify_webpki_fault(const batch *b, STACK_OF(X509) *chain, int *depth)
{
    int num = sk_X509_num(chain);
    if (num <= 0) {
        *depth = -1;
        return ENGINE_VERIFY_INTERNAL;
    }
    cert_facts scratch[2];
    const cert_facts *leaf = engine_verify_facts(sk_X509_value(chain, 0), &scratch[0]);
    *depth = 0;
    /* A path of one certificate is a leaf that is itself a trust anchor: a pinned
     * certificate (a self-signed server certificate, often with cA set) is the whole path. */
    if (num > 1 && leaf->leaf_is_ca)
        return ENGINE_VERIFY_LEAF_IS_CA;
    if (leaf->leaf_fault != 0)
        return leaf->leaf_fault;
    for (int i = 1; i < num; i++) {
        int code = engine_verify_facts(sk_X509_value(chain, i), &scratch[1])
                       ->name_constraints_fault;
        if (code != 0) {
            *depth = i;
            return code;
        }
    }
    for (int i = 0; i < num; i++) {
        int code = i == 0 ? leaf->key_fault
                          : engine_verify_facts(sk_X509_value(chain, i), &scratch[1])->key_fault;
        if (code != 0) {
            *depth = i;
            return code;
        }
    }
    for (int i = 0; i + 1 < num; i++) {
        int code = i == 0 ? leaf->serial_fault
                          : engine_verify_facts(sk_X509_value(chain, i), &scratch[1])
                                ->serial_fault;
        if (code != 0) {
            *depth = i;
            return code;
        }
    }
    if (leaf->eku_fault != 0)
        return leaf->eku_fault;
    if (b->purpose == 0 && leaf->common_name_fault != 0)
        return leaf->common_name_fault;
    const cert_facts *top = engine_verify_facts(sk_X509_value(chain, num - 1), &scratch[1]);
    *depth = num - 1;
    if (num > 1 && top->self_issued && top->root_fault != 0)
        return top->root_fault;
    *depth = -1;
    return 0;
}
