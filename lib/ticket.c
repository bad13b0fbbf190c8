/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "base64.h"
#include "ticket.h"
#include "utf8.h"

#define ED25519_KEY_SIZE 32
#define ED25519_SIGNATURE_SIZE 64
/* base64 of the raw sizes above, with padding. */
#define KEY_TEXT_SIZE 44
#define SIGNATURE_TEXT_SIZE 88
/* base64 of an HMAC-SHA256 without its one padding character, as Perl's Digest::SHA writes it. */
#define CSRF_SIGNATURE_TEXT_SIZE 43
#define HEX_TIME_SIZE 8

#define TICKET_PREFIX "PVE:"
#define TUNNEL_PREFIX "PVETUNNEL:"

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free);

void ticket_secret_free(char *s)
{
        if (!s)
                return;
        OPENSSL_cleanse(s, strlen(s));
        free(s);
}

static bool is_realm_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '-' || c == '_';
}

static bool is_letter(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool userid_is_valid_n(const char *s, size_t n)
{
        const char *at = NULL;

        if (n < 3 || n > TICKET_USERID_MAX)
                return false;
        if (utf8_check_printable(s, n, false) < 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == ' ' || s[i] == ':' || s[i] == '/' || s[i] == '%')
                        return false;
                if (s[i] == '@')
                        at = s + i;
        }
        /* The name may hold '@' itself; the realm follows the last one, as Proxmox's backtracking regex finds it. */
        if (!at || at == s)
                return false;
        at++;
        if (n - (size_t) (at - s) < 2 || !is_letter(at[0]))
                return false;
        for (const char *p = at; p < s + n; p++)
                if (!is_realm_char(*p))
                        return false;
        return true;
}

bool ticket_userid_is_valid(const char *s)
{
        return s && userid_is_valid_n(s, strlen(s));
}

int ticket_key_generate(EVP_PKEY **ret)
{
        EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

        if (!key)
                return -EIO;
        *ret = key;
        return 0;
}

int ticket_key_format_private(EVP_PKEY *key, char **ret)
{
        unsigned char raw[ED25519_KEY_SIZE];
        size_t size = sizeof(raw);

        if (EVP_PKEY_get_raw_private_key(key, raw, &size) != 1 || size != sizeof(raw))
                return -EINVAL;
        *ret = base64_encode(raw, size);
        OPENSSL_cleanse(raw, sizeof(raw));
        return 0;
}

int ticket_key_format_public(EVP_PKEY *key, char **ret)
{
        unsigned char raw[ED25519_KEY_SIZE];
        size_t size = sizeof(raw);

        if (EVP_PKEY_get_raw_public_key(key, raw, &size) != 1 || size != sizeof(raw))
                return -EINVAL;
        *ret = base64_encode(raw, size);
        return 0;
}

static int key_parse(const char *text, bool private, EVP_PKEY **ret)
{
        _cleanup_(ticket_secret_freep) char *canonical = NULL;
        char *raw = NULL;
        EVP_PKEY *key;
        size_t size;
        int r;

        if (strlen(text) != KEY_TEXT_SIZE || base64_decode(text, KEY_TEXT_SIZE, &raw, &size) < 0)
                return -EBADMSG;
        key = size != ED25519_KEY_SIZE ? NULL
                : private ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, (unsigned char *) raw, size)
                          : EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, (unsigned char *) raw, size);
        OPENSSL_cleanse(raw, size);
        free(raw);
        if (!key)
                return -EBADMSG;

        /* Base64 has more than one text for the same bytes; only the one we write parses, so texts round-trip. */
        r = private ? ticket_key_format_private(key, &canonical) : ticket_key_format_public(key, &canonical);
        if (r < 0 || CRYPTO_memcmp(canonical, text, KEY_TEXT_SIZE) != 0) {
                EVP_PKEY_free(key);
                return -EBADMSG;
        }
        *ret = key;
        return 0;
}

int ticket_key_parse_private(const char *text, EVP_PKEY **ret)
{
        return key_parse(text, true, ret);
}

int ticket_key_parse_public(const char *text, EVP_PKEY **ret)
{
        return key_parse(text, false, ret);
}

