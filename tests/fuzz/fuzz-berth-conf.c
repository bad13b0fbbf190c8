/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "berth-conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whatever parses holds values within the documented ranges; whatever fails says on which line. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xmalloc(size + 1), *error = NULL;
        BerthConf c;

        memcpy(text, data, size);
        text[size] = 0;
        if (berth_conf_parse(text, &c, &error) < 0) {
                if (!error || !startswith(error, "line "))
                        abort();
                return 0;
        }
        if (c.shutdown_policy.n_steps < 1 || c.shutdown_policy.n_steps > _SHUTDOWN_STEP_MAX)
                abort();
        for (size_t i = 0; i < c.shutdown_policy.n_steps; i++)
                if (!shutdown_step_to_string(c.shutdown_policy.steps[i]))
                        abort();
        if (c.shutdown_timeout < 1 || c.shutdown_timeout > BERTH_CONF_MAX_SHUTDOWN_TIMEOUT ||
                c.shutdown_parallel > BERTH_CONF_MAX_PARALLEL)
                abort();
        return 0;
}
