// The scenario harness of the cluster lab: a configured cluster with guests
// and the split-brain watcher, timing a fault from the fault to fencing
// confirmed and to every guest running again, and putting the lab right after
// each scenario. Shared by the scenario tests with kvmha's agents and with the
// reference agents.

import assert from "node:assert/strict";
import path from "node:path";

import { startCluster, type Cluster } from "./cluster.js";
import { configureCluster, type AgentSet, type ConfigureOptions, type LabGuest } from "./config.js";
import {
  allOnline,
  crmStatus,
  fenceResults,
  waitForStatus,
  type CrmStatus,
  type FenceResult,
} from "./crm.js";
import type { LabGeneration } from "../generation.js";
import type { ClusterNode, NodeSpec } from "./nodes.js";
import { startWatcher, type Watcher } from "./watcher.js";

export interface Timed {
  victim: ClusterNode;
  t0: number;
  /** ms from the fault to fencing confirmed. */
  fencedMs: number;
  /** ms from the fault to every guest running again. */
  guestsMs: number;
}

export interface FailoverLab {
  readonly c: Cluster;
  readonly w: Watcher;
  readonly guests: readonly LabGuest[];
  /** One line per timed scenario (printed at stop). */
  readonly times: string[];
  /** The nodes' Pacemaker logs (host paths). */
  logs(): string[];
  /** A running node other than `not`. */
  anyUp(not?: string): ClusterNode;
  /** Every guest Started on exactly one node (and, with `avoid`, not there), its QEMU on that node only. */
  guestsUp(s: CrmStatus, avoid?: string): boolean;
  /** Guest → node it is Started on, as crm_mon says. */
  placement(): Promise<Map<string, string>>;
  /** Diagnostics for a failure message. */
  diag(from: ClusterNode, last: CrmStatus | undefined): Promise<string>;
  /** Run a scenario body, then put the lab right (also after a failure) and check the watcher. */
  scenario(body: () => Promise<void>): Promise<void>;
  /** Fault the node running the first guest and time it (see Timed); fails if either never happens within `withinMs`. */
  timed(
    label: string,
    fault: (victim: ClusterNode) => Promise<void>,
    withinMs?: number,
  ): Promise<Timed>;
  stop(): Promise<void>;
}

export function sec(ms: number | undefined): string {
  return ms === undefined ? "never" : `${(ms / 1000).toFixed(1)} s`;
}

