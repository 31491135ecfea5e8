// The failover the project exists for (issue 7, docs/cluster-lab.md): a three-node Pacemaker
// cluster with kvmha's fence agents in a two-level topology (IPMI, then both PDUs) and QEMU guests
// as ocf:kvmha:VirtualDomain resources loses a node in each of the ways real clusters do. Every
// scenario is timed (fault → fencing confirmed → every guest running again; printed, never
// asserted beyond generous bounds) and watched: a guest running on two nodes at once fails it.
// Needs root, the lab's packages (scripts/lab-deps.sh) and `npm run build`.
// Run: node --import tsx --test test/integration/cluster-failover.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startCluster, type Cluster } from '../lab/cluster/cluster.js';
import { configureCluster, type LabGuest } from '../lab/cluster/config.js';
import { allOnline, crmStatus, fenceHistory, waitForStatus, type CrmStatus } from '../lab/cluster/crm.js';
import { startWatcher, type Watcher } from '../lab/cluster/watcher.js';
import type { ClusterNode } from '../lab/cluster/nodes.js';

const GUESTS = ['vm1', 'vm2'];

describe('cluster failover', { timeout: 900_000 }, () => {
  let c: Cluster | undefined;
  let w: Watcher | undefined;
  let guests: LabGuest[] = [];
  const times: string[] = [];

  const names = () => c!.nodes.nodes.map((n) => n.name);
  const survivor = (victim: string): ClusterNode => c!.nodes.nodes.find((n) => n.name !== victim && n.running)!;
  const guestsStarted = (avoid?: string) => (s: CrmStatus) =>
    GUESTS.every((g) => {
      const r = s.resources.find((x) => x.id === g);
      return r !== undefined && r.role === 'Started' && r.nodes.length === 1 && r.nodes[0] !== avoid;
    });
  const placement = async (): Promise<Map<string, string>> => {
    const s = await crmStatus(c!.nodes.nodes.find((n) => n.running)!);
    return new Map(GUESTS.map((g) => [g, s?.resources.find((r) => r.id === g)?.nodes[0] ?? '']));
  };

  before(async () => {
    c = await startCluster();
    await waitForStatus(c.nodes.nodes[0]!, 'all online', allOnline(names()), 90_000);
    const t0 = Date.now();
    const conf = await configureCluster(c, { guests: GUESTS });
    guests = conf.guests;
    console.log(`configured in ${Date.now() - t0} ms: ${conf.commands.map((a) => a.join(' ')).join('; ')}`);
    await waitForStatus(c.nodes.nodes[0]!, 'guests started', guestsStarted(), 120_000);
    w = startWatcher(c.nodes.nodes);
  });
  after(async () => {
    await w?.stop();
    if (times.length > 0) console.log(`\nmeasured:\n${times.join('\n')}`);
    await c?.stop();
  });

  /**
   * Time a fault on the node running vm1: until a survivor's fencer reports `victim` fenced, and
   * until every guest runs (Started, its QEMU there) off the victim.
   */
  async function timed(label: string, fault: (victim: ClusterNode) => Promise<void>, expect: { fencedWithinMs: number; guestsWithinMs: number }) {
    const where = await placement();
    const victim = c!.nodes.node(where.get('vm1')!);
    const watchFrom = survivor(victim.name);
    const before = (await fenceHistory(watchFrom)).filter((e) => e.target === victim.name).length;
    const t0 = Date.now();
    await fault(victim);
    let fencedAt: number | undefined;
    let guestsAt: number | undefined;
    let last: CrmStatus | undefined;
    const deadline = t0 + expect.guestsWithinMs;
    while (Date.now() < deadline && (fencedAt === undefined || guestsAt === undefined)) {
      const from = c!.nodes.nodes.find((n) => n.name !== victim.name && n.running) ?? watchFrom;
      if (fencedAt === undefined) {
        const h = (await fenceHistory(from)).filter((e) => e.target === victim.name && e.state === 'success');
        if (h.length > before) fencedAt = Date.now();
      }
      last = (await crmStatus(from)) ?? last;
      if (guestsAt === undefined && last && guestsStarted(victim.name)(last)) {
        if (GUESTS.every((g) => w!.where(g).length === 1 && w!.where(g)[0] !== victim.name)) guestsAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const line = `${label}: victim ${victim.name}; fenced ${fencedAt === undefined ? 'never' : `${((fencedAt - t0) / 1000).toFixed(1)} s`}, guests running ${guestsAt === undefined ? 'never' : `${((guestsAt - t0) / 1000).toFixed(1)} s`} after the fault`;
    times.push(line);
    console.log(line);
    return { victim, fencedAt: fencedAt === undefined ? undefined : fencedAt - t0, guestsAt: guestsAt === undefined ? undefined : guestsAt - t0, last, survivor: watchFrom };
  }

  async function recover(): Promise<void> {
    for (const n of names()) await c!.power.setSuppliesDead(n, false);
    await c!.power.settle(30_000);
    await waitForStatus(c!.nodes.nodes[0]!, 'all online', allOnline(names()), 120_000);
    await waitForStatus(c!.nodes.nodes[0]!, 'guests started', guestsStarted(), 120_000);
    assert.deepEqual(w!.violations(), [], 'a guest ran on two nodes at once');
  }

  test('scenario 2: total power loss (node and BMC die): level 1 fails fast, level 2 switches both outlets off, guests restart elsewhere', async () => {
    const r = await timed('scenario 2 (total power loss)', (v) => c!.power.setSuppliesDead(v.name, true), { fencedWithinMs: 60_000, guestsWithinMs: 180_000 });
    assert.ok(r.fencedAt !== undefined, `never fenced; last status ${JSON.stringify(r.last)}\n${await r.survivor.log(80)}`);
    assert.ok(r.guestsAt !== undefined, `guests not running again; last status ${JSON.stringify(r.last)}\n${await r.survivor.log(80)}`);
    const pduSets = await Promise.all(c!.pdus.map((p) => p.sets()));
    const plug = String(c!.outletOf(r.victim.name));
    for (const s of pduSets) assert.ok(s.includes(`${plug} off`), `PDU sets: ${JSON.stringify(pduSets)}`);
    assert.deepEqual(w!.violations(), []);
    await recover();
  });
});
