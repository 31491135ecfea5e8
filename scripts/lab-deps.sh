#!/usr/bin/env bash
# Install the Debian packages the kvmha test lab needs, if any are missing.
#
#   scripts/lab-deps.sh          install what is missing (apt-get update once)
#   scripts/lab-deps.sh --check  only report; exit 1 if something is missing
#
# Packages that conflict with a lab package are unpacked (dpkg-deb -x), never
# installed: LAB_UNPACKED below, each under /var/lib/kvmha-lab/PACKAGE.
#
# Idempotent: when everything is present it only asks dpkg and exits 0.
# Needs root (or password-less sudo) only when it has to install.
set -euo pipefail

# The lab's packages, one per line: add new lab dependencies here.
LAB_PACKAGES=(
  openipmi     # ipmi_sim, the simulated BMC
  python3-pyghmi # pyghmi's BMC (pyghmi.ipmi.bmc): a second, independent BMC
  ipmitool     # independent IPMI client
  fence-agents # reference fence_ipmilan, fence_apc_snmp, fence_redfish
  python3-requests # fence_redfish's HTTP client (a Depends of fence-agents, listed for the Redfish lab)
  openssl      # the lab Redfish BMC's certificates
  curl         # the Redfish bench switches the lab BMC's power back on between runs
  hyperfine    # benchmarks
  iproute2     # ip netns for namespaced test networks
  snmpd        # net-snmp agent behind the simulated PDUs
  snmp         # independent SNMP clients: snmpget, snmpset, snmpwalk
  snmpsim      # snmpsimd: recorded real PDUs (test/fixtures/pdu-recordings)
  python3      # sqlite3 for snmpsim's sql store (outlet writes that change state)
  libvirt-daemon             # libvirtd (monolithic; Debian 12 has no virtqemud)
  libvirt-daemon-driver-qemu # libvirtd's QEMU driver module
  libvirt-clients            # virsh
  qemu-system-x86            # the lab's guests (TCG, no KVM needed)
  qemu-utils                 # qemu-img: VirtualDomain's backingfile (copy-on-write images)
  busybox-static             # the guests' initramfs
  linux-image-cloud-amd64    # the guests' kernel (/boot/vmlinuz-*-cloud-amd64)
  util-linux                 # unshare, nsenter: libvirtd's private mount namespace
  resource-agents            # ra-api-1.dtd, ocf-tester (lib/ocf tests)
  libxml2-utils              # xmllint: OCF meta-data checked against ra-api-1.dtd
  pacemaker-cli-utils        # stonith_admin, crm_resource: Pacemaker reads our metadata
  pacemaker                  # pacemakerd and its daemons: the lab cluster
  corosync                   # the lab cluster's membership and quorum
  pcs                        # pcs -f: rendered configurations applied as admins do
  crmsh                      # crm: rendered crmsh scripts, crm ra info
  strace                     # counts the processes an agent spawns (bench)
  time                       # GNU time: peak RSS of an agent run (bench)
  dpkg-dev                   # dpkg-shlibdeps: the package's Depends (npm run package)
  man-db                     # man: the packaged man pages as admins read them
  python3                    # the /dev/log stand-in of fence-syslog.test.ts (a Unix datagram socket)
  debootstrap                # the lab's Debian 13 root (scripts/lab-root.sh)
  rpm                        # rpmbuild: the RPM packages (npm run package); rpm --root installs them
  rpmlint                    # the RPM packages' lint
)

# Unpacked, not installed (they conflict with a package above), in the version of the package
# named after the colon, which they must match.
LAB_UNPACKED=(
  pacemaker-remote:pacemaker # pacemaker-remoted: the cluster lab's Pacemaker Remote node (Conflicts: pacemaker)
)
LAB_UNPACKED_DIR=/var/lib/kvmha-lab

check_only=0
case "${1:-}" in
  "") ;;
  --check) check_only=1 ;;
  -h | --help)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "lab-deps: unknown argument '$1' (try --help)" >&2
    exit 2
    ;;
esac

missing_packages() {
  local pkg status
  for pkg in "${LAB_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || echo "$pkg"
  done
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "lab-deps: dpkg-query not found: this script supports Debian-based systems only" >&2
  exit 1
fi

# "PACKAGE=VERSION" of each unpacked package missing (or of another version than its partner's).
missing_unpacked() {
  local entry pkg partner version
  for entry in "${LAB_UNPACKED[@]}"; do
    pkg=${entry%%:*}
    partner=${entry#*:}
    version=$(dpkg-query -W -f='${Version}' "$partner" 2>/dev/null || true)
    [[ -n $version ]] || continue # the partner is missing: installed first, then unpacked
    [[ $(cat "$LAB_UNPACKED_DIR/$pkg/.version" 2>/dev/null) == "$version" ]] || echo "$pkg=$version"
  done
}

unpack() {
  local spec=$1 pkg=${1%%=*} tmp deb
  tmp=$(mktemp -d)
  chmod 755 "$tmp" # apt's _apt user downloads into it
  if ! (cd "$tmp" && apt-get download -q "$spec" >/dev/null); then
    rm -rf "$tmp"
    echo "lab-deps: apt-get download $spec failed" >&2
    return 1
  fi
  deb=$(ls "$tmp"/*.deb)
  rm -rf "${LAB_UNPACKED_DIR:?}/$pkg"
  mkdir -p "$LAB_UNPACKED_DIR/$pkg"
  dpkg-deb -x "$deb" "$LAB_UNPACKED_DIR/$pkg"
  echo "${spec#*=}" >"$LAB_UNPACKED_DIR/$pkg/.version"
  rm -rf "$tmp"
  echo "lab-deps: unpacked $spec into $LAB_UNPACKED_DIR/$pkg"
}

mapfile -t missing < <(missing_packages)
mapfile -t unpacked < <(missing_unpacked)
if ((${#missing[@]} == 0 && ${#unpacked[@]} == 0)); then
  echo "lab-deps: all ${#LAB_PACKAGES[@]} lab packages are installed, ${#LAB_UNPACKED[@]} unpacked"
  exit 0
fi
if ((${#missing[@]} == 0)); then
  echo "lab-deps: not unpacked: ${unpacked[*]}"
  ((check_only)) && exit 1
  if ((EUID != 0)); then
    echo "lab-deps: unpacking into $LAB_UNPACKED_DIR needs root" >&2
    exit 1
  fi
  for spec in "${unpacked[@]}"; do unpack "$spec"; done
  exit 0
fi

echo "lab-deps: missing: ${missing[*]}"
if ((check_only)); then
  exit 1
fi

as_root=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "lab-deps: installing needs root; rerun as root or with password-less sudo:" >&2
    echo "  apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "lab-deps: apt-get update"
if ! "${as_root[@]}" apt-get update -q; then
  echo "lab-deps: apt-get update failed; cannot install: ${missing[*]}" >&2
  exit 1
fi
echo "lab-deps: apt-get install ${missing[*]}"
if ! "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  echo "lab-deps: apt-get install failed for: ${missing[*]}" >&2
  exit 1
fi

mapfile -t still < <(missing_packages)
if ((${#still[@]} > 0)); then
  echo "lab-deps: still missing after install: ${still[*]}" >&2
  exit 1
fi
echo "lab-deps: installed ${missing[*]}"
mapfile -t unpacked < <(missing_unpacked)
if ((${#unpacked[@]} > 0)) && ((EUID != 0)); then
  echo "lab-deps: unpacking into $LAB_UNPACKED_DIR needs root" >&2
  exit 1
fi
for spec in "${unpacked[@]}"; do unpack "$spec"; done
