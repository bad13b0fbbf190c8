/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/*
 * Returns once the org.berth.Task1 at path on service has ended (its State is
 * no longer "running"). With a terminal on stdout and stderr, a spinner with
 * the label and the elapsed seconds runs on stderr meanwhile. Errors are printed.
 */
int task_wait(sd_bus *bus, const char *service, const char *path, const char *label);