static int key_public_copy(EVP_PKEY *key, EVP_PKEY **ret)
{
        unsigned char raw[ED25519_KEY_SIZE];
        size_t size = sizeof(raw);
        EVP_PKEY *copy;

        if (EVP_PKEY_get_raw_public_key(key, raw, &size) != 1 || size != sizeof(raw))
                return -EINVAL;
        copy = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, size);
        if (!copy)
                return -EIO;
        *ret = copy;
        return 0;
}

/* The base64 Ed25519 signature of data; -EINVAL for a key that cannot sign. */
static int sign_text(EVP_PKEY *key, const char *data, char **ret)
{
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char sig[ED25519_SIGNATURE_SIZE];
        size_t size = sizeof(sig);

        if (!ctx)
                return -ENOMEM;
        /* Ed25519 hashes internally: no digest, and only the one-shot call. */
        if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
                EVP_DigestSign(ctx, sig, &size, (const unsigned char *) data, strlen(data)) != 1 ||
                size != sizeof(sig))
                return -EINVAL;
        *ret = base64_encode(sig, size);
        return 0;
}

static bool signature_verifies(EVP_PKEY *key, const char *data, const unsigned char *sig, size_t sig_size)
{
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();

        return ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
                EVP_DigestVerify(ctx, sig, sig_size, (const unsigned char *) data, strlen(data)) == 1;
}

static bool is_upper_hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static int parse_hex_time(const char *s, uint32_t *ret)
{
        uint32_t t = 0;

        for (size_t i = 0; i < HEX_TIME_SIZE; i++) {
                if (!is_upper_hex(s[i]))
                        return -EBADMSG;
                t = t << 4 | (uint32_t) (s[i] <= '9' ? s[i] - '0' : s[i] - 'A' + 10);
        }
        *ret = t;
        return 0;
}

/* Proxmox's exclusive bounds: min < now - t < max. */
static int check_age(uint32_t t, uint64_t now, int64_t min, int64_t max, int64_t *ret_age)
{
        int64_t age = (int64_t) now - (int64_t) t;

        if (age <= min)
                return -ERANGE;
        if (age >= max)
                return -EKEYEXPIRED;
        if (ret_age)
                *ret_age = age;
        return 0;
}

/*
 * Splits "<plain>::<signature>" where plain is min_plain to max_plain long and
 * ends in ":<hex time>", and the signature is a padded base64 Ed25519
 * signature. Returns the length of plain.
 */
static int split_signed(
        const char *text, size_t min_plain, size_t max_plain, uint32_t *ret_time, char **ret_sig)
{
        size_t n = strnlen(text, max_plain + 2 + SIGNATURE_TEXT_SIZE + 1), plain;
        char *sig;
        size_t sig_size;

        if (n < min_plain + 2 + SIGNATURE_TEXT_SIZE || n > max_plain + 2 + SIGNATURE_TEXT_SIZE)
                return -EBADMSG;
        plain = n - 2 - SIGNATURE_TEXT_SIZE;
        if (text[plain] != ':' || text[plain + 1] != ':' || text[plain - HEX_TIME_SIZE - 1] != ':')
                return -EBADMSG;
        if (parse_hex_time(text + plain - HEX_TIME_SIZE, ret_time) < 0)
                return -EBADMSG;
        if (base64_decode(text + plain + 2, SIGNATURE_TEXT_SIZE, &sig, &sig_size) < 0)
                return -EBADMSG;
        if (sig_size != ED25519_SIGNATURE_SIZE) {
                free(sig);
                return -EBADMSG;
        }
        *ret_sig = sig;
        return (int) plain;
}

int ticket_sign(EVP_PKEY *key, const char *userid, uint64_t now, char **ret)
{
        _cleanup_free_ char *plain = NULL, *sig = NULL;
        int r;

        if (!ticket_userid_is_valid(userid))
                return -EINVAL;
        if (now > UINT32_MAX)
                return -ERANGE;
        plain = xasprintf(TICKET_PREFIX "%s:%08" PRIX32, userid, (uint32_t) now);
        r = sign_text(key, plain, &sig);
        if (r < 0)
                return r;
        *ret = xasprintf("%s::%s", plain, sig);
        return 0;
}

