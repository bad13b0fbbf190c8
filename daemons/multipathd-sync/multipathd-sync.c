/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <sys/socket.h>

#include "alloc.h"
#include "block-uevent.h"
#include "fileio.h"
#include "log.h"
#include "multipath-render.h"
#include "multipath-validate.h"
#include "multipath-wwids.h"
#include "multipathd-sync.h"
#include "paths.h"
#include "spawn.h"

#define CONFD "etc/multipath/conf.d"
#define WWIDS_FILE "etc/multipath/wwids"
/* The WWIDs berth listed in the wwids file itself, one a line (multipath-wwids.h). */
#define WWIDS_ADDED_FILE "var/lib/berth/multipath/wwids-added"

void multipath_state_done(MultipathState *s)
{
        free(s->config_text);
        multipath_config_free(s->config);
        free(s->overrides);
        *s = (MultipathState){};
}

static void multipath_state_donep(MultipathState *s)
{
        multipath_state_done(s);
}

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* A key's text and revision; a missing key reads as "" at revision 0. */
static int read_key(Store *store, const char *key, char **ret_text, uint64_t *ret_revision)
{
        char *text = NULL;
        uint64_t revision = 0;
        int r;

        r = store_get(store, key, &text, NULL, &revision);
        if (r == -ENOENT)
                text = xstrdup("");
        else if (r < 0)
                return r;
        *ret_text = text;
        *ret_revision = revision;
        return 0;
}

/* Reads both texts, without parsing. */
static int state_read(Manager *m, MultipathState *ret)
{
        _cleanup_(multipath_state_donep) MultipathState s = {};
        char a[MULTIPATH_CONFIG_DIGEST_LEN + 1], b[MULTIPATH_CONFIG_DIGEST_LEN + 1];
        int r;

        r = read_key(m->store, MULTIPATH_CONFIG_KEY, &s.config_text, &s.config_revision);
        if (r < 0)
                return r;
        r = read_key(m->store, MULTIPATH_OVERRIDES_KEY, &s.overrides, &s.overrides_revision);
        if (r < 0)
                return r;
        /* One digest for both keys: the one GetConfig hands out guards every write. */
        multipath_config_digest(s.config_text, a);
        multipath_config_digest(s.overrides, b);
        _cleanup_free_ char *both = xasprintf("%s%s", a, b);
        multipath_config_digest(both, s.digest);
        *ret = s;
        s = (MultipathState){};
        return 0;
}

static int state_parse(MultipathState *s, char **ret_error)
{
        _cleanup_free_ char *error = NULL;
        int r;

        r = multipath_config_parse(s->config_text, &s->config, &error);
        if (r < 0 && ret_error)
                *ret_error = xasprintf("%s in the store is invalid: %s", MULTIPATH_CONFIG_KEY, error);
        return r;
}

int manager_load_state(Manager *m, MultipathState *ret, char **ret_error)
{
        _cleanup_(multipath_state_donep) MultipathState s = {};
        int r;

        r = state_read(m, &s);
        if (r < 0)
                return r;
        r = state_parse(&s, ret_error);
        if (r < 0)
                return r;
        *ret = s;
        s = (MultipathState){};
        return 0;
}

/* Writes text to key unless it is already there; revision is the key's, 0 when it does not exist. */
static int write_key(Manager *m, const char *key, const char *old, const char *text, uint64_t revision)
{
        if (streq(old, text))
                return 0;
        return store_put(m->store, key, text, strlen(text), revision, NULL);
}

/* An edit of the state; a negative errno (with a message) refuses it. */
typedef int (*MultipathEdit)(Manager *m, MultipathState *s, const void *args, char **ret_error);

