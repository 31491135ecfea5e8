// Real QEMU guests for the libvirt lab: TCG (domain type 'qemu', no KVM
// needed), Debian's cloud kernel from /boot (package linux-image-cloud-amd64)
// and a tiny busybox initramfs built here at run time, whose /init
// (test/lab/libvirt/guest-init.sh) prints "kvmha-guest uptime SECONDS" to the
// serial console once a second and powers off on the ACPI power button. The
// serial console goes to a file, so a test reads the guest's uptime from it;
// `virsh shutdown` (ACPI) ends with the domain "shut off".

import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

import type { Libvirt } from "./libvirt-daemon.js";
import { requireStaticBusybox } from "./libvirt-bins.js";
import { sleep } from "./daemon.js";

export interface GuestKernel {
  /** /boot/vmlinuz-VERSION */
  kernel: string;
  version: string;
  /** Modules the initramfs loads (evdev, button for the ACPI power button; virtio-serial for the guest agent channel when present). */
  modules: string[];
}

export interface GuestOptions {
  /** Domain name: [A-Za-z0-9_-], at most 48 characters. */
  name: string;
  /** Guest memory; default 160 MiB. */
  memoryMb?: number;
  /** Virtual CPUs; default 1. */
  vcpus?: number;
  /** `virsh define` the XML; default true. With false only the file is written (for `virsh create FILE`). */
  define?: boolean;
  /**
   * Add the QEMU guest agent channel (org.qemu.guest_agent.0). The initramfs answers guest-sync
   * and guest-ping on it (a few lines of shell, test/lab/libvirt/guest-init.sh), nothing else.
   */
  guestAgent?: boolean;
}

export interface Guest {
  name: string;
  /** The domain XML, also in xmlFile. */
  xml: string;
  xmlFile: string;
  /** The serial console's log file (truncated at each start). */
  consoleLog: string;
  /** The console log's text ('' before the first start). */
  console(): Promise<string>;
  /** The last uptime the guest printed (seconds), or undefined if none yet. */
  uptime(): Promise<number | undefined>;
  /** Wait until the guest prints an uptime of at least `seconds`; returns it. Throws with the console after timeoutMs. */
  waitForUptime(seconds: number, timeoutMs?: number): Promise<number>;
  /** `virsh domstate` (e.g. "running", "shut off"). */
  state(): Promise<string>;
  /** Poll domstate until it equals `state`; throws (with state, console and QEMU log) after timeoutMs. */
  waitForState(state: string, timeoutMs?: number): Promise<void>;
}

const INIT_SOURCE = fileURLToPath(new URL("./libvirt/guest-init.sh", import.meta.url));
const NAME = /^[A-Za-z0-9_-]{1,48}$/;
const UPTIME_LINE = /^kvmha-guest uptime (\d+(?:\.\d+)?)\s*$/gm;
/** Kernel command line: console on the first serial port, little noise. */
export const GUEST_CMDLINE = "console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off";

function versionKey(v: string): number[] {
  return v.split(/[.-]/).map((p) => (/^\d+$/.test(p) ? Number(p) : 0));
}

/** The newest Debian cloud kernel in /boot with the modules the guest needs. */
export function guestKernel(): GuestKernel {
  let names: string[] = [];
  try {
    names = fs.readdirSync("/boot").filter((n) => /^vmlinuz-.*-cloud-amd64$/.test(n));
  } catch {
    // no /boot
  }
  const versions = names
    .map((n) => n.slice("vmlinuz-".length))
    .sort((a, b) => {
      const ka = versionKey(a);
      const kb = versionKey(b);
      for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
        const d = (ka[i] ?? 0) - (kb[i] ?? 0);
        if (d !== 0) return d;
      }
      return 0;
    });
  for (const version of versions.reverse()) {
    const modDir = `/lib/modules/${version}/kernel/drivers`;
    const modules = [`${modDir}/input/evdev.ko`, `${modDir}/acpi/button.ko`];
    // The guest agent channel needs virtio-serial; a kernel without these modules still boots the lab guest.
    const virtio = [
      "virtio/virtio.ko",
      "virtio/virtio_ring.ko",
      "virtio/virtio_pci_legacy_dev.ko",
      "virtio/virtio_pci_modern_dev.ko",
      "virtio/virtio_pci.ko",
      "char/virtio_console.ko",
    ]
      .map((m) => `${modDir}/${m}`)
      .filter((m) => fs.existsSync(m));
    if (modules.every((m) => fs.existsSync(m)))
      return { kernel: `/boot/vmlinuz-${version}`, version, modules: [...modules, ...virtio] };
  }
  throw new Error(
    "no guest kernel: the lab boots /boot/vmlinuz-*-cloud-amd64 with its evdev and button modules " +
      "(Debian package 'linux-image-cloud-amd64'); run scripts/lab-deps.sh to install the lab dependencies",
  );
}

