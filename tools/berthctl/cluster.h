/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "output.h"

/* berthctl nodes and berthctl resources: the cluster-wide view of org.berth.cluster1. */
int cluster_list_nodes(sd_bus *bus, OutputMode mode);
int cluster_list_resources(sd_bus *bus, OutputMode mode);
