// The cluster lab's power (docs/cluster-lab.md): each node's BMC and its two PDU outlets decide
// whether it runs. kvmha's fence agents, run inside node1 as Pacemaker's fencer would run them,
// switch node2 and node3 through the management network. Needs root, the lab's packages
// (scripts/lab-deps.sh) and `npm run build`.
// Run: node --import tsx --test test/integration/cluster-power.test.ts

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { stdinOf } from "../lab/agents.js";
import { startCluster, type Cluster } from "../lab/cluster/cluster.js";
import { allOnline, waitForStatus } from "../lab/cluster/crm.js";
import type { RunResult } from "../lab/clients.js";

describe("cluster lab: power", { timeout: 240_000 }, () => {
  let c: Cluster | undefined;
  before(async () => {
    c = await startCluster();
  });
  after(async () => {
    await c?.stop();
  });

  const names = () => c!.nodes.nodes.map((n) => n.name);
  const fence = (
    agent: "fence_ipmi" | "fence_pdu",
    options: Record<string, string>,
  ): Promise<RunResult> =>
    c!.nodes
      .node("node1")
      .exec(`/usr/sbin/${agent}`, [], { input: stdinOf(options), killAfterMs: 60_000 });
  const show = (r: RunResult) => `exit ${r.code} in ${r.ms} ms\n${r.stdout}${r.stderr}`;

  test("the cluster forms with every device reachable from the nodes", async () => {
    await waitForStatus(c!.nodes.nodes[0]!, "all online", allOnline(names()), 90_000);
    for (const n of names()) {
      const r = await fence("fence_ipmi", { ...c!.ipmiOptions(n), action: "status" });
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /Status: ON/);
    }
    for (const i of [0, 1]) {
      const r = await fence("fence_pdu", {
        ...c!.pduOptions(i),
        action: "status",
        plug: String(c!.outletOf("node2")),
      });
      assert.equal(r.code, 0, show(r));
    }
  });

  test("fence_ipmi off kills node2 at once; on boots it and it rejoins", async () => {
    const n2 = c!.nodes.node("node2");
    let r = await fence("fence_ipmi", { ...c!.ipmiOptions("node2"), action: "off" });
    assert.equal(r.code, 0, show(r));
    assert.equal(n2.running, false, "node2 still runs after its BMC said off");
    r = await fence("fence_ipmi", { ...c!.ipmiOptions("node2"), action: "status" });
    assert.equal(r.code, 2, show(r)); // off
    r = await fence("fence_ipmi", { ...c!.ipmiOptions("node2"), action: "on" });
    assert.equal(r.code, 0, show(r));
    await c!.power.settle(15_000);
    assert.equal(n2.running, true);
    await waitForStatus(c!.nodes.nodes[0]!, "all online", allOnline(names()), 60_000);
  });

  test("fence_pdu: one outlet off leaves node3 running; both off kill node3 and its BMC", async () => {
    const n3 = c!.nodes.node("node3");
    const plug = String(c!.outletOf("node3"));
    let r = await fence("fence_pdu", { ...c!.pduOptions(0), action: "off", plug });
    assert.equal(r.code, 0, show(r));
    assert.equal(n3.running, true, "node3 died with one supply left");
    r = await fence("fence_pdu", { ...c!.pduOptions(1), action: "off", plug });
    assert.equal(r.code, 0, show(r));
    assert.equal(n3.running, false, "node3 runs with both outlets off");
    // Its BMC has no power: no answer, and fence_ipmi says so within its login timeout.
    r = await fence("fence_ipmi", {
      ...c!.ipmiOptions("node3"),
      action: "status",
      login_timeout: "3",
    });
    assert.notEqual(r.code, 0, show(r));
    assert.ok(r.ms < 20_000, show(r));
    // One outlet back: BMC and node come back (chassis power was on).
    r = await fence("fence_pdu", { ...c!.pduOptions(1), action: "on", plug });
    assert.equal(r.code, 0, show(r));
    await c!.power.settle(15_000);
    assert.equal(n3.running, true);
    r = await fence("fence_ipmi", { ...c!.ipmiOptions("node3"), action: "status" });
    assert.equal(r.code, 0, show(r));
    r = await fence("fence_pdu", { ...c!.pduOptions(0), action: "on", plug });
    assert.equal(r.code, 0, show(r));
    await waitForStatus(c!.nodes.nodes[0]!, "all online", allOnline(names()), 60_000);
    console.log(
      c!.power
        .events()
        .map((e) => `${new Date(e.at).toISOString().slice(11, 23)} ${e.node}: ${e.what}`)
        .join("\n"),
    );
  });
});
