/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "accessd.h"
#include "acl-edit.h"
#include "alloc.h"
#include "base64.h"
#include "log.h"
#include "paths.h"

static void manager_read_digest(Manager *m)
{
        _cleanup_free_ char *text = NULL;
        char digest[sizeof m->digest] = "";
        int r;

        r = store_get(m->store, ACCESS_USER_CFG_KEY, &text, NULL, NULL);
        if (r >= 0)
                guest_config_digest(text, digest);
        else if (r != -ENOENT) {
                log_warning_errno(r, "Failed to read %s, ignoring: %m", ACCESS_USER_CFG_KEY);
                return;
        }
        if (streq(digest, m->digest))
                return;
        memcpy(m->digest, digest, sizeof digest);
        manager_bus_emit_digest(m);
}

static void on_access_changed(Store *s, StoreEventType type, const char *key, uint64_t revision, void *userdata)
{
        Manager *m = userdata;

        if (streq(key, ACCESS_USER_CFG_KEY))
                manager_read_digest(m);
        else if (streq(key, ACCESS_KEYS_KEY))
                /* Another node rotated the keys: read them at the next use. */
                m->ring = ticket_key_ring_free(m->ring);
}

int manager_new(struct event_base *base, sd_bus *bus, Store *store, Manager **ret)
{
        _cleanup_(manager_freep) Manager *m = new0(Manager, 1);
        _cleanup_free_ char *confdir = NULL;
        struct stat st;
        int r;

        m->base = base;
        m->bus = sd_bus_ref(bus);
        m->store = store;
        m->login_delay = login_delay_new();
        /* A root prefix with a PAM service of its own (dev stack, tests) uses it; "/" the system's. */
        if (!streq(paths_root(), "/")) {
                confdir = root_path("etc/pam.d");
                _cleanup_free_ char *service = root_path("etc/pam.d/%s", ACCESS_PAM_SERVICE);
                if (stat(service, &st) >= 0)
                        m->pam_confdir = TAKE_PTR(confdir);
        }
        r = access_new(store, &m->access);
        if (r < 0)
                return log_error_errno(r, "Failed to read the access config: %m");
        r = store_watch(store, "access/", on_access_changed, m, &m->watch);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the access config: %m");
        manager_read_digest(m);
        r = manager_ensure_keys(m);
        if (r < 0)
                log_warning_errno(r, "Failed to read the ticket keys, trying again at the first login: %m");
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        manager_bus_free_logins(m);
        sd_bus_slot_unref(m->slot);
        store_watch_free(m->watch);
        access_free(m->access);
        ticket_key_ring_free(m->ring);
        explicit_bzero(m->csrf_key, sizeof m->csrf_key);
        login_delay_free(m->login_delay);
        sd_bus_unref(m->bus);
        free(m->pam_confdir);
        free(m);
        return NULL;
}

static uint64_t now_sec(void)
{
        return (uint64_t) time(NULL);
}

/* Reads the key ring; makes the first one (-EEXIST: another node was faster) or rotates one that is due. */
static int load_key_ring(Manager *m)
{
        _cleanup_(ticket_key_ring_freep) TicketKeyRing *ring = NULL;
        _cleanup_(store_unlockp) StoreLock *lock = NULL;
        _cleanup_(ticket_secret_freep) char *text = NULL;
        uint64_t revision = 0;
        int r;

        r = store_get(m->store, ACCESS_KEYS_KEY, &text, NULL, &revision);
        if (r >= 0) {
                r = ticket_key_ring_parse(text, &ring);
                if (r < 0)
                        return log_error_errno(r, "%s does not parse: %m", ACCESS_KEYS_KEY);
                if (!ticket_key_ring_needs_rotation(ring, now_sec())) {
                        m->ring = TAKE_PTR(ring);
                        return 0;
                }
        } else if (r != -ENOENT)
                return r;

        /* A new key, made once for the cluster: under the lock, and fenced by the revision read. */
        r = store_lock(m->store, ACCESS_LOCK, true, &lock);
        if (r < 0)
                return r;
        if (ring)
                r = ticket_key_ring_rotate(ring, now_sec());
        else
                r = ticket_key_ring_new(now_sec(), &ring);
        if (r < 0)
                return r;
        ticket_secret_free(TAKE_PTR(text));
        text = ticket_key_ring_format(ring);
        r = store_txn(m->store,
                (const StoreCompare[]){ { .key = ACCESS_KEYS_KEY, .revision = revision }, { .lock = lock } },
                2,
                &(const StoreTxnOp){
                        .type = STORE_TXN_PUT, .key = ACCESS_KEYS_KEY, .value = text, .size = strlen(text) },
                1, NULL);
        if (r == -ESTALE)
                return -EEXIST;
        if (r < 0)
                return r;
        log_info(revision ? "Rotated the ticket signing key." : "Made the ticket signing key.");
        m->ring = TAKE_PTR(ring);
        return 0;
}

