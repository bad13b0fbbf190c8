/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "guest-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* D-Bus carries the messages: they must be plain printable ASCII. */
static bool message_is_printable(const char *s)
{
        for (; *s; s++)
                if (*s < 0x20 || *s > 0x7e)
                        return false;
        return true;
}

/* Whatever parses must format to text that parses again and formats identically. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(guest_config_freep) GuestConfig *a = NULL, *b = NULL;
        _cleanup_free_ char *text = xstrndup((const char *) data, size), *error = NULL, *first = NULL,
                            *second = NULL;
        char digest[GUEST_CONFIG_DIGEST_LEN + 1];
        GuestDisk *disks = NULL;
        GuestNet *nets = NULL;
        size_t n_disks = 0, n_nets = 0;

        if (guest_config_parse(text, &a, &error) < 0) {
                if (!error || !(startswith(error, "line ") || startswith(error, "config ")) ||
                        !message_is_printable(error))
                        abort();
                return 0;
        }
        first = guest_config_format(a);
        if (guest_config_parse(first, &b, NULL) < 0)
                abort();
        second = guest_config_format(b);
        if (!streq(first, second))
                abort();
        guest_config_digest(first, digest);
        if (strlen(digest) != GUEST_CONFIG_DIGEST_LEN)
                abort();

        /* Every parsed value passes the validator on its own, and the typed accessors accept it. */
        for (size_t i = 0; i < a->n_entries; i++)
                if (guest_config_validate(a->entries[i].key, a->entries[i].value, NULL) < 0)
                        abort();
        if (guest_config_get_disks(a, &disks, &n_disks) < 0 || guest_config_get_nets(a, &nets, &n_nets) < 0)
                abort();
        guest_disks_free(disks, n_disks);
        guest_nets_free(nets, n_nets);
        strv_free(guest_config_get_tags(a));
        return 0;
}
