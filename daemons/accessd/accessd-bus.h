/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "accessd.h"

/* Shared by the bus files: a model error as a D-Bus error, with the edit's message when it has one. */
int reply_access_error(sd_bus_error *error, int r, const char *message, const char *what);
/* One {sv} of an a{sv} whose value is an as. */
int append_strv_entry(sd_bus_message *reply, const char *key, char *const *l);
/* The names of the privileges in privs, in their order. */
char **priv_names(AclPrivSet privs);
/* 0 when auth_id is userid itself, else access_require() of priv on path. */
int require_self_or(Manager *m, const char *auth_id, const char *userid, const char *path, AclPriv priv,
        sd_bus_error *error);

/* The handlers of the config's methods (accessd-bus-edit.c). */
int method_list_users(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_get_user(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_create_user(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_update_user(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_delete_user(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_set_password(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_list_groups(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_create_group(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_update_group(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_delete_group(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_list_roles(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_create_role(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_update_role(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_delete_role(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_list_acl(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_update_acl(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_list_tokens(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_create_token(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_update_token(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_delete_token(sd_bus_message *msg, void *userdata, sd_bus_error *error);