/*
 * Checks a ticket's shape and signature, not its age: the index of the first
 * key that verifies it, its time and its userid.
 */
static int ticket_check(EVP_PKEY *const *keys, size_t n_keys, const char *text, size_t *ret_index,
        uint32_t *ret_time, char **ret_userid)
{
        _cleanup_free_ char *sig = NULL, *plain = NULL;
        const char *userid;
        size_t userid_size;
        uint32_t t;
        int n;

        if (!startswith(text, TICKET_PREFIX))
                return -EBADMSG;
        n = split_signed(text, strlen(TICKET_PREFIX) + 3 + 1 + HEX_TIME_SIZE,
                strlen(TICKET_PREFIX) + TICKET_USERID_MAX + 1 + HEX_TIME_SIZE, &t, &sig);
        if (n < 0)
                return n;
        userid = text + strlen(TICKET_PREFIX);
        userid_size = (size_t) n - strlen(TICKET_PREFIX) - 1 - HEX_TIME_SIZE;
        if (!userid_is_valid_n(userid, userid_size))
                return -EBADMSG;

        plain = xstrndup(text, (size_t) n);
        for (size_t i = 0; i < n_keys; i++)
                if (signature_verifies(keys[i], plain, (unsigned char *) sig, ED25519_SIGNATURE_SIZE)) {
                        *ret_index = i;
                        *ret_time = t;
                        *ret_userid = xstrndup(userid, userid_size);
                        return 0;
                }
        return -EKEYREJECTED;
}

int ticket_verify(EVP_PKEY *const *keys, size_t n_keys, const char *text, uint64_t now, char **ret_userid,
        int64_t *ret_age)
{
        _cleanup_free_ char *userid = NULL;
        size_t index;
        uint32_t t;
        int r;

        r = ticket_check(keys, n_keys, text, &index, &t, &userid);
        if (r < 0)
                return r;
        r = check_age(t, now, -TICKET_GRACE_PERIOD, TICKET_LIFETIME, ret_age);
        if (r < 0)
                return r;
        if (ret_userid)
                *ret_userid = TAKE_PTR(userid);
        return 0;
}

/* Proxmox's normalize_path(): NULL unless the result is of [A-Za-z0-9._/-]. */
static char *normalize_path(const char *path)
{
        _cleanup_free_ char *p = NULL;
        size_t n = 0;

        if (isempty(path))
                return NULL;
        p = xmalloc(strlen(path) + 2);
        if (path[0] != '/')
                p[n++] = '/';
        for (const char *s = path; *s; s++) {
                if (*s == '/' && n > 0 && p[n - 1] == '/')
                        continue;
                if (!is_realm_char(*s) && *s != '/')
                        return NULL;
                p[n++] = *s;
        }
        if (n > 1 && p[n - 1] == '/')
                n--;
        p[n] = 0;
        return TAKE_PTR(p);
}

static char *tunnel_signed_data(uint32_t t, const char *userid, const char *path)
{
        return xasprintf(TUNNEL_PREFIX "%08" PRIX32 ":%s:%s", t, userid, path);
}

int ticket_tunnel_sign(EVP_PKEY *key, const char *userid, const char *path, uint64_t now, char **ret)
{
        _cleanup_free_ char *normalized = NULL, *data = NULL, *sig = NULL;
        int r;

        if (!ticket_userid_is_valid(userid))
                return -EINVAL;
        normalized = normalize_path(path);
        if (!normalized)
                return -EINVAL;
        if (now > UINT32_MAX)
                return -ERANGE;
        data = tunnel_signed_data((uint32_t) now, userid, normalized);
        r = sign_text(key, data, &sig);
        if (r < 0)
                return r;
        *ret = xasprintf(TUNNEL_PREFIX "%08" PRIX32 "::%s", (uint32_t) now, sig);
        return 0;
}

