# Guest configs the shell tests create, sourced by their libraries. The guest
# image directory is passed in: the host path, or where a container sees it.

# os_guest_config_in NAME IMAGE-DIR: the tiny Linux guest that powers off on ACPI.
os_guest_config_in() {
        cat <<CFG
name: $1
memory: 256
cores: 1
accel: tcg
kernel: $2/vmlinux
initrd: $2/initramfs.cpio
append: console=ttyS0 quiet panic=-1
CFG
}

# firmware_guest_config NAME: no OS at all; it ignores ACPI power-down.
firmware_guest_config() {
        cat <<CFG
name: $1
memory: 64
accel: tcg
CFG
}
