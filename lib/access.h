/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemons' side of access control: who a bus caller is, and whether it may
 * do what it asks. Every daemon checks the privileges of its own methods with
 * this, so a denial never depends on the gateway.
 *
 * An Access follows the access config in the store (ACCESS_USER_CFG_KEY, in
 * Proxmox's user.cfg format, see acl.h): read once at access_new(), then again
 * on every change, through a watch on the store's event_base. A config that is
 * missing grants nothing but root@pam's rights; a change that does not parse
 * keeps the last config that did (the daemon logs the warning), so a bad write
 * behind accessd's back neither opens nor closes anything.
 *
 * The caller, as DESIGN.md "Access control" says: D-Bus uid 0 is root@pam,
 * uid N is "<login>@pam" ("<uid>@pam" without a passwd entry: a user that
 * user.cfg cannot define, so it has nothing). The 'user' option of a method
 * names the caller instead, a userid or a tokenid; it is honoured only from
 * uid 0 and from the uid of the ACCESS_GATEWAY_USER system user, and from any
 * other uid it is org.berth.Error.PermissionDenied.
 */

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "acl.h"
#include "bus-options.h"
#include "store.h"

#define ACCESS_USER_CFG_KEY "access/user.cfg"
#define ACCESS_GATEWAY_USER "berth-gateway"
#define ACCESS_ROOT "root@pam"

typedef struct Access Access;

/* -EHOSTDOWN and the like only from the first read; a missing key is no error. */
int access_new(Store *store, Access **ret);
Access *access_free(Access *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Access *, access_free);

/* Reads the config now, as a change would: for its writer, which must not wait for the watch. */
int access_reload(Access *a);

/* The config in force (never NULL); valid until the next event on the store's loop. */
const AclConfig *access_config(const Access *a);
/* The warning of the last change that did not parse, NULL when the config in force is the store's. */
const char *access_config_error(const Access *a);

/* Whether uid may name the user it acts for: root and the gateway. */
bool access_uid_may_name_user(uid_t uid);
/* The sender's uid, from the bus's credentials. */
int access_sender_uid(sd_bus_message *msg, uid_t *ret);
/*
 * The auth id of the sender of msg: user_option (the method's 'user' option,
 * NULL when not given) when the sender may name one, else the sender's own
 * user. PermissionDenied (and -EPERM) when the sender may not name a user,
 * InvalidArgument (and -EINVAL) when user_option is neither a userid nor a tokenid.
 */
int access_caller(Access *a, sd_bus_message *msg, const char *user_option, char **ret, sd_bus_error *error);

/*
 * Reads the a{sv} options of msg into dest as table says (see bus-options.h);
 * *user, the field of dest the table's "user" entry fills, then holds the
 * caller as access_caller() resolves it.
 */
int access_read_options(Access *a, sd_bus_message *msg, const BusOption *table, void *dest, char **user,
        sd_bus_error *error);
/* As access_read_options() for a method whose only option is 'user': the caller. */
int access_read_caller(Access *a, sd_bus_message *msg, char **ret, sd_bus_error *error);

bool access_is_root(const char *auth_id);
/* Whether auth_id has priv on path now (root@pam: always). */
bool access_allowed(Access *a, const char *auth_id, const char *path, AclPriv priv);
/* Whether auth_id has at least one of privs on path now. */
bool access_allowed_any(Access *a, const char *auth_id, const char *path, AclPrivSet privs);
/*
 * 0 when allowed; otherwise org.berth.Error.PermissionDenied
 * "Permission check failed (<path>, <privilege>)" naming the path and the
 * privilege, as Proxmox words it, and -EPERM.
 */
int access_require(Access *a, const char *auth_id, const char *path, AclPriv priv, sd_bus_error *error);
/* As access_require(), for one of privs ("<p1>|<p2>" in the message). */
int access_require_any(
        Access *a, const char *auth_id, const char *path, AclPrivSet privs, sd_bus_error *error);
/* 0 for root@pam, else PermissionDenied "Only root@pam may <what>" and -EPERM. */
int access_require_root(const char *auth_id, const char *what, sd_bus_error *error);
