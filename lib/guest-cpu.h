/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>

/*
 * A guest's "cpu" key, in Proxmox's property-string form:
 * [cputype=]<model>[,flags=<+FLAG[;-FLAG...]>][,hidden=<0|1>].
 */

typedef enum GuestCpuModel {
        GUEST_CPU_KVM64,
        GUEST_CPU_QEMU64,
        GUEST_CPU_X86_64_V2,
        GUEST_CPU_X86_64_V2_AES,
        GUEST_CPU_X86_64_V3,
        GUEST_CPU_X86_64_V4,
        GUEST_CPU_HOST,
        GUEST_CPU_MAX,
        _GUEST_CPU_MODEL_MAX,
        _GUEST_CPU_MODEL_INVALID = -EINVAL,
} GuestCpuModel;
const char *guest_cpu_model_to_string(GuestCpuModel m);
GuestCpuModel guest_cpu_model_from_string(const char *s);

/*
 * The model when the config names none: x86-64-v2-AES, Proxmox VE 8's default
 * for new guests. It migrates between any two hosts that have x86-64-v2 and
 * AES, and modern guests such as RHEL 9 need x86-64-v2 to boot at all.
 */
#define GUEST_CPU_MODEL_DEFAULT GUEST_CPU_X86_64_V2_AES

/* Proxmox's flags that are safe to set per guest: none of them ties a guest to one host's CPU. */
typedef enum GuestCpuFlag {
        GUEST_CPU_FLAG_MD_CLEAR,
        GUEST_CPU_FLAG_PCID,
        GUEST_CPU_FLAG_SPEC_CTRL,
        GUEST_CPU_FLAG_SSBD,
        GUEST_CPU_FLAG_IBPB,
        GUEST_CPU_FLAG_VIRT_SSBD,
        GUEST_CPU_FLAG_AMD_SSBD,
        GUEST_CPU_FLAG_AMD_NO_SSB,
        GUEST_CPU_FLAG_PDPE1GB,
        GUEST_CPU_FLAG_HV_TLBFLUSH,
        GUEST_CPU_FLAG_HV_EVMCS,
        GUEST_CPU_FLAG_AES,
        _GUEST_CPU_FLAG_MAX,
        _GUEST_CPU_FLAG_INVALID = -EINVAL,
} GuestCpuFlag;
/* The flag's name, which is also QEMU's name of the CPU property. */
const char *guest_cpu_flag_to_string(GuestCpuFlag f);
GuestCpuFlag guest_cpu_flag_from_string(const char *s);

typedef struct GuestCpu {
        GuestCpuModel model;
        char flags[_GUEST_CPU_FLAG_MAX]; /* per flag: 0 when unset, else '+' or '-' */
        bool hidden; /* hide KVM's signature from the guest */
} GuestCpu;

/*
 * Parses a "cpu" value; a missing model is GUEST_CPU_MODEL_DEFAULT. Returns
 * NULL and fills ret (if given) when valid, else why not.
 */
const char *guest_cpu_parse(const char *value, GuestCpu *ret);
