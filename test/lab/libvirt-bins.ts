// The libvirt lab's dependencies that are not programs on PATH (its programs
// are in bins.ts's one table): a missing one is an error naming its Debian
// package, never a skip.

import fs from "node:fs";
import path from "node:path";

import { missingProgram } from "./bins.js";

/** requireProgram() under the name the libvirt lab's callers know. */
export { requireProgram as requireLibvirtProgram } from "./bins.js";

const QEMU_DRIVER_DIRS = [
  "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver",
  "/usr/lib64/libvirt/connection-driver",
  "/usr/lib/libvirt/connection-driver",
];

/** libvirtd loads its QEMU driver as a module from a separate package (under `root`, default /). */
export function requireQemuDriver(root = "/"): string {
  for (const dir of QEMU_DRIVER_DIRS) {
    const file = `${dir}/libvirt_driver_qemu.so`;
    if (fs.existsSync(path.join(root, file))) return file;
  }
  throw missingProgram("libvirt_driver_qemu.so", "libvirt-daemon-driver-qemu");
}

/** The busybox must be static: it runs alone in the guest's initramfs. */
export function requireStaticBusybox(): string {
  for (const file of ["/bin/busybox", "/usr/bin/busybox"]) {
    if (!fs.existsSync(file)) continue;
    // A dynamic ELF names its interpreter (PT_INTERP, "/lib64/ld-linux..."): look for it.
    const head = fs.readFileSync(file).subarray(0, 4096).toString("latin1");
    if (!head.includes("/lib64/ld-linux") && !head.includes("/lib/ld-linux")) return file;
  }
  throw missingProgram("busybox (static)", "busybox-static");
}