static int manager_edit(Manager *m, const char *digest, MultipathEdit edit, const void *args, char **ret_error)
{
        _cleanup_(multipath_state_donep) MultipathState s = {};
        _cleanup_(store_unlockp) StoreLock *lock = NULL;
        _cleanup_free_ char *overrides = NULL, *text = NULL;
        int r;

        r = store_lock(m->store, MULTIPATH_LOCK, true, &lock);
        if (r < 0)
                return r;
        r = manager_load_state(m, &s, ret_error);
        if (r < 0)
                return r;
        if (!isempty(digest) && !streq(digest, s.digest))
                return -ESTALE;
        overrides = xstrdup(s.overrides);
        r = edit(m, &s, args, ret_error);
        if (r < 0)
                return r;

        /* Under the lock the revisions cannot move: a mismatch means a writer that ignores the lock. */
        text = multipath_config_format(s.config);
        r = write_key(m, MULTIPATH_CONFIG_KEY, s.config_text, text, s.config_revision);
        if (r < 0)
                return r;
        return write_key(m, MULTIPATH_OVERRIDES_KEY, overrides, s.overrides, s.overrides_revision);
}

/* The arguments of every edit; each uses some. */
typedef struct EditArgs {
        const char *wwid;
        const char *alias;
        const char *overrides;
        char *const *set;
        char *const *delete;
        bool force;
} EditArgs;

static int edit_set_overrides(Manager *m, MultipathState *s, const void *args, char **ret_error)
{
        const EditArgs *a = args;
        _cleanup_free_ char *config = NULL, *dropin = NULL, *error = NULL;
        int r;

        r = multipath_overrides_check(a->overrides, ret_error);
        if (r < 0)
                return r;
        /* Keywords and values only multipath itself knows: refused here rather than on every node. */
        config = multipath_render_config(s->config);
        dropin = multipath_render_overrides(a->overrides);
        r = multipath_validate(m->validate_helper, config, dropin, &error);
        if (r == -EBADMSG) {
                if (ret_error)
                        *ret_error = xasprintf("multipath rejected the overrides: %s", error);
                return r;
        }
        if (r < 0)
                log_warning("Cannot check the new overrides with multipath, each node will: %s",
                        error ?: strerror(-r));
        free(s->overrides);
        s->overrides = xstrdup(dropin ? a->overrides : "");
        return 0;
}

int manager_set_overrides(Manager *m, const char *overrides, const char *digest, char **ret_error)
{
        return manager_edit(m, digest, edit_set_overrides, &(EditArgs){ .overrides = overrides }, ret_error);
}

static int edit_set_defaults(Manager *m, MultipathState *s, const void *args, char **ret_error)
{
        const EditArgs *a = args;
        return multipath_config_set_defaults(s->config, a->set, a->delete, ret_error);
}

int manager_set_defaults(
        Manager *m, char *const *set, char *const *delete, const char *digest, char **ret_error)
{
        return manager_edit(
                m, digest, edit_set_defaults, &(EditArgs){ .set = set, .delete = delete }, ret_error);
}

static int edit_add_wwid(Manager *m, MultipathState *s, const void *args, char **ret_error)
{
        return multipath_config_add_wwid(s->config, ((const EditArgs *) args)->wwid, ret_error);
}

int manager_add_wwid(Manager *m, const char *wwid, char **ret_error)
{
        return manager_edit(m, NULL, edit_add_wwid, &(EditArgs){ .wwid = wwid }, ret_error);
}

static int edit_update_wwid(Manager *m, MultipathState *s, const void *args, char **ret_error)
{
        const EditArgs *a = args;
        return multipath_config_update_wwid(s->config, a->wwid, a->set, a->delete, ret_error);
}

int manager_update_wwid(Manager *m, const char *wwid, char *const *set, char *const *delete,
        const char *digest, char **ret_error)
{
        return manager_edit(m, digest, edit_update_wwid,
                &(EditArgs){ .wwid = wwid, .set = set, .delete = delete }, ret_error);
}

