#!/bin/sh
# kvmha lab: run a program inside a lab generation's root (test/lab/generation.ts), as
#
#   unshare --mount --propagation private -- /bin/sh in-root.sh ROOT [DIR...] -- PROGRAM [ARG...]
#
# In the caller's private mount namespace (never the host's) it binds /proc, /dev and /sys and
# each DIR at the same path inside ROOT (the test's files, the project's build), then execs
# chroot: the same pid runs PROGRAM, so killing it by pid stops it.
set -eu
root=$1
shift
for d in /proc /dev /sys; do
  mount --rbind "$d" "$root$d"
done
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
  mkdir -p "$root$1"
  mount --rbind "$1" "$root$1"
  shift
done
[ "$#" -gt 1 ] || {
  echo "in-root.sh: usage: in-root.sh ROOT [DIR...] -- PROGRAM [ARG...]" >&2
  exit 2
}
shift
exec chroot "$root" "$@"
