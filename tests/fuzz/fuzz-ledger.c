/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"
#include "ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A restarted cleanupd decides from the ledger alone whether a run still needs
 * its cleanup, so whatever parses must format to text that parses to the same
 * run, and formatting is canonical: the second format equals the first.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xstrndup((const char *) data, size), *formatted = NULL, *again = NULL;
        _cleanup_(run_freep) Run *r = NULL, *reparsed = NULL;
        int k;

        k = run_parse(100, text, &r);
        if (k < 0) {
                if (k != -EBADMSG || r)
                        abort();
                return 0;
        }
        formatted = run_format(r);
        if (run_parse(100, formatted, &reparsed) < 0)
                abort();
        again = run_format(reparsed);
        if (!streq(formatted, again))
                abort();
        if (!streq(r->run_id, reparsed->run_id) || r->pid != reparsed->pid ||
                r->pid_start_time != reparsed->pid_start_time || r->state != reparsed->state ||
                r->keep_active != reparsed->keep_active || !streq_ptr(r->reason, reparsed->reason) ||
                r->skip_post_stop != reparsed->skip_post_stop || r->reboot != reparsed->reboot ||
                !streq_ptr(r->result, reparsed->result))
                abort();
        return 0;
}