static int edit_remove_wwid(Manager *m, MultipathState *s, const void *args, char **ret_error)
{
        const EditArgs *a = args;
        _cleanup_(storage_config_freep) StorageConfig *storage = NULL;
        _cleanup_strv_free_ char **consumers = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        r = multipath_config_remove_wwid(s->config, a->wwid, ret_error);
        if (r < 0 || a->force)
                return r;
        r = manager_load_storage(m, &storage, &error);
        if (r < 0) {
                if (ret_error)
                        *ret_error = xasprintf(
                                "cannot tell whether a storage uses wwid '%s' (force to remove it "
                                "anyway): %s",
                                a->wwid, strempty(error));
                return r;
        }
        consumers = multipath_wwid_consumers(storage, a->wwid);
        if (!consumers)
                return 0;
        if (ret_error) {
                _cleanup_free_ char *list = xstrdup("");
                STRV_FOREACH (c, consumers) {
                        char *old = list;
                        list = xasprintf("%s%s%s", old, c == consumers ? "" : ", ", *c);
                        free(old);
                }
                *ret_error = xasprintf(
                        "wwid '%s' is in use by storage %s (force to remove it anyway)", a->wwid, list);
        }
        return -EBUSY;
}

int manager_remove_wwid(Manager *m, const char *wwid, bool force, char **ret_error)
{
        return manager_edit(m, NULL, edit_remove_wwid, &(EditArgs){ .wwid = wwid, .force = force }, ret_error);
}

static int edit_set_alias(Manager *m, MultipathState *s, const void *args, char **ret_error)
{
        const EditArgs *a = args;
        return multipath_config_set_alias(s->config, a->wwid, a->alias, ret_error);
}

int manager_set_alias(Manager *m, const char *wwid, const char *alias, char **ret_error)
{
        return manager_edit(m, NULL, edit_set_alias, &(EditArgs){ .wwid = wwid, .alias = alias }, ret_error);
}

static int edit_remove_alias(Manager *m, MultipathState *s, const void *args, char **ret_error)
{
        return multipath_config_remove_alias(s->config, ((const EditArgs *) args)->wwid, ret_error);
}

int manager_remove_alias(Manager *m, const char *wwid, char **ret_error)
{
        return manager_edit(m, NULL, edit_remove_alias, &(EditArgs){ .wwid = wwid }, ret_error);
}

int manager_load_storage(Manager *m, StorageConfig **ret, char **ret_error)
{
        _cleanup_free_ char *text = NULL, *error = NULL;
        int r;

        r = store_get(m->store, "storage.cfg", &text, NULL, NULL);
        if (r == -ENOENT) {
                *ret = storage_config_default();
                return 0;
        }
        if (r < 0)
                return r;
        r = storage_config_parse(text, ret, &error);
        if (r < 0 && ret_error)
                *ret_error = xasprintf("storage.cfg in the store is invalid: %s", error);
        return r;
}

/* Runs argv to completion with its output in ret_output; its exit status, or a negative errno. */
static int run_capture(char *const argv[], char **ret_output)
{
        const char *tmp = getenv("TMPDIR");
        _cleanup_free_ char *path = xasprintf("%s/berth-multipathd-XXXXXX", isempty(tmp) ? "/tmp" : tmp);
        char *output = NULL;
        int fd, status;

        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        safe_close(fd);
        SpawnOptions o = { .log_path = path };
        status = spawn_and_wait(argv, &o);
        if (status >= 0 && read_full_file(path, &output, NULL) < 0)
                output = xstrdup("");
        (void) unlink(path);
        if (status < 0)
                return status;
        *ret_output = output;
        return status;
}

static char *describe_failure(const char *what, int status, char *output)
{
        size_t n = strlen(strempty(output));

        while (n > 0 && output[n - 1] == '\n')
                output[--n] = 0;
        return n > 0 ? xasprintf("%s failed: %s", what, output)
                     : xasprintf("%s failed with exit status %d", what, status);
}

