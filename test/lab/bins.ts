// Locating the lab's external programs. A missing program is an error with
// the fix in its message: tests that need one must fail, never skip.

import fs from "node:fs";
import path from "node:path";

/** Debian package that provides each program a lab runs: the one table for every lab. */
export const LAB_PACKAGES = {
  // IPMI lab (and the benches)
  ipmi_sim: "openipmi",
  // pyghmi's BMC (pyghmi.ipmi.bmc), the lab's second BMC; its demo program shows the package is there
  fakebmc: "python3-pyghmi",
  ipmitool: "ipmitool",
  fence_ipmilan: "fence-agents",
  hyperfine: "hyperfine",
  time: "time", // GNU time: the benches' peak RSS
  ip: "iproute2",
  // PDU lab
  snmpd: "snmpd",
  snmpget: "snmp",
  snmpset: "snmp",
  snmpwalk: "snmp",
  fence_apc_snmp: "fence-agents",
  snmpsimd: "snmpsim", // recorded PDUs (test/fixtures/pdu-recordings)
  python3: "python3", // snmpsim's sql store, set up with python3's sqlite3
  // Redfish lab (and its bench)
  openssl: "openssl",
  curl: "curl",
  fence_redfish: "fence-agents",
  // libvirt lab
  libvirtd: "libvirt-daemon",
  virsh: "libvirt-clients",
  "qemu-system-x86_64": "qemu-system-x86",
  busybox: "busybox-static",
  unshare: "util-linux",
  nsenter: "util-linux",
  // Pacemaker's tools (kvmha render's tests apply and check the rendered configurations)
  pcs: "pcs",
  crm: "crmsh",
  cibadmin: "pacemaker-cli-utils",
  crm_verify: "pacemaker-cli-utils",
  crm_simulate: "pacemaker-cli-utils",
  crm_diff: "pacemaker-cli-utils",
  crm_resource: "pacemaker-cli-utils",
  crm_attribute: "pacemaker-cli-utils",
  // Debian packaging and the surfaces an admin touches (package.test.ts)
  dpkg: "dpkg",
  "dpkg-query": "dpkg",
  "dpkg-deb": "dpkg",
  "dpkg-divert": "dpkg",
  "dpkg-shlibdeps": "dpkg-dev",
  man: "man-db",
  stonith_admin: "pacemaker-cli-utils",
} as const;

export type LabProgram = keyof typeof LAB_PACKAGES;

/** The programs each lab runs (its lab test checks that every one is installed). */
export const IPMI_LAB_PROGRAMS: readonly LabProgram[] = [
  "ipmi_sim",
  "fakebmc",
  "ipmitool",
  "fence_ipmilan",
  "hyperfine",
  "ip",
];
export const PDU_LAB_PROGRAMS: readonly LabProgram[] = [
  "snmpd",
  "snmpget",
  "snmpset",
  "snmpwalk",
  "fence_apc_snmp",
  "snmpsimd",
  "python3",
];
export const REDFISH_LAB_PROGRAMS: readonly LabProgram[] = ["openssl", "curl", "fence_redfish"];
export const LIBVIRT_LAB_PROGRAMS: readonly LabProgram[] = [
  "libvirtd",
  "virsh",
  "qemu-system-x86_64",
  "busybox",
  "unshare",
  "nsenter",
  "ip",
];

// fence agents live in /usr/sbin, which a non-login PATH may lack.
const EXTRA_DIRS = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/** Absolute path of `name`, or undefined when it is not installed. */
export function findProgram(name: string): string | undefined {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  for (const dir of [...dirs, ...EXTRA_DIRS]) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The error for a missing lab dependency `what` (a program or a file) and the Debian package that has it. */
export function missingProgram(what: string, pkg: string): Error {
  return new Error(
    `lab program '${what}' is not installed (Debian package '${pkg}'); ` +
      "run scripts/lab-deps.sh to install the lab dependencies",
  );
}

/** Absolute path of a lab program; throws a clear error when it is missing. */
export function requireProgram(name: LabProgram): string {
  const found = findProgram(name);
  if (found) return found;
  throw missingProgram(name, LAB_PACKAGES[name]);
}
