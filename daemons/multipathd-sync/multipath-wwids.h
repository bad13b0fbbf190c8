/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * etc/multipath/wwids: with find_multipaths strict, multipath and multipathd
 * assemble a map only for a WWID listed there, as "/<wwid>/" lines. berth
 * lists the allow-listed WWIDs missing from it and later removes only lines it
 * added itself: what anyone else listed (a boot-from-SAN map, a hand-made
 * setup, multipathd itself) stays, and a WWID listed before berth wanted it is
 * never taken over. The caller keeps the set berth added between updates.
 */

/*
 * file is the wwids file's text, NULL when it does not exist; owned the WWIDs
 * berth added before, wanted the allow-list (either may be NULL). Returns the
 * new text, every other line kept as it was, and in ret_owned the new set
 * berth added (NULL when empty).
 */
char *multipath_wwids_update(const char *file, char *const *owned, char *const *wanted, char ***ret_owned);
