/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * accessd's two secret files, parsed and formatted; pure, no store, no logging.
 *
 *   access/token.cfg   "<tokenid> <sha256>": an API token's secret as the
 *                      SHA-256 of it, 64 lower-case hex digits; the tokenid
 *                      as acl_tokenid_is_valid() takes it.
 *   access/shadow.cfg  "<userid>:<hash>:", as Proxmox's priv/shadow.cfg: a
 *                      password as crypt(3) hashes it, non-empty, of
 *                      [A-Za-z0-9./$,=*]; the userid as acl_userid_is_valid()
 *                      takes it.
 *
 * Blank lines (nothing but spaces and tabs) are ignored; any other line must
 * be one of the above exactly, and an id may appear once. An error is
 * -EBADMSG with "line N: ..." in ret_error (if given); it names a valid id,
 * but never a value or what should have been an id. The canonical text is one line per entry, sorted by id.
 *
 * The values are secrets: they are wiped before they are freed, and so is
 * every copy of them this code makes. The text access_secrets_format()
 * returns is one too: free it with ticket_secret_free().
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

#define ACCESS_TOKEN_CFG_KEY "access/token.cfg"
#define ACCESS_SHADOW_CFG_KEY "access/shadow.cfg"

typedef enum AccessSecretsType {
        ACCESS_SECRETS_TOKEN,
        ACCESS_SECRETS_SHADOW,
        _ACCESS_SECRETS_TYPE_MAX,
} AccessSecretsType;

typedef struct AccessSecret {
        char *id; /* a tokenid or a userid */
        char *value; /* secret */
} AccessSecret;

typedef struct AccessSecrets {
        AccessSecretsType type;
        AccessSecret *entries; /* sorted by id (strcmp), ids distinct */
        size_t n_entries;
} AccessSecrets;

AccessSecrets *access_secrets_new(AccessSecretsType type);
AccessSecrets *access_secrets_free(AccessSecrets *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(AccessSecrets *, access_secrets_free);

int access_secrets_parse(AccessSecretsType type, const char *text, AccessSecrets **ret, char **ret_error);
char *access_secrets_format(const AccessSecrets *s);

bool access_secrets_id_is_valid(AccessSecretsType type, const char *id);
bool access_secrets_value_is_valid(AccessSecretsType type, const char *value);

/* The value of id, NULL when there is none; valid until the next change of s. */
const char *access_secrets_get(const AccessSecrets *s, const char *id);
/* Adds id with value or replaces its value; -EINVAL when either is not valid for s's type. */
int access_secrets_set(AccessSecrets *s, const char *id, const char *value);
/* -ENOENT when there is no id. */
int access_secrets_remove(AccessSecrets *s, const char *id);
/* Removes the entries of userid's tokens ("<userid>!<name>"), for a user being removed; how many. */
size_t access_secrets_remove_user_tokens(AccessSecrets *s, const char *userid);
