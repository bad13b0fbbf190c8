/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "multipath-config.h"

/*
 * The drop-ins berth installs in etc/multipath/conf.d/. The generated config
 * and the admin's overrides are separate files because multipath rejects a
 * section repeated within one file, and both may hold a blacklist section.
 * multipath reads conf.d in alphabetical order: the overrides come last.
 */
#define MULTIPATH_CONFIG_DROPIN "50-berth.conf"
#define MULTIPATH_OVERRIDES_DROPIN "51-berth-overrides.conf"

/*
 * The generated drop-in: the fixed baseline (find_multipaths strict,
 * user_friendly_names no, every WWID blacklisted but the allow-listed ones),
 * the configured defaults, and a multipath entry per LUN with its alias and
 * knobs.
 */
char *multipath_render_config(const MultipathConfig *c);
/* The overrides drop-in: the checked overrides text verbatim under a header; NULL when there is none. */
char *multipath_render_overrides(const char *overrides);
