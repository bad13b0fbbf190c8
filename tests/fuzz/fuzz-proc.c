/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"
#include "proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * /proc text is the kernel's, but a process names itself: its comm, inside the stat line, is
 * any 15 bytes. Both parsers take any text; stat either parses whole or says -EBADMSG and
 * leaves its output alone.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xstrndup((const char *) data, size);
        ProcStat st = { .state = 0, .flags = 7, .start_time = 7 };
        int r;

        r = proc_stat_parse(text, &st);
        if (r < 0 && (r != -EBADMSG || st.state != 0 || st.flags != 7 || st.start_time != 7))
                abort();
        if (r == 0 && st.state == 0)
                abort();
        (void) proc_status_sigkill_pending(text);
        return 0;
}
