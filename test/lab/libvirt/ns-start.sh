#!/bin/sh
# Started by test/lab/libvirt-daemon.ts as
#   unshare --mount --propagation private -- sh ns-start.sh DIR
# In the new (private) mount namespace, put the lab directory DIR over
# libvirt's system paths, then become libvirtd: nothing it writes reaches the
# host's /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt or
# /var/cache/libvirt. DIR/passwd and DIR/group add the 'libvirt-qemu' user
# that Debian's QEMU driver resolves at start-up (qemu.conf then runs guests
# as root); the host's files are untouched.
set -eu
dir=$1
bind() {
  # An absent mount point is created empty on the host (the libvirt-daemon-system
  # package creates the same directories); nothing is ever written into it.
  [ -e "$2" ] || mkdir -p "$2"
  mount --bind "$1" "$2"
}
bind "$dir/etc" /etc/libvirt
bind "$dir/run" /run/libvirt
bind "$dir/lib" /var/lib/libvirt
bind "$dir/log" /var/log/libvirt
bind "$dir/cache" /var/cache/libvirt
bind "$dir/passwd" /etc/passwd
bind "$dir/group" /etc/group
shift
exec "$@"
