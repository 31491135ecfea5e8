// The cluster lab's foundation (docs/cluster-lab.md): three namespaced nodes running real corosync
// and Pacemaker form a cluster, and teardown leaves nothing behind. Needs root, corosync, pacemaker,
// libvirt (scripts/lab-deps.sh) and `npm run build` (the agents are installed into the nodes).
// Run: node --import tsx --test test/integration/cluster.test.ts

import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";

import { allOnline, crmStatus, waitForStatus } from "../lab/cluster/crm.js";
import { pidsInPidNs, reapOrphanClusters, startNodes, type Nodes } from "../lab/cluster/nodes.js";
import { orphanedByKilledOwner } from "../lab/daemon.js";

describe("cluster lab: nodes", { timeout: 180_000 }, () => {
  let lab: Nodes | undefined;
  before(async () => {
    lab = await startNodes();
  });
  after(async () => {
    await lab?.stop();
  });

  test("three nodes form a cluster: all online, one DC, same view everywhere", async () => {
    const names = lab!.nodes.map((n) => n.name);
    const t0 = Date.now();
    const s = await waitForStatus(lab!.nodes[0]!, "all online", allOnline(names), 90_000);
    console.log(`cluster formed in ${Date.now() - t0} ms after boot; DC ${s.dc}`);
    assert.ok(names.includes(s.dc!));
    for (const n of lab!.nodes) {
      const v = await waitForStatus(n, "all online", allOnline(names), 30_000);
      assert.equal(v.dc, s.dc, `${n.name} sees DC ${v.dc}`);
      const host = await n.execOk("uname", ["-n"]);
      assert.equal(host.trim(), n.name);
    }
    // The agents are installed in the nodes' view only.
    const installed = await lab!.nodes[0]!.execOk("stonith_admin", ["--list-installed"]);
    assert.match(installed, /fence_ipmi/);
    assert.match(installed, /fence_pdu/);
    const ra = await lab!.nodes[0]!.execOk("crm_resource", ["--list-agents", "ocf:kvmha"]);
    assert.match(ra, /VirtualDomain/);
  });

  test("a node powered off drops out; booted again, it rejoins", async () => {
    const n3 = lab!.node("node3");
    const ns = fs.readFileSync(`${n3.dir}/pidns`, "utf8").trim();
    await n3.powerOff();
    assert.equal(pidsInPidNs(ns).length, 0);
    await waitForStatus(
      lab!.nodes[0]!,
      "node3 offline",
      (s) => s.nodes.some((x) => x.name === "node3" && !x.online),
      30_000,
    );
    await n3.boot();
    await waitForStatus(
      lab!.nodes[0]!,
      "all online",
      allOnline(lab!.nodes.map((n) => n.name)),
      60_000,
    );
    assert.ok(await crmStatus(n3));
  });

  test("stop() leaves no process, namespace or directory", async () => {
    const pidns = lab!.nodes.map((n) => fs.readFileSync(`${n.dir}/pidns`, "utf8").trim());
    const netns = [lab!.hubNetns, ...lab!.nodes.map((n) => n.netns)];
    const dir = lab!.dir;
    await lab!.stop();
    for (const ns of pidns) assert.deepEqual(pidsInPidNs(ns), []);
    for (const ns of netns) assert.ok(!fs.existsSync(`/run/netns/${ns}`), `netns ${ns} left`);
    assert.ok(!fs.existsSync(dir));
  });
});

describe("cluster lab: a test process killed by a signal", { timeout: 120_000 }, () => {
  test("leaves nodes that the next start (reapOrphanClusters) kills, with their namespaces and directory", async () => {
    const nodesUrl = new URL("../lab/cluster/nodes.ts", import.meta.url).href;
    const left = await orphanedByKilledOwner(
      `const { startNodes } = await import(${JSON.stringify(nodesUrl)});\n` +
        "const lab = await startNodes();\n" +
        "console.log(JSON.stringify({ pid: lab.nodes[0].initPid, dir: lab.dir }));",
    );
    const pidns = fs.readFileSync(`${left.dir}/node1/pidns`, "utf8").trim();
    const netns = fs.readFileSync(`${left.dir}/netns`, "utf8").split("\n").filter(Boolean);
    assert.ok(pidsInPidNs(pidns).length > 0, "the orphaned node is not running");
    reapOrphanClusters();
    const deadline = Date.now() + 10_000;
    while (
      (pidsInPidNs(pidns).length > 0 || netns.some((n) => fs.existsSync(`/run/netns/${n}`))) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(pidsInPidNs(pidns), []);
    for (const n of netns) assert.ok(!fs.existsSync(`/run/netns/${n}`), `netns ${n} left`);
    assert.ok(!fs.existsSync(left.dir));
  });
});
