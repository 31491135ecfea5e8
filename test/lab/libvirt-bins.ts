// The libvirt lab's external programs, found the way bins.ts finds the IPMI
// lab's: a missing one is an error naming its Debian package, never a skip.

import fs from 'node:fs';

import { findProgram } from './bins.js';

/** Debian package that provides each program the libvirt lab runs. */
export const LIBVIRT_LAB_PROGRAMS = {
  libvirtd: 'libvirt-daemon',
  virsh: 'libvirt-clients',
  'qemu-system-x86_64': 'qemu-system-x86',
  busybox: 'busybox-static',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  ip: 'iproute2',
} as const;

export type LibvirtLabProgram = keyof typeof LIBVIRT_LAB_PROGRAMS;

function missing(what: string, pkg: string): Error {
  return new Error(
    `lab program '${what}' is not installed (Debian package '${pkg}'); ` +
      'run scripts/lab-deps.sh to install the lab dependencies',
  );
}

/** Absolute path of a libvirt lab program; throws a clear error when it is missing. */
export function requireLibvirtProgram(name: LibvirtLabProgram): string {
  const found = findProgram(name);
  if (found) return found;
  throw missing(name, LIBVIRT_LAB_PROGRAMS[name]);
}

const QEMU_DRIVER_DIRS = [
  '/usr/lib/x86_64-linux-gnu/libvirt/connection-driver',
  '/usr/lib64/libvirt/connection-driver',
  '/usr/lib/libvirt/connection-driver',
];

/** libvirtd loads its QEMU driver as a module from a separate package. */
export function requireQemuDriver(): string {
  for (const dir of QEMU_DRIVER_DIRS) {
    const file = `${dir}/libvirt_driver_qemu.so`;
    if (fs.existsSync(file)) return file;
  }
  throw missing('libvirt_driver_qemu.so', 'libvirt-daemon-driver-qemu');
}

/** The busybox must be static: it runs alone in the guest's initramfs. */
export function requireStaticBusybox(): string {
  for (const file of ['/bin/busybox', '/usr/bin/busybox']) {
    if (!fs.existsSync(file)) continue;
    // A dynamic ELF names its interpreter (PT_INTERP, "/lib64/ld-linux..."): look for it.
    const head = fs.readFileSync(file).subarray(0, 4096).toString('latin1');
    if (!head.includes('/lib64/ld-linux') && !head.includes('/lib/ld-linux')) return file;
  }
  throw missing('busybox (static)', 'busybox-static');
}
