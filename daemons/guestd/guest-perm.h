/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "guestd.h"

/*
 * What a caller must hold to change a guest's config, key by key, as
 * qemu-server asks (check_vm_modify_config_perm and check_storage_access in
 * PVE/API2/Qemu.pm):
 *   - a key that makes the host run or read a host path (hookscript, kernel,
 *     initrd), the guest kernel's command line (append: Proxmox keeps args to
 *     root) and lock: root@pam only, as Proxmox keeps every key it does not
 *     know; so is any key this table does not know yet;
 *   - cores, cpu, sockets: VM.Config.CPU; memory: VM.Config.Memory; net<N>:
 *     VM.Config.Network; accel, machine: VM.Config.HWType; disk<N>:
 *     VM.Config.Disk; vmstate: VM.Config.Disk and VM.PowerMgmt; startup:
 *     VM.Config.Options and Sys.Modify on "/" (it orders the host's boot);
 *     the description and the rest: VM.Config.Options;
 *   - a disk (or vmstate) set to a volume of another guest, or to one whose
 *     name names no owner: Datastore.Allocate on /storage/<storage>, as
 *     PVE::Storage::check_volume_access asks; a volume of the guest's own
 *     that it did not have: Datastore.AllocateSpace on its storage.
 * Only the keys whose value differs between old (NULL for a new guest) and
 * new count, deleted ones too. 0 when allowed, else PermissionDenied and -EPERM.
 */
int guest_perm_check_config(Manager *m, const char *auth_id, uint32_t vmid, const GuestConfig *old,
        const GuestConfig *new, sd_bus_error *error);
