// The lab's split-brain alarm: is any guest running on two nodes at once?
//
// Every 250 ms it looks for QEMU processes (their -name guest=NAME) in every
// node's PID namespace: cheap, and what really runs, whatever libvirt or
// Pacemaker believe. When a guest's QEMU exists on two nodes, which is normal
// for a moment during a live migration (the target waits, paused), it asks
// both libvirtds (`virsh domstate`) and counts a violation if the guest is
// "running" on both.

import fs from "node:fs";

import { cmdlineOf } from "../daemon.js";
import type { ClusterNode } from "./nodes.js";

export interface Sighting {
  at: number;
  guest: string;
  nodes: string[];
}

export interface Watcher {
  /** Times two nodes ran a guest at once (should stay empty). */
  violations(): Sighting[];
  /** Where each guest's QEMU was seen last (node names). */
  where(guest: string): string[];
  stop(): Promise<void>;
}

function pidNsOf(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** Guest name → node names whose PID namespace holds a QEMU for it. */
export function qemuPlacement(nodes: readonly ClusterNode[]): Map<string, string[]> {
  const nsToNode = new Map<string, string>();
  for (const n of nodes) {
    const pid = n.initPid;
    const ns = pid === undefined ? undefined : pidNsOf(pid);
    if (ns) nsToNode.set(ns, n.name);
  }
  const found = new Map<string, string[]>();
  let entries: string[] = [];
  try {
    entries = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return found;
  }
  for (const p of entries) {
    const pid = Number(p);
    let comm = "";
    try {
      comm = fs.readFileSync(`/proc/${pid}/comm`, "utf8");
    } catch {
      continue;
    }
    if (!comm.startsWith("qemu-system")) continue;
    const node = nsToNode.get(pidNsOf(pid) ?? "");
    if (!node) continue;
    const m = /-name guest=([^, ]+)/.exec(cmdlineOf(pid));
    if (!m) continue;
    const list = found.get(m[1]!) ?? [];
    list.push(node);
    found.set(m[1]!, list);
  }
  return found;
}

export function startWatcher(nodes: readonly ClusterNode[], everyMs = 250): Watcher {
  const violations: Sighting[] = [];
  let last = new Map<string, string[]>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const seen = qemuPlacement(nodes);
      last = seen;
      for (const [guest, on] of seen) {
        if (on.length < 2) continue;
        const states = await Promise.all(
          on.map(async (name) => {
            const node = nodes.find((n) => n.name === name)!;
            if (!node.running) return "gone";
            const r = await node.exec("virsh", ["-q", "-c", "qemu:///system", "domstate", guest], {
              killAfterMs: 5_000,
            });
            return r.code === 0 ? r.stdout.trim() : `error: ${r.stderr.trim()}`;
          }),
        );
        const runningOn = on.filter((_, i) => states[i] === "running");
        if (runningOn.length > 1) violations.push({ at: Date.now(), guest, nodes: runningOn });
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    violations: () => [...violations],
    where: (guest) => last.get(guest) ?? [],
    async stop() {
      running = false;
      await loop;
    },
  };
}
