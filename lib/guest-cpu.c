/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "alloc.h"
#include "guest-cpu.h"
#include "macro.h"

/* Proxmox's names (PVE/QemuServer/CPUConfig.pm), so that its guest configs carry over. */
static const char *const guest_cpu_model_table[_GUEST_CPU_MODEL_MAX] = {
        [GUEST_CPU_KVM64] = "kvm64",
        [GUEST_CPU_QEMU64] = "qemu64",
        [GUEST_CPU_X86_64_V2] = "x86-64-v2",
        [GUEST_CPU_X86_64_V2_AES] = "x86-64-v2-AES",
        [GUEST_CPU_X86_64_V3] = "x86-64-v3",
        [GUEST_CPU_X86_64_V4] = "x86-64-v4",
        [GUEST_CPU_HOST] = "host",
        [GUEST_CPU_MAX] = "max",
};

DEFINE_STRING_TABLE_LOOKUP(guest_cpu_model, GuestCpuModel);

static const char *const guest_cpu_flag_table[_GUEST_CPU_FLAG_MAX] = {
        [GUEST_CPU_FLAG_MD_CLEAR] = "md-clear",
        [GUEST_CPU_FLAG_PCID] = "pcid",
        [GUEST_CPU_FLAG_SPEC_CTRL] = "spec-ctrl",
        [GUEST_CPU_FLAG_SSBD] = "ssbd",
        [GUEST_CPU_FLAG_IBPB] = "ibpb",
        [GUEST_CPU_FLAG_VIRT_SSBD] = "virt-ssbd",
        [GUEST_CPU_FLAG_AMD_SSBD] = "amd-ssbd",
        [GUEST_CPU_FLAG_AMD_NO_SSB] = "amd-no-ssb",
        [GUEST_CPU_FLAG_PDPE1GB] = "pdpe1gb",
        [GUEST_CPU_FLAG_HV_TLBFLUSH] = "hv-tlbflush",
        [GUEST_CPU_FLAG_HV_EVMCS] = "hv-evmcs",
        [GUEST_CPU_FLAG_AES] = "aes",
};

DEFINE_STRING_TABLE_LOOKUP(guest_cpu_flag, GuestCpuFlag);

static const char *flags_parse(const char *value, char flags[static _GUEST_CPU_FLAG_MAX])
{
        for (const char *p = value;;) {
                size_t n = strcspn(p, ";");
                _cleanup_free_ char *name = NULL;
                GuestCpuFlag f;

                if (n < 2 || (p[0] != '+' && p[0] != '-'))
                        return "flags must be a ';'-separated list of +FLAG and -FLAG";
                name = xstrndup(p + 1, n - 1);
                /* Proxmox turns it into vmx or svm by the host's CPU vendor, which a config cannot know. */
                if (streq(name, "nested-virt"))
                        return "flag nested-virt is not supported: whether it means vmx or svm depends on "
                               "the host's CPU";
                f = guest_cpu_flag_from_string(name);
                if (f < 0)
                        return "flags must be md-clear, pcid, spec-ctrl, ssbd, ibpb, virt-ssbd, amd-ssbd, "
                               "amd-no-ssb, pdpe1gb, hv-tlbflush, hv-evmcs or aes";
                if (flags[f])
                        return "flags must name each flag at most once";
                flags[f] = p[0];
                if (!p[n])
                        return NULL;
                p += n + 1;
        }
}

const char *guest_cpu_parse(const char *value, GuestCpu *ret)
{
        GuestCpu cpu = { .model = GUEST_CPU_MODEL_DEFAULT };
        bool have_model = false, have_flags = false, have_hidden = false;

        for (const char *p = value;;) {
                size_t n = strcspn(p, ",");
                _cleanup_free_ char *o = xstrndup(p, n);
                const char *v, *why;

                /* As in Proxmox's property strings, a value without a key is the default key's. */
                if (!have_model && ((v = startswith(o, "cputype=")) || (!strchr(o, '=') && (v = o)))) {
                        cpu.model = guest_cpu_model_from_string(v);
                        if (cpu.model < 0)
                                return "model must be kvm64, qemu64, x86-64-v2, x86-64-v2-AES, x86-64-v3, "
                                       "x86-64-v4, host or max";
                        have_model = true;
                } else if ((v = startswith(o, "flags=")) && !have_flags) {
                        why = flags_parse(v, cpu.flags);
                        if (why)
                                return why;
                        have_flags = true;
                } else if ((v = startswith(o, "hidden=")) && !have_hidden) {
                        if (!streq(v, "0") && !streq(v, "1"))
                                return "hidden must be 0 or 1";
                        cpu.hidden = streq(v, "1");
                        have_hidden = true;
                } else
                        return "must be [cputype=]<model>, flags= and hidden=, each at most once";
                if (!p[n])
                        break;
                p += n + 1;
        }
        if (ret)
                *ret = cpu;
        return NULL;
}
