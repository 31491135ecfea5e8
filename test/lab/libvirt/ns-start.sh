#!/bin/sh
# Started by test/lab/libvirt-daemon.ts as
#   unshare --mount --propagation private -- sh ns-start.sh DIR ROOT PROGRAM [ARG...]
# In the new (private) mount namespace, put the lab directory DIR over
# libvirt's system paths under ROOT ("/" for the host, a lab generation's root
# otherwise), then exec PROGRAM: libvirtd itself, or in-root.sh that chroots
# into ROOT and becomes libvirtd (same pid). Nothing it writes reaches
# /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt or
# /var/cache/libvirt of the host or the root. DIR/passwd and DIR/group add the
# 'libvirt-qemu' user that Debian's QEMU driver resolves at start-up (qemu.conf
# then runs guests as root); the host's files are untouched.
set -eu
dir=$1
root=${2%/}
shift
bind() {
  # An absent mount point is created empty on the host (the libvirt-daemon-system
  # package creates the same directories); nothing is ever written into it.
  [ -e "$2" ] || mkdir -p "$2"
  mount --bind "$1" "$2"
}
bind "$dir/etc" "$root/etc/libvirt"
bind "$dir/run" "$root/run/libvirt"
bind "$dir/lib" "$root/var/lib/libvirt"
bind "$dir/log" "$root/var/log/libvirt"
bind "$dir/cache" "$root/var/cache/libvirt"
bind "$dir/passwd" "$root/etc/passwd"
bind "$dir/group" "$root/etc/group"
shift
exec "$@"