int ticket_tunnel_verify(EVP_PKEY *key, const char *text, const char *userid, const char *path, uint64_t now)
{
        _cleanup_free_ char *normalized = NULL, *data = NULL, *sig = NULL;
        uint32_t t;
        int n;

        if (!ticket_userid_is_valid(userid))
                return -EINVAL;
        normalized = normalize_path(path);
        if (!normalized)
                return -EINVAL;
        if (!startswith(text, TUNNEL_PREFIX))
                return -EBADMSG;
        n = split_signed(text, strlen(TUNNEL_PREFIX) + HEX_TIME_SIZE, strlen(TUNNEL_PREFIX) + HEX_TIME_SIZE,
                &t, &sig);
        if (n < 0)
                return n;
        data = tunnel_signed_data(t, userid, normalized);
        if (!signature_verifies(key, data, (unsigned char *) sig, ED25519_SIGNATURE_SIZE))
                return -EKEYREJECTED;
        return check_age(t, now, TICKET_TUNNEL_MIN_AGE, TICKET_TUNNEL_MAX_AGE, NULL);
}

/* The unpadded base64 HMAC-SHA256 of "<hex time>:<userid>". */
static int csrf_signature(const void *secret, size_t secret_size, const char *userid, uint32_t t, char **ret)
{
        _cleanup_free_ char *data = NULL;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_size = 0;
        char *sig;

        if (secret_size == 0 || secret_size > INT32_MAX)
                return -EINVAL;
        data = xasprintf("%08" PRIX32 ":%s", t, userid);
        if (!HMAC(EVP_sha256(), secret, (int) secret_size, (const unsigned char *) data, strlen(data), md,
                    &md_size))
                return -EIO;
        sig = base64_encode(md, md_size);
        sig[CSRF_SIGNATURE_TEXT_SIZE] = 0;
        *ret = sig;
        return 0;
}

int ticket_csrf_make(const void *secret, size_t secret_size, const char *userid, uint64_t now, char **ret)
{
        _cleanup_free_ char *sig = NULL;
        int r;

        if (!userid)
                return -EINVAL;
        if (now > UINT32_MAX)
                return -ERANGE;
        r = csrf_signature(secret, secret_size, userid, (uint32_t) now, &sig);
        if (r < 0)
                return r;
        *ret = xasprintf("%08" PRIX32 ":%s", (uint32_t) now, sig);
        return 0;
}

int ticket_csrf_verify(
        const void *secret, size_t secret_size, const char *userid, const char *token, uint64_t now)
{
        _cleanup_free_ char *sig = NULL;
        uint32_t t;
        int r;

        if (!userid)
                return -EINVAL;
        if (strlen(token) != HEX_TIME_SIZE + 1 + CSRF_SIGNATURE_TEXT_SIZE || token[HEX_TIME_SIZE] != ':' ||
                parse_hex_time(token, &t) < 0)
                return -EBADMSG;
        r = csrf_signature(secret, secret_size, userid, t, &sig);
        if (r < 0)
                return r;
        if (CRYPTO_memcmp(sig, token + HEX_TIME_SIZE + 1, CSRF_SIGNATURE_TEXT_SIZE) != 0)
                return -EKEYREJECTED;
        return check_age(t, now, -TICKET_GRACE_PERIOD, TICKET_LIFETIME, NULL);
}

TicketKeyRing *ticket_key_ring_free(TicketKeyRing *ring)
{
        if (!ring)
                return NULL;
        EVP_PKEY_free(ring->current);
        EVP_PKEY_free(ring->previous);
        free(ring);
        return NULL;
}

int ticket_key_ring_new(uint64_t now, TicketKeyRing **ret)
{
        _cleanup_(ticket_key_ring_freep) TicketKeyRing *ring = new0(TicketKeyRing, 1);
        int r;

        if (now > UINT32_MAX)
                return -ERANGE;
        r = ticket_key_generate(&ring->current);
        if (r < 0)
                return r;
        ring->created = now;
        *ret = TAKE_PTR(ring);
        return 0;
}

int ticket_key_ring_rotate(TicketKeyRing *ring, uint64_t now)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL, *previous = NULL;
        int r;

        if (now > UINT32_MAX)
                return -ERANGE;
        r = ticket_key_generate(&key);
        if (r < 0)
                return r;
        r = key_public_copy(ring->current, &previous);
        if (r < 0)
                return r;
        EVP_PKEY_free(ring->previous);
        ring->previous = TAKE_PTR(previous);
        EVP_PKEY_free(ring->current);
        ring->current = TAKE_PTR(key);
        ring->created = now;
        return 0;
}

