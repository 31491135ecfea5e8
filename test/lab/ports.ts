// Free UDP ports for lab daemons, safe when several test files run in
// parallel (node --test runs each file in its own process).
//
// A daemon like ipmi_sim needs a port number on its command line, so the
// usual "bind to 0, read the port, close" trick leaves a window in which
// another process can take the same port. To narrow it we:
//   1. pick ports below the kernel's ephemeral range, so a client socket
//      (ipmitool, fence agents, our own proxies) never lands on them;
//   2. reserve each candidate with an exclusive lock file shared by every
//      process on the machine (stale locks of dead processes are reclaimed);
//   3. probe the port with a real bind before handing it out.
// Callers should still retry once if the daemon reports "address in use".

import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const LOCK_DIR = path.join(os.tmpdir(), "kvmha-lab-ports");
const held = new Set<number>();

function ephemeralLow(): number {
  try {
    const text = fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8");
    const low = Number(text.trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) return low;
  } catch {
    // not Linux, or /proc not mounted: fall through to the usual default
  }
  return 32768;
}

/** Whether a process with this ID exists (EPERM: it does, but belongs to another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function tryLock(port: number): boolean {
  const file = path.join(LOCK_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      held.add(port);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number.parseInt(safeRead(file), 10);
      if (Number.isInteger(owner) && owner > 0 && (owner === process.pid || pidAlive(owner))) {
        return false;
      }
      // The owner died without releasing the port: reclaim the lock once.
      try {
        fs.unlinkSync(file);
      } catch {
        return false;
      }
    }
  }
  return false;
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function probeUdp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket("udp4");
    sock.once("error", () => {
      sock.close();
      resolve(false);
    });
    sock.bind(port, host, () => {
      sock.close(() => resolve(true));
    });
  });
}

/** Release a port taken with {@link reserveUdpPort}. Safe to call twice. */
export function releasePort(port: number): void {
  if (!held.delete(port)) return;
  try {
    fs.unlinkSync(path.join(LOCK_DIR, String(port)));
  } catch {
    // already gone
  }
}

/**
 * Reserve a UDP port that is free on `host` (a loopback address) and not
 * handed to any other lab process until {@link releasePort} or this
 * process exits.
 */
export async function reserveUdpPort(host = "127.0.0.1"): Promise<number> {
  fs.mkdirSync(LOCK_DIR, { recursive: true });
  const high = Math.min(ephemeralLow() - 1, 65535);
  const low = Math.max(1024, Math.min(20000, high - 2000));
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (held.has(port) || !tryLock(port)) continue;
    if (await probeUdp(host, port)) return port;
    releasePort(port);
  }
  throw new Error(`no free UDP port found on ${host} in ${low}-${high} after 200 tries`);
}

/** Mark `port` as ours (a caller-chosen port), so other lab processes skip it. */
export function claimPort(port: number): boolean {
  fs.mkdirSync(LOCK_DIR, { recursive: true });
  return held.has(port) || tryLock(port);
}

process.once("exit", () => {
  for (const port of [...held]) releasePort(port);
});

/**
 * A lab daemon's UDP readiness: sends `request` to host:port every `everyMs` until a reply that
 * `accept` takes (its value is returned), `deadline` (a Date.now() value) passes, or `shouldStop()`
 * says so (the daemon died). Replies are read from a socket on 127.0.0.1; ICMP port unreachable
 * while the daemon starts is ignored.
 */
export async function pollUdp<T>(
  host: string,
  port: number,
  request: Buffer,
  accept: (reply: Buffer) => T | undefined,
  deadline: number,
  shouldStop: () => boolean = () => false,
  everyMs = 200,
): Promise<T | undefined> {
  const sock = dgram.createSocket("udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(0, "127.0.0.1", () => {
        sock.off("error", reject);
        resolve();
      });
    });
    let answer: T | undefined;
    sock.on("message", (buf) => {
      answer ??= accept(buf);
    });
    sock.on("error", () => {
      // ICMP port unreachable while the daemon starts: keep polling
    });
    while (answer === undefined && !shouldStop() && Date.now() < deadline) {
      sock.send(request, port, host);
      const until = Math.min(deadline, Date.now() + everyMs);
      while (answer === undefined && Date.now() < until)
        await new Promise((r) => setTimeout(r, 10));
    }
    return answer;
  } finally {
    sock.close();
  }
}