static int load_csrf_key(Manager *m)
{
        _cleanup_(ticket_secret_freep) char *text = NULL, *key = NULL;
        uint8_t fresh[ACCESS_CSRF_KEY_SIZE];
        size_t size;
        int r;

        r = store_get(m->store, ACCESS_CSRF_KEY_KEY, &text, NULL, NULL);
        if (r == -ENOENT) {
                if (RAND_bytes(fresh, sizeof fresh) != 1)
                        return -EIO;
                text = base64_encode(fresh, sizeof fresh);
                explicit_bzero(fresh, sizeof fresh);
                r = store_put(m->store, ACCESS_CSRF_KEY_KEY, text, strlen(text), 0, NULL);
                if (r == -ESTALE)
                        return -EEXIST;
        }
        if (r < 0)
                return r;
        r = base64_decode(text, strlen(text), &key, &size);
        if (r < 0 || size != sizeof m->csrf_key)
                return log_error_errno(EBADMSG, "%s is not a key", ACCESS_CSRF_KEY_KEY);
        memcpy(m->csrf_key, key, sizeof m->csrf_key);
        explicit_bzero(key, size);
        m->have_csrf_key = true;
        return 0;
}

int manager_ensure_keys(Manager *m)
{
        int r;

        if (m->ring && ticket_key_ring_needs_rotation(m->ring, now_sec()))
                m->ring = ticket_key_ring_free(m->ring);
        /* Lost a race to another node: what it wrote is there to read. */
        for (unsigned i = 0; !m->ring && i < 2; i++) {
                r = load_key_ring(m);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        for (unsigned i = 0; !m->have_csrf_key && i < 2; i++) {
                r = load_csrf_key(m);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        return m->ring && m->have_csrf_key ? 0 : -EAGAIN;
}

int manager_canonical_user(Manager *m, const char *username, char **ret)
{
        const AclConfig *c = access_config(m->access);
        const char *realm;

        if (!acl_userid_is_valid(username))
                return -EINVAL;
        if (acl_find_user(c, username) || streq(username, ACCESS_ROOT)) {
                *ret = xstrdup(username);
                return 0;
        }
        realm = strrchr(username, '@') + 1;
        if (!streq(realm, "pve") && !streq(realm, "berth"))
                return -ENOENT;
        _cleanup_free_ char *other = xasprintf(
                "%.*s@%s", (int) (realm - 1 - username), username, streq(realm, "pve") ? "berth" : "pve");
        if (!acl_find_user(c, other))
                return -ENOENT;
        *ret = TAKE_PTR(other);
        return 0;
}

static bool expired(int64_t expire)
{
        return expire > 0 && expire < (int64_t) time(NULL);
}

bool manager_user_may_log_in(Manager *m, const char *userid)
{
        if (streq(userid, ACCESS_ROOT))
                return true;
        const AclUser *u = acl_find_user(access_config(m->access), userid);
        return u && u->enable && !expired(u->expire);
}

bool manager_token_is_valid(Manager *m, const char *tokenid)
{
        const AclToken *t = acl_find_token(access_config(m->access), tokenid);
        _cleanup_free_ char *userid = NULL;

        if (!t || expired(t->expire))
                return false;
        userid = xstrndup(tokenid, (size_t) (strrchr(tokenid, '!') - tokenid));
        return manager_user_may_log_in(m, userid);
}

int manager_issue_ticket(Manager *m, const char *userid, char **ret_ticket, char **ret_csrf)
{
        _cleanup_free_ char *ticket = NULL, *csrf = NULL;
        int r;

        r = manager_ensure_keys(m);
        if (r < 0)
                return r;
        r = ticket_key_ring_sign(m->ring, userid, now_sec(), &ticket);
        if (r < 0)
                return r;
        r = ticket_csrf_make(m->csrf_key, sizeof m->csrf_key, userid, now_sec(), &csrf);
        if (r < 0)
                return r;
        *ret_ticket = TAKE_PTR(ticket);
        *ret_csrf = TAKE_PTR(csrf);
        return 0;
}

int manager_verify_ticket(Manager *m, const char *ticket, const char *csrf, char **ret_user)
{
        _cleanup_free_ char *user = NULL;
        int r;

        r = manager_ensure_keys(m);
        if (r < 0)
                return r;
        r = ticket_key_ring_verify(m->ring, ticket, now_sec(), &user, NULL);
        if (r < 0)
                return -EACCES;
        if (!manager_user_may_log_in(m, user))
                return -EACCES;
        if (csrf && ticket_csrf_verify(m->csrf_key, sizeof m->csrf_key, user, csrf, now_sec()) < 0)
                return -EACCES;
        *ret_user = TAKE_PTR(user);
        return 0;
}

int manager_read_secrets(Manager *m, AccessSecretsType type, AccessSecrets **ret, uint64_t *ret_revision)
{
        const char *key = type == ACCESS_SECRETS_TOKEN ? ACCESS_TOKEN_CFG_KEY : ACCESS_SHADOW_CFG_KEY;
        _cleanup_(ticket_secret_freep) char *text = NULL;
        _cleanup_free_ char *error = NULL;
        uint64_t revision = 0;
        int r;

        r = store_get(m->store, key, &text, NULL, &revision);
        if (r == -ENOENT) {
                *ret = access_secrets_new(type);
                if (ret_revision)
                        *ret_revision = 0;
                return 0;
        }
        if (r < 0)
                return r;
        r = access_secrets_parse(type, text, ret, &error);
        if (r < 0)
                return log_error_errno(r, "%s does not parse: %s", key, error);
        if (ret_revision)
                *ret_revision = revision;
        return 0;
}

/* The hex SHA-256 of a token's secret, as token.cfg keeps it. */
static void token_secret_hash(const char *secret, char ret[65])
{
        guest_config_digest(secret, ret);
}

int manager_verify_token(Manager *m, const char *header, char **ret_tokenid)
{
        _cleanup_(access_secrets_freep) AccessSecrets *tokens = NULL;
        _cleanup_free_ char *tokenid = NULL;
        const char *value = startswith(header, "PVEAPIToken="), *secret, *stored;
        char hash[65];
        int r;

        if (!value || !(secret = strchr(value, '=')))
                return -EACCES;
        tokenid = xstrndup(value, (size_t) (secret - value));
        secret++;
        if (!acl_tokenid_is_valid(tokenid) || !manager_token_is_valid(m, tokenid))
                return -EACCES;
        r = manager_read_secrets(m, ACCESS_SECRETS_TOKEN, &tokens, NULL);
        if (r < 0)
                return r;
        stored = access_secrets_get(tokens, tokenid);
        token_secret_hash(secret, hash);
        r = stored && strlen(stored) == 64 && CRYPTO_memcmp(stored, hash, 64) == 0 ? 0 : -EACCES;
        explicit_bzero(hash, sizeof hash);
        if (r < 0)
                return r;
        *ret_tokenid = TAKE_PTR(tokenid);
        return 0;
}

int access_token_secret_new(char **ret_secret, char **ret_hash)
{
        uint8_t b[16];
        char hash[65];

        if (RAND_bytes(b, sizeof b) != 1)
                return -EIO;
        /* A random (version 4) UUID, as Proxmox makes a token's secret. */
        b[6] = (uint8_t) ((b[6] & 0x0f) | 0x40);
        b[8] = (uint8_t) ((b[8] & 0x3f) | 0x80);
        _cleanup_(ticket_secret_freep) char *secret = xasprintf(
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        explicit_bzero(b, sizeof b);
        token_secret_hash(secret, hash);
        *ret_hash = xstrdup(hash);
        explicit_bzero(hash, sizeof hash);
        *ret_secret = TAKE_PTR(secret);
        return 0;
}

static void access_state_done(AccessState *s)
{
        acl_config_free(s->config);
        access_secrets_free(s->tokens);
        access_secrets_free(s->shadow);
}

int manager_edit(Manager *m, const char *digest, AccessEdit edit, const void *args, char **ret_error)
{
        _cleanup_(access_state_done) AccessState s = {};
        _cleanup_(store_unlockp) StoreLock *lock = NULL;
        _cleanup_free_ char *text = NULL, *config = NULL, *parse_error = NULL;
        _cleanup_(ticket_secret_freep) char *tokens = NULL, *shadow = NULL;
        uint64_t revision = 0, tokens_revision, shadow_revision;
        char current[GUEST_CONFIG_DIGEST_LEN + 1] = "";
        StoreTxnOp ops[3];
        size_t n_ops = 0;
        int r;

        r = store_lock(m->store, ACCESS_LOCK, true, &lock);
        if (r < 0)
                return r;
        r = store_get(m->store, ACCESS_USER_CFG_KEY, &text, NULL, &revision);
        if (r < 0 && r != -ENOENT)
                return r;
        if (text)
                guest_config_digest(text, current);
        if (!isempty(digest) && !streq(digest, current))
                return -ESTALE;
        r = acl_config_parse(strempty(text), &s.config, &parse_error);
        if (r < 0) {
                if (ret_error)
                        *ret_error = xasprintf("%s does not parse: %s", ACCESS_USER_CFG_KEY, parse_error);
                return -EBADMSG;
        }
        r = manager_read_secrets(m, ACCESS_SECRETS_TOKEN, &s.tokens, &tokens_revision);
        if (r >= 0)
                r = manager_read_secrets(m, ACCESS_SECRETS_SHADOW, &s.shadow, &shadow_revision);
        if (r < 0)
                return r;

        r = edit(&s, args, ret_error);
        if (r < 0)
                return r;

        config = acl_config_format(s.config);
        if (!streq(config, strempty(text)))
                ops[n_ops++] = (StoreTxnOp){ .type = STORE_TXN_PUT,
                        .key = ACCESS_USER_CFG_KEY,
                        .value = config,
                        .size = strlen(config) };
        if (s.tokens_changed) {
                tokens = access_secrets_format(s.tokens);
                ops[n_ops++] = (StoreTxnOp){ .type = STORE_TXN_PUT,
                        .key = ACCESS_TOKEN_CFG_KEY,
                        .value = tokens,
                        .size = strlen(tokens) };
        }
        if (s.shadow_changed) {
                shadow = access_secrets_format(s.shadow);
                ops[n_ops++] = (StoreTxnOp){ .type = STORE_TXN_PUT,
                        .key = ACCESS_SHADOW_CFG_KEY,
                        .value = shadow,
                        .size = strlen(shadow) };
        }
        if (n_ops == 0)
                return 0;
        /* Under the lock the revisions cannot move: a mismatch means a writer that ignores the lock. */
        const StoreCompare compares[] = {
                { .lock = lock },
                { .key = ACCESS_USER_CFG_KEY, .revision = revision },
                { .key = ACCESS_TOKEN_CFG_KEY, .revision = tokens_revision },
                { .key = ACCESS_SHADOW_CFG_KEY, .revision = shadow_revision },
        };
        return store_txn(m->store, compares, ELEMENTSOF(compares), ops, n_ops, NULL);
}