bool ticket_key_ring_needs_rotation(const TicketKeyRing *ring, uint64_t now)
{
        return now >= ring->created + TICKET_KEY_LIFETIME || ring->created > now + TICKET_GRACE_PERIOD;
}

char *ticket_key_ring_format(const TicketKeyRing *ring)
{
        _cleanup_(ticket_secret_freep) char *private = NULL;
        _cleanup_free_ char *previous = NULL;

        /* A ring always holds an Ed25519 key pair of its own making or parsing. */
        if (ticket_key_format_private(ring->current, &private) < 0)
                abort();
        if (!ring->previous)
                return xasprintf("created: %" PRIu64 "\nprivate: %s\n", ring->created, private);
        if (ticket_key_format_public(ring->previous, &previous) < 0)
                abort();
        return xasprintf(
                "created: %" PRIu64 "\nprivate: %s\nprevious: %s\n", ring->created, private, previous);
}

/* Reads "<key>: <value>\n" at *p into ret_value and moves *p past it. */
static int parse_line(const char **p, const char *key, char **ret_value)
{
        const char *value, *end;

        value = startswith(*p, key);
        if (!value || !(value = startswith(value, ": ")))
                return -EBADMSG;
        end = strchr(value, '\n');
        if (!end)
                return -EBADMSG;
        *ret_value = xstrndup(value, (size_t) (end - value));
        *p = end + 1;
        return 0;
}

static int parse_created(const char *s, uint64_t *ret)
{
        uint64_t v = 0;

        if (!*s || (s[0] == '0' && s[1]))
                return -EBADMSG;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (*s - '0');
                if (v > UINT32_MAX)
                        return -EBADMSG;
        }
        *ret = v;
        return 0;
}

int ticket_key_ring_parse(const char *text, TicketKeyRing **ret)
{
        _cleanup_(ticket_key_ring_freep) TicketKeyRing *ring = new0(TicketKeyRing, 1);
        _cleanup_(ticket_secret_freep) char *private = NULL;
        _cleanup_free_ char *created = NULL, *previous = NULL;
        const char *p = text;

        if (parse_line(&p, "created", &created) < 0 || parse_created(created, &ring->created) < 0)
                return -EBADMSG;
        if (parse_line(&p, "private", &private) < 0 || ticket_key_parse_private(private, &ring->current) < 0)
                return -EBADMSG;
        if (*p) {
                if (parse_line(&p, "previous", &previous) < 0 ||
                        ticket_key_parse_public(previous, &ring->previous) < 0 || *p)
                        return -EBADMSG;
        }
        *ret = TAKE_PTR(ring);
        return 0;
}

int ticket_key_ring_sign(const TicketKeyRing *ring, const char *userid, uint64_t now, char **ret)
{
        return ticket_sign(ring->current, userid, now, ret);
}

int ticket_key_ring_verify(
        const TicketKeyRing *ring, const char *text, uint64_t now, char **ret_userid, int64_t *ret_age)
{
        EVP_PKEY *keys[] = { ring->current, ring->previous };
        _cleanup_free_ char *userid = NULL;
        size_t index;
        uint32_t t;
        int r;

        r = ticket_check(keys, ring->previous ? 2 : 1, text, &index, &t, &userid);
        if (r < 0)
                return r;
        /* A key signs only while it is current: from its creation until the next rotation. */
        if (index == 0 && (int64_t) t <= (int64_t) ring->created - TICKET_GRACE_PERIOD)
                return -EKEYREJECTED;
        if (index == 1 && (int64_t) t >= (int64_t) ring->created + TICKET_GRACE_PERIOD)
                return -EKEYREJECTED;
        r = check_age(t, now, -TICKET_GRACE_PERIOD, TICKET_LIFETIME, ret_age);
        if (r < 0)
                return r;
        if (ret_userid)
                *ret_userid = TAKE_PTR(userid);
        return 0;
}
