/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Proxmox-compatible authentication tickets, tunnel tickets and CSRF
 * prevention tokens (PVE::Ticket and PVE::AccessControl), signed with Ed25519
 * as proxmox-auth-api does, and the key ring they are signed with.
 *
 *   ticket   PVE:<userid>:<time>::<signature>
 *            signature: base64 (padded) Ed25519 over "PVE:<userid>:<time>"
 *   tunnel   PVETUNNEL:<time>::<signature>
 *            signature over "PVETUNNEL:<time>:<userid>:<normalized path>"
 *   CSRF     <time>:<signature>
 *            signature: base64 without padding of HMAC-SHA256 over "<time>:<userid>"
 *
 * <time> is the creation time in seconds since the epoch, 8 upper-case hex
 * digits. A ticket's age is now - <time>; like Proxmox, the bounds are
 * exclusive: a ticket or CSRF token is valid while -300 < age < 7200, a tunnel
 * ticket while -20 < age < 40.
 *
 * Errors, the same for every verify function:
 *   -EBADMSG       not of the shape above, or the userid in it is invalid
 *   -EKEYREJECTED  the signature does not verify with any of the keys, or
 *                  (key ring) the ticket was made outside its key's lifetime
 *   -EKEYEXPIRED   signed, but too old
 *   -ERANGE        signed, but from too far in the future (clock skew)
 * The signature is checked before the time, so only a holder of the key
 * learns anything from the difference between the last three.
 *
 * Nothing here logs, and no error carries text: keys and secrets never reach a
 * message. Strings marked secret below are to be freed with
 * ticket_secret_free(), which wipes them first.
 */

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define TICKET_LIFETIME 7200
#define TICKET_GRACE_PERIOD 300
#define TICKET_TUNNEL_MIN_AGE (-20)
#define TICKET_TUNNEL_MAX_AGE 40
#define TICKET_KEY_LIFETIME (24 * 3600)
/* Proxmox's limit on a userid's length. */
#define TICKET_USERID_MAX 64

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free);

/* Wipes and frees a secret string; NULL is fine. */
void ticket_secret_free(char *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, ticket_secret_free);

/*
 * Whether s is a user id as Proxmox's verify_username() takes it: 3-64 bytes,
 * "<name>@<realm>", the name without ASCII whitespace, ':' or '/', the realm a
 * letter and one or more of [A-Za-z0-9._-]. An API token id
 * ("user@realm!token") is not a user id. '%' is refused too: Proxmox
 * percent-decodes a ticket's data, so it would read such a name otherwise.
 */
bool ticket_userid_is_valid(const char *s);

/* A new Ed25519 key pair. */
int ticket_key_generate(EVP_PKEY **ret);
/*
 * The text form of a key: base64 of its 32 raw bytes. The private form is
 * secret; -EINVAL for a key without a private half. A key made from the
 * public form verifies only.
 */
int ticket_key_format_private(EVP_PKEY *key, char **ret);
int ticket_key_format_public(EVP_PKEY *key, char **ret);
/* -EBADMSG unless text is exactly such a form. */
int ticket_key_parse_private(const char *text, EVP_PKEY **ret);
int ticket_key_parse_public(const char *text, EVP_PKEY **ret);

/*
 * A ticket for userid made at now; -EINVAL for an invalid userid or a key that
 * cannot sign, -ERANGE for a now past 2106.
 */
int ticket_sign(EVP_PKEY *key, const char *userid, uint64_t now, char **ret);
/*
 * Verifies a ticket with any of the keys (public ones suffice), within the
 * ticket lifetime. Returns the userid and the age in seconds.
 */
int ticket_verify(EVP_PKEY *const *keys, size_t n_keys, const char *text, uint64_t now, char **ret_userid,
        int64_t *ret_age);

/*
 * A tunnel ticket: it does not name the user, it proves that the signer
 * granted userid access to path. The path is normalized as Proxmox does
 * (repeated and trailing '/' dropped, a leading '/' added) and must then be
 * of [A-Za-z0-9._/-]; -EINVAL otherwise.
 */
int ticket_tunnel_sign(EVP_PKEY *key, const char *userid, const char *path, uint64_t now, char **ret);
/*
 * -EINVAL for an invalid userid or path, otherwise the errors above. Proxmox
 * verifies tunnel tickets with the current key alone: they live for seconds,
 * so a rotation costs at most a retry.
 */
int ticket_tunnel_verify(EVP_PKEY *key, const char *text, const char *userid, const char *path, uint64_t now);

/*
 * A CSRF prevention token for userid, keyed with secret (not empty: -EINVAL).
 * Proxmox's legacy SHA-1 tokens are not taken.
 */
int ticket_csrf_make(const void *secret, size_t secret_size, const char *userid, uint64_t now, char **ret);
int ticket_csrf_verify(
        const void *secret, size_t secret_size, const char *userid, const char *token, uint64_t now);

/*
 * The signing keys of a cluster: the current key pair with its creation time,
 * and the public key it replaced, kept so that tickets signed before a
 * rotation stay valid for their lifetime.
 */
typedef struct TicketKeyRing {
        uint64_t created;
        EVP_PKEY *current;
        EVP_PKEY *previous; /* NULL before the first rotation */
} TicketKeyRing;

int ticket_key_ring_new(uint64_t now, TicketKeyRing **ret);
TicketKeyRing *ticket_key_ring_free(TicketKeyRing *ring);
DEFINE_TRIVIAL_CLEANUP_FUNC(TicketKeyRing *, ticket_key_ring_free);

/* A fresh current key made at now; the current one's public half becomes the previous one. */
int ticket_key_ring_rotate(TicketKeyRing *ring, uint64_t now);
/* Whether the current key is TICKET_KEY_LIFETIME old, or from the future beyond the grace period. */
bool ticket_key_ring_needs_rotation(const TicketKeyRing *ring, uint64_t now);

/*
 * The key ring's text form (a store value, secret), these lines in this order:
 *
 *   created: <decimal seconds since the epoch>
 *   private: <the current key's private form>
 *   previous: <the previous key's public form>     (only after a rotation)
 *
 * Parsing takes exactly that and nothing else (-EBADMSG), so parse and format
 * round-trip.
 */
char *ticket_key_ring_format(const TicketKeyRing *ring);
int ticket_key_ring_parse(const char *text, TicketKeyRing **ret);

int ticket_key_ring_sign(const TicketKeyRing *ring, const char *userid, uint64_t now, char **ret);
/*
 * ticket_verify() with the ring's keys, narrowed as Proxmox narrows them: a
 * ticket of the current key must not predate it, one of the previous key must
 * predate the rotation (each by at most the grace period); -EKEYREJECTED
 * otherwise.
 */
int ticket_key_ring_verify(
        const TicketKeyRing *ring, const char *text, uint64_t now, char **ret_userid, int64_t *ret_age);