// --- a newc cpio writer (the initramfs format the kernel unpacks) ---

interface CpioEntry {
  name: string;
  mode: number; // type and permission bits
  data?: Buffer;
  rdevMajor?: number;
  rdevMinor?: number;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function pad4(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const all = [...entries, { name: "TRAILER!!!", mode: 0 }];
  for (const e of all) {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.name}\0`);
    const header =
      "070701" +
      hex8(e.name === "TRAILER!!!" ? 0 : ino++) +
      hex8(e.mode) +
      hex8(0) + // uid
      hex8(0) + // gid
      hex8((e.mode & S_IFDIR) === S_IFDIR ? 2 : 1) + // nlink
      hex8(0) + // mtime: fixed, for a reproducible image
      hex8(data.length) +
      hex8(0) + // dev major
      hex8(0) + // dev minor
      hex8(e.rdevMajor ?? 0) +
      hex8(e.rdevMinor ?? 0) +
      hex8(name.length) +
      hex8(0); // check
    const head = Buffer.concat([Buffer.from(header, "ascii"), name]);
    parts.push(head, pad4(head.length), data, pad4(data.length));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, pad4(body.length)]);
}

/** The guest initramfs (gzip'd newc cpio): busybox, /init, the power-button modules. */
export function buildInitramfs(k: GuestKernel = guestKernel()): Buffer {
  const busybox = requireStaticBusybox();
  const entries: CpioEntry[] = [
    { name: "bin", mode: S_IFDIR | 0o755 },
    { name: "bin/busybox", mode: S_IFREG | 0o755, data: fs.readFileSync(busybox) },
    { name: "bin/sh", mode: S_IFLNK | 0o777, data: Buffer.from("busybox") },
    { name: "dev", mode: S_IFDIR | 0o755 },
    { name: "dev/console", mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { name: "etc", mode: S_IFDIR | 0o755 },
    { name: "proc", mode: S_IFDIR | 0o755 },
    { name: "sys", mode: S_IFDIR | 0o755 },
    { name: "tmp", mode: S_IFDIR | 0o1777 },
    { name: "lib", mode: S_IFDIR | 0o755 },
    { name: "lib/modules", mode: S_IFDIR | 0o755 },
    ...k.modules.map((m) => ({
      name: `lib/modules/${path.basename(m)}`,
      mode: S_IFREG | 0o644,
      data: fs.readFileSync(m),
    })),
    { name: "init", mode: S_IFREG | 0o755, data: fs.readFileSync(INIT_SOURCE) },
  ];
  return zlib.gzipSync(cpioNewc(entries), { level: 6 });
}

const initramfsFor = new Map<string, Promise<string>>();

/** Build (once per lab libvirtd) the initramfs into its guest directory; returns the path. */
function initramfsIn(lv: Libvirt, k: GuestKernel): Promise<string> {
  let p = initramfsFor.get(lv.dir);
  if (!p) {
    p = (async () => {
      const image = buildInitramfs(k);
      const digest = createHash("sha256").update(image).digest("hex").slice(0, 12);
      const file = path.join(lv.guestDir, `initramfs-${digest}.cpio.gz`);
      await fsp.mkdir(lv.guestDir, { recursive: true });
      await fsp.writeFile(file, image);
      return file;
    })();
    p.catch(() => initramfsFor.delete(lv.dir));
    initramfsFor.set(lv.dir, p);
  }
  return p;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The domain XML of a lab guest. */
export function guestXml(o: {
  name: string;
  memoryMb: number;
  vcpus: number;
  kernel: string;
  initrd: string;
  consoleLog: string;
  emulator: string;
  guestAgent?: boolean;
}): string {
  return `<domain type='qemu'>
  <name>${escapeXml(o.name)}</name>
  <description>kvmha lab guest (TCG, busybox initramfs)</description>
  <memory unit='MiB'>${o.memoryMb}</memory>
  <vcpu>${o.vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${escapeXml(o.kernel)}</kernel>
    <initrd>${escapeXml(o.initrd)}</initrd>
    <cmdline>${GUEST_CMDLINE}</cmdline>
  </os>
  <features>
    <acpi/>
  </features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>${escapeXml(o.emulator)}</emulator>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='${escapeXml(o.consoleLog)}' append='off'/>
      <target port='0'/>
    </serial>
${o.guestAgent === true ? "    <channel type='unix'>\n      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>\n" : ""}    <memballoon model='none'/>
  </devices>
</domain>
`;
}

async function readOr(file: string): Promise<string> {
  try {
    return await fsp.readFile(file, "utf8");
  } catch {
    return "";
  }
}

function lastUptime(text: string): number | undefined {
  let last: number | undefined;
  for (const m of text.matchAll(UPTIME_LINE)) last = Number(m[1]);
  return last;
}

/**
 * Write a guest's domain XML (and, once per libvirtd, the initramfs) under
 * `lv.guestDir/NAME/`, and `virsh define` it unless `define: false`.
 */
export async function defineGuest(lv: Libvirt, opts: GuestOptions): Promise<Guest> {
  const { name } = opts;
  if (!NAME.test(name))
    throw new Error(`guest name '${name}' must be [A-Za-z0-9_-], 1-48 characters`);
  const memoryMb = opts.memoryMb ?? 160;
  const vcpus = opts.vcpus ?? 1;
  if (!Number.isInteger(memoryMb) || memoryMb < 64 || memoryMb > 4096)
    throw new Error(`memoryMb must be 64-4096, got ${memoryMb}`);
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 8)
    throw new Error(`vcpus must be 1-8, got ${vcpus}`);
  const emulator = lv.requireProgram("qemu-system-x86_64");
  const k = guestKernel();
  const initrd = await initramfsIn(lv, k);
  const dir = path.join(lv.guestDir, name);
  await fsp.mkdir(dir, { recursive: true });
  const consoleLog = path.join(dir, "console.log");
  const xml = guestXml({
    name,
    memoryMb,
    vcpus,
    kernel: k.kernel,
    initrd,
    consoleLog,
    emulator,
    guestAgent: opts.guestAgent ?? false,
  });
  const xmlFile = path.join(dir, `${name}.xml`);
  await fsp.writeFile(xmlFile, xml);
  if (opts.define ?? true) await lv.virshOk(["define", xmlFile]);

  const diagnose = async (): Promise<string> =>
    `--- console (tail) ---\n${(await readOr(consoleLog)).slice(-2000) || "(empty)"}\n` +
    `--- QEMU log (tail) ---\n${(await lv.qemuLog(name)).slice(-2000) || "(empty)"}`;

  const guest: Guest = {
    name,
    xml,
    xmlFile,
    consoleLog,
    console: () => readOr(consoleLog),
    async uptime() {
      return lastUptime(await readOr(consoleLog));
    },
    async waitForUptime(seconds, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const up = lastUptime(await readOr(consoleLog));
        if (up !== undefined && up >= seconds) return up;
        if (Date.now() >= deadline) {
          throw new Error(
            `guest ${name} did not reach uptime ${seconds} s within ${timeoutMs} ms (last: ${up ?? "none"})\n${await diagnose()}`,
          );
        }
        await sleep(100);
      }
    },
    async state() {
      return (await lv.virshOk(["domstate", name], { killAfterMs: 10_000 })).trim();
    },
    async waitForState(want, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      for (;;) {
        const r = await lv.virsh(["domstate", name], { killAfterMs: 10_000 });
        last = r.code === 0 ? r.stdout.trim() : `(virsh exit ${r.code}: ${r.stderr.trim()})`;
        if (last === want) return;
        if (Date.now() >= deadline) {
          throw new Error(
            `guest ${name} is '${last}', not '${want}', after ${timeoutMs} ms\n${await diagnose()}`,
          );
        }
        await sleep(200);
      }
    },
  };
  return guest;
}
