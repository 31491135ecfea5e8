// The cluster lab's power: which node runs, which BMC answers.
//
// Each node has a BMC (chassis power, switched through IPMI) and two power
// supplies, one on an outlet of each PDU. A node's BMC has power while at
// least one of its outlets is on (and the node's supplies work); the node
// runs while its BMC has power and the chassis power is on.
//
// The devices' own state files say what happened: a BMC's chassis.log gets a
// line per hook call ("set power 0"), a PDU's sets.log a line per SET that
// reached an outlet ("3 off"). This controller follows those files (inotify,
// and a poll as a fallback) and replays each event in order, so a short
// off-on pulse (a fence "reboot") is never missed: an event that takes a
// node's power kills its PID 1 at once; one that gives power back boots it.
// Faults the tests inject go through here too (a node's supplies die, a BMC or
// an outlet stuck), so the replay knows which events had no effect.

import fs from "node:fs";

import type { Pdu } from "../pdu-sim.js";
import { sleep } from "../daemon.js";
import type { ClusterNode } from "./nodes.js";

export interface PowerFeed {
  node: ClusterNode;
  /**
   * The node's BMC: its directory holds chassis.log, a line per chassis power call ("set power
   * 0"), written by ipmi_sim's hook or, for a Redfish BMC, by the cluster lab on each reset.
   */
  bmc: { readonly dir: string };
  /** The node's outlet on each PDU (same order as `pdus`). */
  outlets: number[];
}

export interface PowerEvent {
  at: number;
  node: string;
  what: string;
}

export interface Power {
  /** The BMC of `node` has power (answers IPMI). */
  bmcPowered(node: string): boolean;
  /** `node` should run (and does, once a boot finished). */
  nodePowered(node: string): boolean;
  /** The node's supplies die (or work again): node and BMC lose power together, whatever the PDUs say. */
  setSuppliesDead(node: string, dead: boolean): Promise<void>;
  /** A PDU outlet ignores SETs (accepts them, does not switch), or works again. */
  setOutletStuck(pdu: number, outlet: number, stuck: boolean): Promise<void>;
  /** Read the devices' records now (a caller that just wrote one; otherwise inotify and a poll do). */
  sync(): void;
  /** Every power change with its time, oldest first (the scenarios' timelines). */
  events(): PowerEvent[];
  /** Wait until every node's running state matches its power (boots done); bounded. */
  settle(ms: number): Promise<void>;
  stop(): Promise<void>;
}

interface Tail {
  file: string;
  offset: number;
  partial: string;
}

function readNewLines(t: Tail): string[] {
  let fd: number;
  try {
    fd = fs.openSync(t.file, "r");
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= t.offset) return [];
    const buf = Buffer.alloc(size - t.offset);
    fs.readSync(fd, buf, 0, buf.length, t.offset);
    t.offset = size;
    const text = t.partial + buf.toString("utf8");
    const lines = text.split("\n");
    t.partial = lines.pop() ?? "";
    return lines.filter((l) => l.length > 0);
  } finally {
    fs.closeSync(fd);
  }
}