static int multipathd_reconfigure(Manager *m, char **ret_error)
{
        _cleanup_free_ char *output = NULL;
        int status;

        if (!m->multipathd)
                return 0;
        status = run_capture((char *const[]){ m->multipathd, (char *) "reconfigure", NULL }, &output);
        if (status < 0) {
                *ret_error = xasprintf("cannot run %s: %s", m->multipathd, strerror(-status));
                return status;
        }
        if (status != 0) {
                *ret_error = describe_failure("multipathd reconfigure", status, output);
                return -EIO;
        }
        return 0;
}

/* Reads a file of one WWID a line; a missing file is an empty list. */
static int read_lines(const char *path, char ***ret)
{
        _cleanup_free_ char *text = NULL;
        char **l = NULL;
        int r;

        r = read_full_file(path, &text, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        for (const char *p = text; p && *p;) {
                size_t n = strcspn(p, "\n");
                if (n > 0) {
                        _cleanup_free_ char *line = xstrndup(p, n);
                        strv_push(&l, line);
                }
                p += n + (p[n] ? 1 : 0);
        }
        *ret = l;
        return 0;
}

static int write_lines(const char *path, char *const *lines)
{
        _cleanup_free_ char *text = NULL, *dir = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        if (!lines)
                return unlink_if_exists(path);
        /* A memory stream fails only when memory does: the OOM policy applies. */
        f = open_memstream(&text, &size);
        if (!f)
                abort();
        STRV_FOREACH (l, lines)
                fprintf(f, "%s\n", *l);
        if (fclose(f) != 0)
                abort();
        dir = xstrndup(path, (size_t) (strrchr(path, '/') - path));
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        return write_string_file_atomic(path, text, 0644);
}

static int update_wwids(const MultipathConfig *c)
{
        _cleanup_free_ char *path = root_path(WWIDS_FILE), *added_path = root_path(WWIDS_ADDED_FILE),
                            *dir = root_path("etc/multipath"), *file = NULL, *text = NULL;
        _cleanup_strv_free_ char **added = NULL, **wanted = NULL, **new_added = NULL;
        int r;

        r = read_full_file(path, &file, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        r = read_lines(added_path, &added);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_luns; i++)
                strv_push(&wanted, c->luns[i]->wwid);
        text = multipath_wwids_update(file, added, wanted, &new_added);

        /* Without a file and with nothing to list, there is nothing to write. */
        if (!streq_ptr(file, text) && (file || wanted)) {
                r = mkdir_p(dir, 0755);
                if (r < 0)
                        return r;
                r = write_string_file_atomic(path, text, 0644);
                if (r < 0)
                        return r;
        }
        /*
         * Recorded after the file: a crash in between leaves a line berth no longer knows it added, which
         * stays, never a record of a line someone else wrote, which berth would remove.
         */
        return write_lines(added_path, new_added);
}

/* Renders, checks and installs the drop-ins; an empty configuration removes them. */
static int install_dropins(Manager *m, const MultipathState *s, char **ret_error)
{
        _cleanup_free_ char *confd = root_path(CONFD), *error = NULL, *config = NULL, *overrides = NULL;
        _cleanup_free_ char *config_path = xasprintf("%s/%s", confd, MULTIPATH_CONFIG_DROPIN),
                            *overrides_path = xasprintf("%s/%s", confd, MULTIPATH_OVERRIDES_DROPIN);
        int r;

        /* The key may have been written by hand: the same checks as SetOverrides. */
        r = multipath_overrides_check(s->overrides, &error);
        if (r < 0) {
                *ret_error = r == -EFBIG
                        ? xasprintf("%s in the store is too large", MULTIPATH_OVERRIDES_KEY)
                        : xasprintf("%s in the store is invalid: %s", MULTIPATH_OVERRIDES_KEY, error);
                return -EBADMSG;
        }
        overrides = multipath_render_overrides(s->overrides);
        if (multipath_config_is_empty(s->config) && !overrides) {
                r = unlink_if_exists(config_path);
                if (r >= 0)
                        r = unlink_if_exists(overrides_path);
                if (r < 0)
                        *ret_error = xasprintf("cannot remove the drop-ins in %s: %s", confd, strerror(-r));
                return r;
        }

        config = multipath_render_config(s->config);
        r = multipath_validate(m->validate_helper, config, overrides, &error);
        if (r == -EBADMSG) {
                *ret_error = xasprintf("multipath rejected the configuration: %s", error);
                return r;
        }
        if (r < 0) {
                *ret_error = error ? xasprintf("cannot check the configuration with %s: %s",
                                             multipath_validate_binary(), error)
                                   : xasprintf("cannot check the configuration with %s: %s",
                                             multipath_validate_binary(), strerror(-r));
                return r;
        }

        r = mkdir_p(confd, 0755);
        if (r >= 0)
                r = write_string_file_atomic(config_path, config, 0644);
        if (r >= 0)
                r = overrides ? write_string_file_atomic(overrides_path, overrides, 0644)
                              : unlink_if_exists(overrides_path);
        if (r < 0)
                *ret_error = xasprintf("cannot install the drop-ins in %s: %s", confd, strerror(-r));
        return r;
}

static int apply_state(Manager *m, MultipathState *s, char **ret_error)
{
        int r;

        r = state_parse(s, ret_error);
        if (r < 0)
                return r;
        r = install_dropins(m, s, ret_error);
        if (r < 0)
                return r;
        r = update_wwids(s->config);
        if (r < 0) {
                *ret_error = xasprintf("cannot update the wwids file: %s", strerror(-r));
                return r;
        }
        return multipathd_reconfigure(m, ret_error);
}

static void manager_publish_health(Manager *m, bool always);

int manager_apply(Manager *m, bool force, char **ret_error)
{
        _cleanup_(multipath_state_donep) MultipathState s = {};
        _cleanup_free_ char *error = NULL;
        uint64_t generation;
        int r;

        r = state_read(m, &s);
        if (r < 0) {
                log_error_errno(r, "Failed to read the configuration from the store: %m");
                if (ret_error)
                        *ret_error = xasprintf("cannot read the configuration: %s", strerror(-r));
                return r;
        }
        /* The store's revisions: every node that applied the same configuration shows the same generation. */
        generation = MAX(s.config_revision, s.overrides_revision);
        /* The digest too: a key written behind the store's back keeps its revision. */
        if (!force && m->apply_result == MULTIPATH_APPLY_OK && m->apply_generation == generation &&
                streq(m->apply_digest, s.digest))
                return 0;

        r = apply_state(m, &s, &error);
        m->apply_generation = generation;
        memcpy(m->apply_digest, s.digest, sizeof m->apply_digest);
        free(m->apply_error);
        m->apply_error = NULL;
        if (r < 0) {
                log_error("Failed to apply generation %" PRIu64 ": %s", generation, error);
                m->apply_result = MULTIPATH_APPLY_FAILED;
                m->apply_error = xstrdup(error);
        } else {
                log_info("Applied generation %" PRIu64 " (%zu LUNs)%s.", generation, s.config->n_luns,
                        m->multipathd ? "" : ", multipathd not reconfigured: there is none");
                m->apply_result = MULTIPATH_APPLY_OK;
        }
        manager_bus_emit_applied(m);
        manager_publish_health(m, false);
        if (r < 0 && ret_error)
                *ret_error = TAKE_PTR(error);
        return r;
}

static void on_apply(evutil_socket_t fd, short what, void *userdata)
{
        (void) manager_apply(userdata, false, NULL);
}

static void on_config_changed(Store *s, StoreEventType type, const char *key, uint64_t revision, void *userdata)
{
        Manager *m = userdata;

        if (!streq(key, MULTIPATH_CONFIG_KEY) && !streq(key, MULTIPATH_OVERRIDES_KEY))
                return;
        /* Both keys may change at once and a change may be reported twice: one apply for all of it. */
        event_active(m->apply_event, EV_TIMEOUT, 0);
}

/* This node's report, timestamp 0: what multipathd says now and how the last apply went. */
static MultipathHealthReport *health_probe(Manager *m)
{
        MultipathHealthReport *r = new0(MultipathHealthReport, 1);
        _cleanup_free_ char *output = NULL, *error = NULL;
        int status;

        *r = (MultipathHealthReport){
                .node = xstrdup(m->node),
                .interval = m->health_interval_sec,
                .apply_generation = m->apply_generation,
                .apply_result = m->apply_result,
                .apply_error = m->apply_error ? xstrdup(m->apply_error) : NULL,
                .multipathd = m->multipathd != NULL,
        };
        if (!m->multipathd)
                return r;
        status = run_capture(
                (char *const[]){ m->multipathd, (char *) "show", (char *) "maps", (char *) "json", NULL },
                &output);
        if (status < 0)
                r->error = xasprintf("cannot run %s: %s", m->multipathd, strerror(-status));
        else if (status != 0)
                r->error = describe_failure("multipathd show maps json", status, output);
        else if (multipath_health_parse_maps(output, &r->maps, &r->n_maps, &error) < 0)
                r->error = xasprintf("cannot read multipathd's maps: %s", error);
        return r;
}

/* Writes this node's report when it changed, or always (the interval's refresh). */
static void manager_publish_health(Manager *m, bool always)
{
        _cleanup_(multipath_health_report_freep) MultipathHealthReport *r = health_probe(m);
        _cleanup_free_ char *body = multipath_health_report_format(r), *text = NULL,
                            *key = xasprintf("nodes/%s/multipath-health", m->node);
        int k;

        if (!always && streq_ptr(body, m->published))
                return;
        r->timestamp = now_usec();
        text = multipath_health_report_format(r);
        k = store_put(m->store, key, text, strlen(text), STORE_REVISION_ANY, NULL);
        if (k < 0) {
                log_warning_errno(k, "Failed to publish the health of this node to %s, ignoring: %m", key);
                return;
        }
        if (!streq_ptr(body, m->published))
                log_debug("Published new health to %s.", key);
        free(m->published);
        m->published = TAKE_PTR(body);
}

static void on_health_tick(evutil_socket_t fd, short what, void *userdata)
{
        manager_publish_health(userdata, true);
}

/*
 * When, after the last uevent of a burst, the maps are looked at (ms): at once,
 * then while multipathd's path checkers (every polling_interval, 5 s by
 * default) catch up with what the kernel already reported.
 */
static const unsigned probe_after_ms[] = { 200, 2000, 6000, 12000 };

static void probe_arm(Manager *m, unsigned step)
{
        unsigned ms = probe_after_ms[step] - (step > 0 ? probe_after_ms[step - 1] : 0);
        struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

        m->probe_step = step;
        evtimer_add(m->probe_timer, &tv);
}

static void on_probe(evutil_socket_t fd, short what, void *userdata)
{
        Manager *m = userdata;

        manager_publish_health(m, false);
        if (m->probe_step + 1 < ELEMENTSOF(probe_after_ms))
                probe_arm(m, m->probe_step + 1);
}

static void on_uevent(evutil_socket_t fd, short what, void *userdata)
{
        Manager *m = userdata;
        char buf[8192];
        ssize_t n;

        /* Each event of a burst starts the looks over: the first comes once the burst is over. */
        while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
                if (block_uevent_matches(buf, (size_t) n))
                        probe_arm(m, 0);
}

/* Health on change, without polling: the kernel says when block devices change. */
static void manager_watch_uevents(Manager *m)
{
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
        _cleanup_close_ int fd = -1;

        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                log_warning_errno(errno,
                        "Cannot listen to kernel uevents (%m): health changes are published "
                        "every %u s only.",
                        m->health_interval_sec);
                return;
        }
        m->uevent_fd = TAKE_FD(fd);
        m->uevent_event = event_new(m->base, m->uevent_fd, EV_READ | EV_PERSIST, on_uevent, m);
        event_add(m->uevent_event, NULL);
}

