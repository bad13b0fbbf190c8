/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ticket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 8032's first Ed25519 test key: the seed ticket in the corpus is signed with it. */
#define PUBLIC_KEY "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define NOW 0x65000000U

static bool is_named_error(int r)
{
        return r == -EBADMSG || r == -EKEYREJECTED || r == -EKEYEXPIRED || r == -ERANGE;
}

/*
 * The input is tried as a ticket, a tunnel ticket, a CSRF token and a key
 * ring. Each either fails with one of the documented errors or gives what it
 * promises: a valid userid, an age in the window, a ring that round-trips.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(ticket_key_ring_freep) TicketKeyRing *ring = NULL, *again = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_free_ char *text = xmalloc(size + 1), *userid = NULL;
        _cleanup_(ticket_secret_freep) char *formatted = NULL, *reformatted = NULL;
        int64_t age;
        int r;

        memcpy(text, data, size);
        text[size] = 0;
        if (ticket_key_parse_public(PUBLIC_KEY, &key) < 0)
                abort();

        r = ticket_verify(&key, 1, text, NOW, &userid, &age);
        if (r == 0) {
                if (!ticket_userid_is_valid(userid) || age <= -TICKET_GRACE_PERIOD || age >= TICKET_LIFETIME)
                        abort();
        } else if (!is_named_error(r))
                abort();

        r = ticket_tunnel_verify(key, text, "root@pam", "/vms/100", NOW);
        if (r < 0 && !is_named_error(r))
                abort();

        r = ticket_csrf_verify("secret", 6, "root@pam", text, NOW);
        if (r < 0 && !is_named_error(r))
                abort();

        r = ticket_key_ring_parse(text, &ring);
        if (r < 0) {
                if (r != -EBADMSG)
                        abort();
                return 0;
        }
        /* Only the canonical text parses, so it is what format writes back. */
        formatted = ticket_key_ring_format(ring);
        if (!streq(formatted, text))
                abort();
        if (ticket_key_ring_parse(formatted, &again) < 0)
                abort();
        reformatted = ticket_key_ring_format(again);
        if (!streq(reformatted, formatted))
                abort();
        return 0;
}
