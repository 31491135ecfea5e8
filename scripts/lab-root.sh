#!/usr/bin/env bash
# The lab's second generation: a Debian 13 (trixie) root with Pacemaker 3, pcs 0.12, crmsh 5,
# libvirt 11, QEMU 10, fence-agents 4.16, OpenIPMI 2.0.37, made with debootstrap from the same
# Debian archive the host uses, and kept (outside git) between runs. The tests run its programs
# with chroot in private mount namespaces (test/lab/generation.ts): no systemd, nothing started.
#
#   scripts/lab-root.sh          build the root when missing, add packages the list gained
#   scripts/lab-root.sh --check  only report; exit 1 if the root is missing or incomplete
#   scripts/lab-root.sh --path   print where the root is (or would be)
#
# Where: $KVMHA_ROOTS/trixie, default /var/cache/kvmha/roots/trixie (a fresh clone on the same
# machine reuses it). Idempotent: when the root is complete it only compares the package list.
set -euo pipefail

SUITE=trixie
# The packages of the trixie root, one per line: what the tests run there. (fence-agents would
# pull every cloud agent's Python SDK, 1.7 GB: only the two reference agents the tests use.)
ROOT_PACKAGES=(
  pacemaker             # pacemakerd 3.0 and its daemons
  pacemaker-cli-utils   # crm_verify, cibadmin, crm_simulate, stonith_admin, crm_resource
  corosync              # 3.1
  pcs                   # 0.12
  crmsh                 # 5.0
  libvirt-daemon        # libvirtd 11 (Debian 13 ships the monolithic daemon only, no virtqemud)
  libvirt-daemon-driver-qemu
  libvirt-daemon-log    # virtlogd
  libvirt-clients       # virsh
  qemu-system-x86       # QEMU 10 (TCG)
  qemu-utils            # qemu-img
  fence-agents-ipmilan  # fence_ipmilan 4.16 and its aliases
  fence-agents-apc-snmp # fence_apc_snmp 4.16
  fence-agents-dummy    # fence_dummy: the recording agent behind pacemaker-fenced (render-hostmap)
  fence-agents-sbd      # fence_sbd: the sbd sample of kvmha render (render.test.ts)
  resource-agents       # 4.16: ocf-tester, ra-api-1.dtd, heartbeat's VirtualDomain
  openipmi              # ipmi_sim 2.0.37
  ipmitool
  snmpd                 # net-snmp 5.9.4
  snmp
  libxml2-utils         # xmllint
  iproute2
  procps
  hostname
)

CACHE=${KVMHA_ROOTS:-/var/cache/kvmha/roots}
ROOT=$CACHE/$SUITE
STAMP=$ROOT/.kvmha-root

mode=build
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  --path)
    echo "$ROOT"
    exit 0
    ;;
  -h | --help)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "lab-root: unknown argument '$1' (try --help)" >&2
    exit 2
    ;;
esac

wanted=$(printf '%s\n' "${ROOT_PACKAGES[@]}" | sort)

# Packages of the list the root lacks (all of them when there is no root).
missing_packages() {
  local root=$1 pkg status
  for pkg in "${ROOT_PACKAGES[@]}"; do
    status=$(chroot "$root" dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || echo "$pkg"
  done
}

if [[ -f $STAMP && $(cat "$STAMP") == "$wanted" ]]; then
  echo "lab-root: $ROOT is complete (${#ROOT_PACKAGES[@]} packages)"
  exit 0
fi
if [[ $mode == check ]]; then
  echo "lab-root: $ROOT is missing or incomplete; run scripts/lab-root.sh" >&2
  exit 1
fi
if ((EUID != 0)); then
  echo "lab-root: building the $SUITE root needs root (debootstrap, chroot)" >&2
  exit 1
fi
for tool in debootstrap unshare chroot; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "lab-root: '$tool' is missing (scripts/lab-deps.sh installs it)" >&2
    exit 1
  fi
done

# The host's Debian mirror (deb822 .sources first, then one-line sources.list).
mirror() {
  local uri
  uri=$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\/\{0,1\}\)[[:space:]]*$/\1/p' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  [[ -n $uri ]] || uri=$(sed -n 's/^deb[[:space:]]\{1,\}\(http[^[:space:]]*\/debian\/\{0,1\}\)[[:space:]].*/\1/p' \
    /etc/apt/sources.list 2>/dev/null | head -n 1)
  echo "${uri:-http://deb.debian.org/debian}"
}

# Runs apt-get inside a root, with /proc, /dev and /sys only in a private mount namespace.
in_root_apt() {
  local root=$1
  shift
  unshare --mount --propagation private -- /bin/sh -ec '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    exec chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
      PATH=/usr/sbin:/usr/bin:/sbin:/bin apt-get -q -y "$@"
  ' sh "$root" "$@"
}

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
start=$SECONDS
if [[ -d $ROOT ]]; then
  mapfile -t missing < <(missing_packages "$ROOT")
  target=$ROOT
else
  target=$ROOT.new
  rm -rf "$target"
  url=$(mirror)
  echo "lab-root: debootstrap $SUITE from $url into $target" >&2
  debootstrap --variant=minbase "$SUITE" "$target" "$url" >"$CACHE/debootstrap.log" 2>&1 || {
    tail -n 20 "$CACHE/debootstrap.log" >&2
    echo "lab-root: debootstrap failed (log: $CACHE/debootstrap.log)" >&2
    exit 1
  }
  # Packages' maintainer scripts must start no service in the root.
  printf '#!/bin/sh\nexit 101\n' >"$target/usr/sbin/policy-rc.d"
  chmod 755 "$target/usr/sbin/policy-rc.d"
  missing=("${ROOT_PACKAGES[@]}")
fi
if ((${#missing[@]} > 0)); then
  echo "lab-root: installing into $target: ${missing[*]}" >&2
  in_root_apt "$target" update >/dev/null
  in_root_apt "$target" install --no-install-recommends "${missing[@]}" >"$CACHE/apt.log" 2>&1 || {
    tail -n 20 "$CACHE/apt.log" >&2
    echo "lab-root: apt-get install failed in $target (log: $CACHE/apt.log)" >&2
    exit 1
  }
  in_root_apt "$target" clean
fi
mapfile -t still < <(missing_packages "$target")
if ((${#still[@]} > 0)); then
  echo "lab-root: still missing in $target: ${still[*]}" >&2
  exit 1
fi
echo "$wanted" >"$target/.kvmha-root"
[[ $target == "$ROOT" ]] || mv "$target" "$ROOT"
echo "lab-root: $ROOT ready in $((SECONDS - start)) s ($(du -sh "$ROOT" | cut -f1))"