export function startPower(o: {
  feeds: PowerFeed[];
  pdus: Pdu[];
  onError?: (err: Error) => void;
}): Power {
  interface NodePower {
    feed: PowerFeed;
    chassis: boolean;
    outlets: boolean[];
    suppliesDead: boolean;
    bmcStuck: boolean;
    /** Serializes boots and power-offs of this node. */
    chain: Promise<void>;
  }
  const state = new Map<string, NodePower>();
  for (const f of o.feeds) {
    state.set(f.node.name, {
      feed: f,
      chassis: true,
      outlets: o.pdus.map(() => true),
      suppliesDead: false,
      bmcStuck: false,
      chain: Promise.resolve(),
    });
  }
  const stuckOutlets = o.pdus.map(() => new Set<number>());
  const log: PowerEvent[] = [];
  const errors: Error[] = [];
  const report = (err: unknown): void => {
    const e = err instanceof Error ? err : new Error(String(err));
    errors.push(e);
    o.onError?.(e);
  };

  const bmcPowered = (p: NodePower): boolean => !p.suppliesDead && p.outlets.some(Boolean);
  const nodePowered = (p: NodePower): boolean => bmcPowered(p) && p.chassis;

  /** Make the node's processes match its power: kill at once, boot in order. */
  const apply = (p: NodePower, why: string): void => {
    const want = nodePowered(p);
    const node = p.feed.node;
    log.push({
      at: Date.now(),
      node: node.name,
      what: `${why}: node ${want ? "on" : "off"}, BMC ${bmcPowered(p) ? "on" : "off"}`,
    });
    if (!want && node.initPid !== undefined) {
      // Synchronously, before anything else can run: the power is gone now.
      try {
        process.kill(node.initPid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    p.chain = p.chain
      .then(async () => {
        if (!nodePowered(p)) await node.powerOff();
        else if (node.initPid === undefined) await node.boot();
        else if (!node.running) {
          // Killed and powered again before the cleanup ran (a reboot pulse): clean up, boot.
          await node.powerOff();
          await node.boot();
        }
      })
      .catch(report);
  };

  const bmcTails = o.feeds.map((f) => ({
    p: state.get(f.node.name)!,
    tail: { file: `${f.bmc.dir}/chassis.log`, offset: 0, partial: "" },
  }));
  const pduTails = o.pdus.map((pdu, i) => ({
    i,
    tail: { file: `${pdu.dir}/sets.log`, offset: 0, partial: "" },
  }));
  // Start from what the files hold now (events before this are history).
  for (const b of bmcTails) readNewLines(b.tail);
  for (const d of pduTails) readNewLines(d.tail);

  const scan = (): void => {
    for (const { p, tail } of bmcTails) {
      for (const line of readNewLines(tail)) {
        const m = /^set (power|shutdown) ([01])/.exec(line);
        if (!m || p.bmcStuck) continue;
        const on = m[1] === "power" && m[2] === "1";
        if (on === p.chassis) continue;
        p.chassis = on;
        apply(p, `BMC chassis power ${on ? "on" : "off"}`);
      }
    }
    for (const { i, tail } of pduTails) {
      for (const line of readNewLines(tail)) {
        const m = /^(?:1:)?(\d+) (on|off)$/.exec(line);
        if (!m) continue;
        const outlet = Number(m[1]);
        if (stuckOutlets[i]!.has(outlet)) continue;
        const on = m[2] === "on";
        for (const p of state.values()) {
          if (p.feed.outlets[i] !== outlet || p.outlets[i] === on) continue;
          p.outlets[i] = on;
          apply(p, `PDU ${String.fromCharCode(65 + i)} outlet ${outlet} ${on ? "on" : "off"}`);
        }
      }
    }
  };

  const watchers: fs.FSWatcher[] = [];
  for (const t of [...bmcTails.map((b) => b.tail), ...pduTails.map((d) => d.tail)]) {
    try {
      watchers.push(fs.watch(t.file, () => scan()));
    } catch (err) {
      report(err);
    }
  }
  const poll = setInterval(scan, 100);

  const get = (name: string): NodePower => {
    const p = state.get(name);
    if (!p) throw new Error(`no node '${name}' on the lab's power`);
    return p;
  };

  return {
    bmcPowered: (name) => bmcPowered(get(name)),
    nodePowered: (name) => nodePowered(get(name)),
    async setSuppliesDead(name, dead) {
      const p = get(name);
      scan();
      if (p.suppliesDead === dead) return;
      p.suppliesDead = dead;
      apply(p, dead ? "supplies dead" : "supplies repaired");
      await p.chain;
    },
    async setOutletStuck(pdu, outlet, stuck) {
      scan();
      const set = stuckOutlets[pdu];
      if (!set) throw new Error(`no PDU ${pdu}`);
      if (stuck) set.add(outlet);
      else set.delete(outlet);
      await o.pdus[pdu]!.setFault({ stuck: [...set] });
    },
    sync: () => scan(),
    events: () => [...log],
    async settle(ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        scan();
        await Promise.all([...state.values()].map((p) => p.chain));
        const off = [...state.values()].filter((p) => nodePowered(p) !== p.feed.node.running);
        if (off.length === 0) return;
        if (Date.now() > deadline)
          throw new Error(
            `power did not settle within ${ms} ms: ${off.map((p) => p.feed.node.name).join(", ")}`,
          );
        await sleep(50);
      }
    },
    async stop() {
      clearInterval(poll);
      for (const w of watchers) w.close();
      await Promise.all([...state.values()].map((p) => p.chain));
      if (errors.length > 0)
        throw new Error(`power controller errors: ${errors.map((e) => e.message).join("; ")}`);
    },
  };
}