int manager_new(struct event_base *base, sd_bus *bus, Store *store, const char *node, Manager **ret)
{
        Manager *m = new0(Manager, 1);

        *m = (Manager){
                .base = base,
                .bus = sd_bus_ref(bus),
                .store = store,
                .node = xstrdup(node),
        };
        m->apply_event = event_new(base, -1, 0, on_apply, m);
        m->health_timer = event_new(base, -1, EV_PERSIST, on_health_tick, m);
        m->probe_timer = evtimer_new(base, on_probe, m);
        m->uevent_fd = -1;
        if (!m->apply_event || !m->health_timer || !m->probe_timer) {
                manager_free(m);
                return log_oom();
        }
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        store_watch_free(m->config_watch);
        if (m->apply_event)
                event_free(m->apply_event);
        if (m->health_timer)
                event_free(m->health_timer);
        if (m->probe_timer)
                event_free(m->probe_timer);
        if (m->uevent_event)
                event_free(m->uevent_event);
        safe_close(m->uevent_fd);
        sd_bus_slot_unref(m->manager_slot);
        access_free(m->access);
        sd_bus_unref(m->bus);
        free(m->node);
        free(m->multipathd);
        free(m->validate_helper);
        free(m->apply_error);
        free(m->published);
        free(m);
        return NULL;
}