export async function startFailoverLab(o: {
  guests: string[];
  agents?: AgentSet;
  configure?: Pick<ConfigureOptions, "ipmiExtra" | "pduExtra" | "properties">;
  /** The lab generation the nodes run (default the host's: Debian 12, Pacemaker 2.1). */
  generation?: LabGeneration;
  /** The lab's nodes (e.g. with a Pacemaker Remote node); default node1..node3, all members. */
  nodes?: NodeSpec[];
  /** This node's BMC speaks Redfish (startCluster's redfishNode). */
  redfishNode?: string;
}): Promise<FailoverLab> {
  const c = await startCluster({
    ...(o.generation ? { generation: o.generation } : {}),
    ...(o.nodes ? { nodes: o.nodes } : {}),
    ...(o.redfishNode ? { redfishNode: o.redfishNode } : {}),
  });
  let w: Watcher | undefined;
  try {
    const names = c.nodes.nodes.map((n) => n.name);
    const logs = () => c.nodes.nodes.map((n) => path.join(n.dir, "log/pacemaker/pacemaker.log"));
    const anyUp = (not?: string): ClusterNode =>
      c.nodes.nodes.find((n) => n.name !== not && n.running) ?? c.nodes.nodes[0]!;
    const guestsUp = (s: CrmStatus, avoid?: string): boolean =>
      o.guests.every((g) => {
        const r = s.resources.find((x) => x.id === g);
        const q = w ? w.where(g) : [];
        return (
          r !== undefined &&
          r.role === "Started" &&
          r.nodes.length === 1 &&
          r.nodes[0] !== avoid &&
          (!w || (q.length === 1 && q[0] === r.nodes[0]))
        );
      });
    const placement = async (): Promise<Map<string, string>> => {
      const s = await crmStatus(anyUp());
      return new Map(
        o.guests.map((g) => [g, s?.resources.find((r) => r.id === g)?.nodes[0] ?? ""]),
      );
    };
    const diag = async (from: ClusterNode, last: CrmStatus | undefined) =>
      `last status ${JSON.stringify(last)}\nfencing: ${JSON.stringify(await fenceResults(logs()))}\npower: ${JSON.stringify(c.power.events().slice(-12))}\n--- ${from.name} pacemaker.log ---\n${await from.log(60)}`;

    // Remote nodes join through the configuration's connection resources.
    const members = c.nodes.nodes.filter((n) => !n.remote).map((n) => n.name);
    await waitForStatus(c.nodes.nodes[0]!, "all online", allOnline(members), 90_000);
    const t0 = Date.now();
    const conf = await configureCluster(c, {
      ...o.configure,
      guests: o.guests,
      agents: o.agents ?? "kvmha",
    });
    console.log(
      `configured (${o.agents ?? "kvmha"} agents) in ${Date.now() - t0} ms: ${conf.commands.map((a) => a.join(" ")).join("; ")}`,
    );
    await waitForStatus(c.nodes.nodes[0]!, "guests started", (s) => guestsUp(s), 120_000);
    const watcher = startWatcher(c.nodes.nodes);
    w = watcher;
    const times: string[] = [];

    const recover = async (): Promise<void> => {
      for (const n of names) await c.nodes.setLink(n, true);
      for (let i = 0; i < 2; i++)
        for (const n of names) await c.power.setOutletStuck(i, c.outletOf(n), false);
      for (const n of names) await c.power.setSuppliesDead(n, false);
      await c.power.settle(30_000);
      await waitForStatus(c.nodes.nodes[0]!, "all online", allOnline(names), 120_000);
      await waitForStatus(c.nodes.nodes[0]!, "guests started", (s) => guestsUp(s), 120_000);
    };

    return {
      c,
      w: watcher,
      guests: conf.guests,
      times,
      logs,
      anyUp,
      guestsUp,
      placement,
      diag,
      async scenario(body) {
        const mark = c.power.events().length;
        let failed = true;
        try {
          await body();
          failed = false;
        } finally {
          try {
            await recover();
          } catch (err) {
            // A failed recovery fails a scenario that passed; a failed body's error stays first.
            // eslint-disable-next-line no-unsafe-finally
            if (!failed) throw err;
          }
          if (!failed) {
            assert.deepEqual(watcher.violations(), [], "a guest ran on two nodes at once");
            // One fault, one power cut at most per node: never a rebooted node cut again by a late result.
            const cuts = new Map<string, number>();
            const on = new Map<string, boolean>();
            for (const e of c.power.events().slice(mark)) {
              const now = / node on,/.test(e.what);
              if (on.get(e.node) !== false && !now) cuts.set(e.node, (cuts.get(e.node) ?? 0) + 1);
              on.set(e.node, now);
            }
            for (const [node, n] of cuts)
              assert.ok(
                n <= 1,
                `${node} lost power ${n} times in one scenario: ${JSON.stringify(c.power.events().slice(mark))}`,
              );
          }
        }
      },
      async timed(label, fault, withinMs = 180_000) {
        const victim = c.nodes.node((await placement()).get(o.guests[0]!)!);
        const start = Date.now();
        await fault(victim);
        let fenced: FenceResult | undefined;
        let guestsAt: number | undefined;
        let last: CrmStatus | undefined;
        while (Date.now() < start + withinMs && (fenced === undefined || guestsAt === undefined)) {
          fenced ??= (await fenceResults(logs(), start)).find(
            (r) => r.target === victim.name && r.ok,
          );
          last = (await crmStatus(anyUp(victim.name))) ?? last;
          if (fenced && last && guestsUp(last)) guestsAt = Date.now();
          else await new Promise((r) => setTimeout(r, 200));
        }
        const attempts = (await fenceResults(logs(), start)).filter(
          (r) => r.target === victim.name,
        );
        const line = `${label}: victim ${victim.name}; fencing confirmed ${sec(fenced && fenced.at - start)}, every guest running ${sec(guestsAt && guestsAt - start)} after the fault (fencing results: ${attempts.map((r) => `${r.action} ${r.ok ? "OK" : r.result}`).join(", ") || "none"})`;
        times.push(line);
        console.log(line);
        if (!fenced || guestsAt === undefined)
          assert.fail(`${line}\n${await diag(anyUp(victim.name), last)}`);
        return { victim, t0: start, fencedMs: fenced.at - start, guestsMs: guestsAt - start };
      },
      async stop() {
        await watcher.stop();
        if (times.length > 0) console.log(`\nmeasured:\n${times.join("\n")}`);
        await c.stop();
      },
    };
  } catch (err) {
    await w?.stop();
    await c.stop();
    throw err;
  }
}
