#!/bin/bash
# kvmha cluster lab: the "init" of one simulated cluster node (PID 1 of the
# node's PID namespace). Started by test/lab/cluster/node.ts as
#
#   nsenter --net=/run/netns/NETNS -- unshare --pid --fork --kill-child \
#       --mount --uts --propagation private --mount-proc -- /bin/bash node-init.sh DIR NAME [ROOT] [ROLE]
#
# With ROOT (a lab generation's root, test/lab/generation.ts) it first binds /dev, /sys, the lab
# directory, the project and /boot at the same paths inside ROOT, mounts the namespace's /proc
# there and execs itself chrooted (still PID 1): the node then runs ROOT's corosync, Pacemaker and
# libvirtd.
#
# ROLE is "member" (the default: corosync and pacemakerd) or "remote": a
# Pacemaker Remote node runs pacemaker-remoted instead, which the cluster
# reaches through an ocf:pacemaker:remote connection resource (TCP 3121,
# TLS with the shared /etc/pacemaker/authkey).
#
# In the node's private mount namespace it puts the node's directories over
# the system paths corosync, Pacemaker and libvirtd use, adds kvmha's agents
# to /usr/sbin and /usr/lib/ocf/resource.d (overlays: the host's /usr is never
# written), sets the hostname, starts corosync, pacemakerd and libvirtd, and
# then only reaps children. Killing this process (from outside) kills every
# process of the node at once: that is the node's power cut.
set -eu
dir=$1
name=$2
root=${3:-/}
role=${4:-member}

if [ "$root" != / ]; then
  mount -t proc proc "$root/proc"
  for d in /dev /sys; do
    mount --rbind "$d" "$root$d"
  done
  # The lab's base directory (the lab directory: every node's disk, the shared guests, the
  # agents; beside it the generation's QEMU capability cache), this script's project and the
  # guests' kernel, at the same paths inside the root.
  for d in "$(dirname "$(dirname "$dir")")" "$(cd "$(dirname "$0")/../../.." && pwd)" /boot; do
    mkdir -p "$root$d"
    mount --rbind "$d" "$root$d"
  done
  exec chroot "$root" /bin/bash "$0" "$dir" "$name" / "$role"
fi

hostname "$name"
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mkdir -p /run/lock
bind() {
  mount --bind "$1" "$2"
}
bind "$dir/etc/corosync" /etc/corosync
bind "$dir/lib/corosync" /var/lib/corosync
bind "$dir/lib/pacemaker" /var/lib/pacemaker
bind "$dir/log" /var/log
# Pacemaker Remote's key (the lab's, the same on every node; the host's is never read).
if [ -d "$dir/etc/pacemaker" ]; then
  bind "$dir/etc/pacemaker" /etc/pacemaker
fi
# The agents: overlays whose upper layers hold links to the lab's copy of kvmha.
mount -t overlay overlay -o "lowerdir=/usr/sbin,upperdir=$dir/ovl/sbin,workdir=$dir/ovl/sbin.work" /usr/sbin
mount -t overlay overlay -o "lowerdir=/usr/lib/ocf/resource.d,upperdir=$dir/ovl/ocf,workdir=$dir/ovl/ocf.work" /usr/lib/ocf/resource.d
# libvirt (as test/lab/libvirt/ns-start.sh does for a single libvirtd)
mkdir -p /run/libvirt /etc/libvirt /var/lib/libvirt /var/cache/libvirt
bind "$dir/libvirt/etc" /etc/libvirt
bind "$dir/libvirt/lib" /var/lib/libvirt
bind "$dir/libvirt/cache" /var/cache/libvirt
bind "$dir/passwd" /etc/passwd
bind "$dir/group" /etc/group
# Node names resolve on every node (migration URIs name the target node).
bind "$dir/../hosts" /etc/hosts
mkdir -p /run/pacemaker /run/crm /run/corosync
chown hacluster:haclient /run/crm /run/pacemaker

ip link set lo up

export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
if [ "$role" = remote ]; then
  PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_debug=no PCMK_logpriority=info \
    pacemaker-remoted >>/var/log/pacemaker-remoted.out 2>&1 &
  echo $! >/run/pacemaker-remoted.pid
else
  corosync -f >>/var/log/corosync.out 2>&1 &
  echo $! >/run/corosync.pid
  # pacemakerd gives up if corosync does not answer yet: wait for it (bounded).
  tries=0
  until corosync-cmapctl -g totem.cluster_name >/dev/null 2>&1 || [ $tries -ge 100 ]; do
    sleep 0.1
    tries=$((tries + 1))
  done
  PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_debug=no PCMK_logpriority=info \
    pacemakerd >>/var/log/pacemakerd.out 2>&1 &
  echo $! >/run/pacemakerd.pid
fi
libvirtd --config /etc/libvirt/libvirtd.conf --pid-file /run/libvirt/libvirtd.pid --listen \
  >>/var/log/libvirtd.out 2>&1 &
# PID 1: reap whatever is reparented to us, forever.
# (bash reaps every child in its SIGCHLD handler, also the QEMUs libvirtd
# double-forks: a zombie QEMU would make libvirt wait for it to die.)
while :; do
  sleep 1 &
  wait $! || true
done