int manager_start(Manager *m)
{
        struct timeval interval = { .tv_sec = m->health_interval_sec };
        int r;

        /* Watching first: a change made while the first apply runs triggers another one. */
        r = store_watch(m->store, "multipath", on_config_changed, m, &m->config_watch);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the multipath configuration: %m");
        (void) manager_apply(m, true, NULL);
        if (m->multipathd)
                manager_watch_uevents(m);
        if (event_add(m->health_timer, &interval) < 0)
                return log_error_errno(ENOMEM, "Failed to start the health timer.");
        return 0;
}

/* The node of a "nodes/<node>/..." key; NULL for other keys. */
static char *key_node(const char *key)
{
        const char *p = startswith(key, "nodes/");
        size_t n = p ? strcspn(p, "/") : 0;

        return n > 0 && p[n] == '/' ? xstrndup(p, n) : NULL;
}

int manager_health(Manager *m, MultipathHealthMatrix **ret)
{
        _cleanup_(multipath_state_donep) MultipathState s = {};
        _cleanup_(storage_config_freep) StorageConfig *storage = NULL;
        _cleanup_free_ MultipathHealthInput *inputs = NULL;
        _cleanup_strv_free_ char **nodes = NULL;
        _cleanup_free_ char *error = NULL;
        StoreEntry *entries = NULL;
        size_t n_entries = 0, n_inputs = 0;
        int r;

        /* Without a valid allow-list there are no LUNs, but the nodes' reports tell how their applies went. */
        r = manager_load_state(m, &s, NULL);
        if (r == -EBADMSG)
                s.config = multipath_config_new();
        else if (r < 0)
                return r;
        r = manager_load_storage(m, &storage, &error);
        if (r < 0)
                log_warning("No LUN is expected on any node: %s", strempty(error));
        r = store_list(m->store, "nodes/", &entries, &n_entries);
        if (r < 0)
                return r;

        /* Every node with a key in the store, and its report; keys come sorted, so a node's are together. */
        inputs = new0(MultipathHealthInput, MAX(n_entries, 1U));
        for (size_t i = 0; i < n_entries; i++) {
                _cleanup_free_ char *node = key_node(entries[i].key);

                if (!node)
                        continue;
                if (n_inputs == 0 || !streq(inputs[n_inputs - 1].node, node)) {
                        strv_push(&nodes, node);
                        inputs[n_inputs++].node = nodes[strv_length(nodes) - 1];
                }
                if (streq(entries[i].key + strlen("nodes/") + strlen(node), "/multipath-health"))
                        inputs[n_inputs - 1].report = entries[i].value;
        }
        *ret = multipath_health_matrix(s.config, storage, inputs, n_inputs, now_usec());
        store_entries_free(entries, n_entries);
        return 0;
}
