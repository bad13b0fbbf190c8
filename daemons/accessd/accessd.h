/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <event2/event.h>
#include <systemd/sd-bus.h>

#include "access-secrets.h"
#include "access.h"
#include "acl.h"
#include "guest-config.h"
#include "login-delay.h"
#include "store.h"
#include "ticket.h"

#define ACCESS_KEYS_KEY "access/keys"
#define ACCESS_CSRF_KEY_KEY "access/csrf-key"
#define ACCESS_LOCK "access"
#define ACCESS_CSRF_KEY_SIZE 32
/* The PAM service of the pam realm, in <root>/etc/pam.d (or the system's, for root "/"). */
#define ACCESS_PAM_SERVICE "berth"

typedef struct Login Login;

typedef struct Manager {
        struct event_base *base;
        sd_bus *bus;
        Store *store;
        char *pam_confdir; /* NULL: the system's */
        Access *access;
        StoreWatch *watch; /* access/: the digest, the keys */

        char digest[GUEST_CONFIG_DIGEST_LEN + 1]; /* of access/user.cfg; "" while missing */
        TicketKeyRing *ring; /* NULL until read (or made) */
        uint8_t csrf_key[ACCESS_CSRF_KEY_SIZE];
        bool have_csrf_key;

        LoginDelay *login_delay;
        Login *delayed; /* failed logins whose answer waits */
        sd_bus_slot *slot;
} Manager;

int manager_new(struct event_base *base, sd_bus *bus, Store *store, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
int manager_bus_register(Manager *m);
void manager_bus_emit_digest(Manager *m);
/* Drops the logins whose answer still waits; their callers get no answer but the bus's at our exit. */
void manager_bus_free_logins(Manager *m);

/* The key ring and the CSRF key, read from the store, made there when missing, rotated when due. */
int manager_ensure_keys(Manager *m);

/*
 * The user a login name stands for: itself when user.cfg defines it, and for
 * the realms pve and berth, which are one, the other spelling when that is the
 * one defined. -ENOENT when neither is; -EINVAL when it is no userid.
 */
int manager_canonical_user(Manager *m, const char *username, char **ret);
/* Whether a defined user (or token, and its user) is enabled and not expired now. */
bool manager_user_may_log_in(Manager *m, const char *userid);
bool manager_token_is_valid(Manager *m, const char *tokenid);

/* A new ticket and CSRF token for userid. */
int manager_issue_ticket(Manager *m, const char *userid, char **ret_ticket, char **ret_csrf);
/* The user of a valid ticket whose user may still log in; with csrf, that token must be valid for it. */
int manager_verify_ticket(Manager *m, const char *ticket, const char *csrf, char **ret_user);
/* The token id of a valid "PVEAPIToken=<tokenid>=<secret>" header value. */
int manager_verify_token(Manager *m, const char *header, char **ret_tokenid);

/* A new API token secret (a random UUID) and the hash token.cfg keeps of it. */
int access_token_secret_new(char **ret_secret, char **ret_hash);

/* The secret files, read from the store; empty when missing. */
int manager_read_secrets(Manager *m, AccessSecretsType type, AccessSecrets **ret, uint64_t *ret_revision);

/*
 * A change of the access config: under the store lock, user.cfg (and the
 * secret files) read, the digest checked (empty digest: not checked, else
 * -ESTALE on a mismatch), edit applied, and what changed written in one
 * transaction fenced by the lock and the revisions read. The edit returns a
 * negative errno (and may set *ret_error) to change nothing.
 */
typedef struct AccessState {
        AclConfig *config;
        AccessSecrets *tokens;
        AccessSecrets *shadow;
        bool tokens_changed, shadow_changed;
} AccessState;
typedef int (*AccessEdit)(AccessState *s, const void *args, char **ret_error);
int manager_edit(Manager *m, const char *digest, AccessEdit edit, const void *args, char **ret_error);

/* Proxmox's "cap" of a login: per part ("vms", "storage", "access", "nodes", "dc"), the privileges on some path of it. */
typedef enum AccessCapPart {
        ACCESS_CAP_VMS,
        ACCESS_CAP_STORAGE,
        ACCESS_CAP_ACCESS,
        ACCESS_CAP_NODES,
        ACCESS_CAP_DC,
        _ACCESS_CAP_PART_MAX,
} AccessCapPart;
const char *access_cap_part_to_string(AccessCapPart p);
void access_capabilities(
        const AclConfig *c, const char *auth_id, time_t now, AclPrivSet ret[_ACCESS_CAP_PART_MAX]);
/* The paths GetPermissions reports when asked for all: those of the config, and Proxmox's fixed ones; sorted. */
char **access_permission_paths(const AclConfig *c);
