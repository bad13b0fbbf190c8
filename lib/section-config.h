/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The syntax of Proxmox's section-config files (storage.cfg, multipath.cfg):
 *
 *     <type>: <id>
 *             <key> <value>
 *
 * A "<type>: <id>" header starts a section, indented "key value" lines follow;
 * a blank line ends the section, lines starting with '#' are comments, and
 * every line must be printable UTF-8 (tabs allowed). This tokenizer knows
 * nothing of types and keys: callbacks give them meaning. A callback rejects
 * by returning a negative errno with a reason, which becomes the error
 * "line N: <reason>" (for section_end, N is the section's header line).
 */

typedef struct SectionConfigParser {
        /* What a section is, for messages: "storage" gives "trailing text after storage id". */
        const char *what;
        /* A header; the id may be empty. */
        int (*section)(const char *type, const char *id, void *userdata, char **ret_reason);
        /* A key line of the current section; the value is trimmed and may be empty. */
        int (*key)(const char *key, const char *value, void *userdata, char **ret_reason);
        /* The current section ended (blank line, next header or end of text). May be NULL. */
        int (*section_end)(void *userdata, char **ret_reason);
} SectionConfigParser;

/* Returns -EBADMSG with a "line N: ..." message in ret_error (if given) on the first error. */
int section_config_parse(const char *text, const SectionConfigParser *p, void *userdata, char **ret_error);

/* NULL when line is printable UTF-8 (tabs allowed), else why not. Values end up in messages sent over D-Bus. */
const char *section_config_check_line(const char *line);
