// The failover the project exists for (issue 7, docs/cluster-lab.md): a three-node Pacemaker
// cluster with kvmha's fence agents in a two-level topology (IPMI, then both PDUs) and QEMU guests
// as ocf:kvmha:VirtualDomain resources loses a node in each of the ways real clusters do. Every
// scenario is timed (fault → fencing confirmed → every guest running again; printed, never
// asserted beyond generous bounds) and watched: a guest running on two nodes at once fails it.
// Needs root, the lab's packages (scripts/lab-deps.sh) and `npm run build`.
// Run: node --import tsx --test test/integration/cluster-failover.test.ts

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startCluster, type Cluster } from '../lab/cluster/cluster.js';
import { configureCluster, type LabGuest } from '../lab/cluster/config.js';
import { allOnline, crmStatus, deviceResults, fenceResults, waitForStatus, type CrmStatus, type DeviceResult, type FenceResult } from '../lab/cluster/crm.js';
import type { ClusterNode } from '../lab/cluster/nodes.js';
import { startWatcher, type Watcher } from '../lab/cluster/watcher.js';

const GUESTS = ['vm1', 'vm2'];

describe('cluster failover', { timeout: 1_200_000 }, () => {
  let c: Cluster | undefined;
  let w: Watcher | undefined;
  let guests: LabGuest[] = [];
  const times: string[] = [];

  const names = () => c!.nodes.nodes.map((n) => n.name);
  const logs = () => c!.nodes.nodes.map((n) => path.join(n.dir, 'log/pacemaker/pacemaker.log'));
  const anyUp = (not?: string): ClusterNode => c!.nodes.nodes.find((n) => n.name !== not && n.running) ?? c!.nodes.nodes[0]!;
  const sec = (ms: number | undefined) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);
  /** Every guest Started on exactly one node (and, with `avoid`, not there), its QEMU on one node only. */
  const guestsUp = (s: CrmStatus, avoid?: string): boolean =>
    GUESTS.every((g) => {
      const r = s.resources.find((x) => x.id === g);
      const q = w ? w.where(g) : [];
      return r !== undefined && r.role === 'Started' && r.nodes.length === 1 && r.nodes[0] !== avoid && (!w || (q.length === 1 && q[0] === r.nodes[0]));
    });
  const placement = async (): Promise<Map<string, string>> => {
    const s = await crmStatus(anyUp());
    return new Map(GUESTS.map((g) => [g, s?.resources.find((r) => r.id === g)?.nodes[0] ?? '']));
  };
  const diag = async (from: ClusterNode, last: CrmStatus | undefined) =>
    `last status ${JSON.stringify(last)}\nfencing: ${JSON.stringify(await fenceResults(logs()))}\npower: ${JSON.stringify(c!.power.events().slice(-12))}\n--- ${from.name} pacemaker.log ---\n${await from.log(60)}`;

  before(async () => {
    c = await startCluster();
    await waitForStatus(c.nodes.nodes[0]!, 'all online', allOnline(names()), 90_000);
    const t0 = Date.now();
    const conf = await configureCluster(c, { guests: GUESTS });
    guests = conf.guests;
    console.log(`configured in ${Date.now() - t0} ms: ${conf.commands.map((a) => a.join(' ')).join('; ')}`);
    await waitForStatus(c.nodes.nodes[0]!, 'guests started', (s) => guestsUp(s), 120_000);
    w = startWatcher(c.nodes.nodes);
  });
  after(async () => {
    await w?.stop();
    if (times.length > 0) console.log(`\nmeasured:\n${times.join('\n')}`);
    await c?.stop();
  });

  /** Back to three healthy nodes with every guest running; done after every scenario, also a failed one. */
  async function recover(): Promise<void> {
    for (const n of names()) await c!.nodes.setLink(n, true);
    for (let i = 0; i < 2; i++) for (const n of names()) await c!.power.setOutletStuck(i, c!.outletOf(n), false);
    for (const n of names()) await c!.power.setSuppliesDead(n, false);
    await c!.power.settle(30_000);
    await waitForStatus(c!.nodes.nodes[0]!, 'all online', allOnline(names()), 120_000);
    await waitForStatus(c!.nodes.nodes[0]!, 'guests started', (s) => guestsUp(s), 120_000);
  }

  async function scenario(body: () => Promise<void>): Promise<void> {
    let failed = true;
    try {
      await body();
      failed = false;
    } finally {
      try {
        await recover();
      } catch (err) {
        if (!failed) throw err;
      }
      if (!failed) assert.deepEqual(w!.violations(), [], 'a guest ran on two nodes at once');
    }
  }

  /**
   * Fault the node running vm1 and time it: until a fencer reports the victim fenced (OK), and
   * then until every guest runs again (Started on one node, its QEMU there and nowhere else).
   */
  async function timed(label: string, fault: (victim: ClusterNode) => Promise<void>, withinMs = 180_000) {
    const victim = c!.nodes.node((await placement()).get('vm1')!);
    const t0 = Date.now();
    await fault(victim);
    let fenced: FenceResult | undefined;
    let guestsAt: number | undefined;
    let last: CrmStatus | undefined;
    while (Date.now() < t0 + withinMs && (fenced === undefined || guestsAt === undefined)) {
      fenced ??= (await fenceResults(logs(), t0)).find((r) => r.target === victim.name && r.ok);
      last = (await crmStatus(anyUp(victim.name))) ?? last;
      if (fenced && last && guestsUp(last)) guestsAt = Date.now();
      else await new Promise((r) => setTimeout(r, 200));
    }
    const attempts = (await fenceResults(logs(), t0)).filter((r) => r.target === victim.name);
    const line = `${label}: victim ${victim.name}; fencing confirmed ${sec(fenced && fenced.at - t0)}, every guest running ${sec(guestsAt && guestsAt - t0)} after the fault (fencing results: ${attempts.map((r) => `${r.action} ${r.ok ? 'OK' : r.result}`).join(', ') || 'none'})`;
    times.push(line);
    console.log(line);
    if (!fenced || guestsAt === undefined) assert.fail(`${line}\n${await diag(anyUp(victim.name), last)}`);
    return { victim, t0 };
  }

  test('scenario 2: total power loss (node and BMC die): level 1 fails fast, level 2 switches both outlets off, guests restart elsewhere', () =>
    scenario(async () => {
      const { victim } = await timed('scenario 2 (total power loss)', (v) => c!.power.setSuppliesDead(v.name, true));
      const plug = String(c!.outletOf(victim.name));
      const sets = await Promise.all(c!.pdus.map((p) => p.sets()));
      for (const s of sets) assert.ok(s.includes(`${plug} off`), `PDU sets: ${JSON.stringify(sets)}`);
    }));

  test('scenario 1: node hang (corosync and Pacemaker killed, BMC alive): level 1 fences, guests restart elsewhere', () =>
    scenario(async () => {
      const { victim } = await timed('scenario 1 (node hang)', async (v) => {
        const pids = v.killProcesses(/^(corosync|pacemakerd|pacemaker-.*)$/);
        assert.ok(pids.length >= 2, `killed ${pids.join(' ')}`);
      });
      const calls = await c!.bmcs.get(victim.name)!.chassisCalls();
      assert.ok(calls.includes('set power 0'), `BMC calls: ${calls.join(', ')}`);
    }));

  test('scenario 4: node cut off from the network (still running): fenced, guests restarted elsewhere, never two copies', () =>
    scenario(async () => {
      await timed('scenario 4 (network cut)', (v) => c!.nodes.setLink(v.name, false));
    }));

  test('scenario 3: total power loss with one PDU outlet stuck on: guests stay down until fencing is proven, then restart', () =>
    scenario(async () => {
      const where = await placement();
      const victim = c!.nodes.node(where.get('vm1')!);
      const onVictim = GUESTS.filter((g) => where.get(g) === victim.name);
      const outlet = c!.outletOf(victim.name);
      await c!.power.setOutletStuck(0, outlet, true);
      const t0 = Date.now();
      await c!.power.setSuppliesDead(victim.name, true);
      // While fencing cannot be proven, the victim's guests must not start anywhere else. Hold until
      // PDU A's agent has failed (each run waits power_timeout, 20 s, for the outlet to read off;
      // Pacemaker runs it twice), and at least 30 s.
      const holdMs = 30_000;
      const giveUp = t0 + 150_000;
      let runs: DeviceResult[] = [];
      for (;;) {
        await new Promise((res) => setTimeout(res, 500));
        for (const g of onVictim) {
          const elsewhere = w!.where(g).filter((n) => n !== victim.name);
          assert.deepEqual(elsewhere, [], `${g} started at ${sec(Date.now() - t0)} while ${victim.name} was not fenced`);
        }
        runs = (await deviceResults(logs(), t0)).filter((r) => r.target === victim.name);
        if (Date.now() - t0 >= holdMs && runs.some((r) => r.device === 'fence-pdu-a' && r.rc !== 0)) break;
        if (Date.now() > giveUp) assert.fail(`PDU A's agent never failed; agent runs: ${JSON.stringify(runs)}`);
      }
      const heldMs = Date.now() - t0;
      // Fencing was tried and not proven: no success.
      assert.deepEqual((await fenceResults(logs(), t0)).filter((r) => r.target === victim.name && r.ok), []);
      const failedAttempts = runs.filter((r) => r.rc !== 0);
      const sets = await c!.pdus[0]!.sets();
      assert.ok(sets.includes(`${outlet} off`), `PDU A never asked to switch outlet ${outlet} off: ${sets.join(', ')}`);
      // The outlet works again: a later attempt fences, the guests come back.
      await c!.power.setOutletStuck(0, outlet, false);
      const t1 = Date.now();
      let fenced: FenceResult | undefined;
      let guestsAt: number | undefined;
      let last: CrmStatus | undefined;
      while (Date.now() - t1 < 180_000 && (fenced === undefined || guestsAt === undefined)) {
        fenced ??= (await fenceResults(logs(), t1)).find((r) => r.target === victim.name && r.ok);
        last = (await crmStatus(anyUp(victim.name))) ?? last;
        if (fenced && last && guestsUp(last)) guestsAt = Date.now();
        else await new Promise((res) => setTimeout(res, 200));
      }
      const line = `scenario 3 (outlet stuck on): victim ${victim.name}; ${failedAttempts.length} failed agent runs (${failedAttempts.map((r) => `${r.device} ${r.action} rc ${r.rc}`).join(', ')}) in ${sec(heldMs)}, guests held down; after the repair fencing confirmed ${sec(fenced && fenced.at - t1)}, every guest running ${sec(guestsAt && guestsAt - t1)} later`;
      times.push(line);
      console.log(line);
      if (!fenced || guestsAt === undefined) assert.fail(`${line}\n${await diag(anyUp(victim.name), last)}`);
    }));

  test('scenario 5: standby moves the guests away by live migration (uptime continues), then unstandby', () =>
    scenario(async () => {
      const where = await placement();
      const node = c!.nodes.node(where.get('vm1')!);
      const moving = guests.filter((g) => where.get(g.name) === node.name);
      const uptimeOf = async (g: LabGuest): Promise<number> => {
        const text = await readFile(g.consoleLog, 'utf8').catch(() => '');
        const all = [...text.matchAll(/kvmha-guest uptime (\d+(?:\.\d+)?)/g)];
        return all.length ? Number(all[all.length - 1]![1]) : -1;
      };
      // Old enough that a restarted guest (uptime from 0) cannot pass for a migrated one.
      const before = new Map<string, number>();
      for (const g of moving) {
        const deadline = Date.now() + 90_000;
        let up = await uptimeOf(g);
        while (up < 15 && Date.now() < deadline) {
          await new Promise((res) => setTimeout(res, 500));
          up = await uptimeOf(g);
        }
        before.set(g.name, up);
      }
      const t0 = Date.now();
      await node.execOk('pcs', ['node', 'standby', node.name], { killAfterMs: 60_000 });
      const s = await waitForStatus(anyUp(node.name), 'guests moved', (x) => guestsUp(x, node.name), 180_000);
      const movedMs = Date.now() - t0;
      for (const g of moving) {
        const up0 = before.get(g.name)!;
        // The guest keeps counting: a restart would begin again near 0.
        const deadline = Date.now() + 30_000;
        let up = await uptimeOf(g);
        while (up <= up0 && Date.now() < deadline) {
          await new Promise((res) => setTimeout(res, 500));
          up = await uptimeOf(g);
        }
        assert.ok(up0 >= 15 && up > up0, `${g.name}: uptime ${up0} s before, ${up} s after the move`);
      }
      const log = (await Promise.all(c!.nodes.nodes.map((n) => n.log(5000)))).join('\n');
      for (const g of moving) assert.match(log, new RegExp(`${g.name}_migrate_to_0`), `no migrate_to of ${g.name} in the logs`);
      const line = `scenario 5 (standby): ${moving.map((g) => g.name).join(', ')} live-migrated off ${node.name} to ${moving.map((g) => s.resources.find((r) => r.id === g.name)?.nodes[0]).join(', ')} in ${sec(movedMs)}, uptime continued`;
      times.push(line);
      console.log(line);
      await node.execOk('pcs', ['node', 'unstandby', node.name], { killAfterMs: 60_000 });
    }));
});
