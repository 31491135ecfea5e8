// kvmha plan / apply's logic on CIB documents (topology/apply): what is added, changed and removed,
// what is left alone, and the errors; pure (the inventory rendered to CIB XML in memory). The push
// itself against real Pacemaker tools: test/integration/apply-cib.test.ts and cluster-apply.test.ts.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";

import { ApplyError, type CibPlan, planCib } from "../../topology/apply/diff.js";
import { parseTransition } from "../../topology/apply/simulate.js";
import { planJson, planText } from "../../topology/apply/report.js";
import { type Node, differences, serialize } from "../../topology/apply/tree.js";
import { loadForRender, renderFormat } from "../../topology/render/render.js";

const EMPTY = `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="7" num_updates="3" admin_epoch="0">
  <configuration>
    <crm_config><cluster_property_set id="cib-bootstrap-options">
      <nvpair id="cib-bootstrap-options-cluster-name" name="cluster-name" value="lab"/>
      <nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes/>
    <resources>
      <primitive id="admin-ip" class="ocf" provider="heartbeat" type="IPaddr2"/>
    </resources>
    <constraints>
      <rsc_location id="admin-ip-prefers-hv1" rsc="admin-ip" node="hv1" score="100"/>
    </constraints>
  </configuration>
  <status/>
</cib>
`;

const BASE = fs.readFileSync("test/fixtures/inventories/three-node.yaml", "utf8");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-apply-unit-"));
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

let n = 0;
async function rendered(yaml: string): Promise<string> {
  const file = path.join(dir, `inv${(n += 1)}.yaml`);
  fs.writeFileSync(file, yaml);
  const loaded = await loadForRender(file);
  const [cib] = await renderFormat(loaded.inventory, "cib", undefined, file, { pacemaker: 2 });
  return cib!.text;
}

const summary = (p: CibPlan) => p.changes.map((c) => `${c.action} ${c.kind} ${c.id}`);
const applied = (p: CibPlan) => serialize(p.planned);

describe("kvmha plan: the CIB against the inventory", () => {
  test("a first plan adds every object, leaves the admin's alone, and a second plan is empty", async () => {
    const desired = await rendered(BASE);
    const first = planCib(EMPTY, desired);
    const s = summary(first);
    assert.ok(s.includes("add guest web1") && s.includes("add device fence-pdu-pdu-a"), s.join());
    assert.ok(s.includes("add level fl-hv3-2") && s.includes("add tag kvmha-managed"));
    assert.ok(s.includes("add constraint fence-ipmi-hv1-avoids-hv1"));
    assert.ok(s.includes("change property stonith-enabled"), "an option the admin had is changed");
    assert.ok(!s.some((x) => x.includes("admin-ip") || x.includes("cluster-name")));
    assert.equal(first.planned.attrs.epoch, "8");
    assert.equal(first.planned.attrs.num_updates, "0");
    assert.match(applied(first), /admin-ip-prefers-hv1/);
    const second = planCib(applied(first), desired);
    assert.deepEqual(second.changes, []);
    assert.equal(second.planned.attrs.epoch, first.planned.attrs.epoch);
  });

  test("a changed inventory: only the changed objects change, a removed guest is removed", async () => {
    const live = applied(planCib(EMPTY, await rendered(BASE)));
    const changed = BASE.replace("timeouts: { stop: 300 }", "timeouts: { stop: 240 }")
      .replace("- { pdu: pdu-b, outlets: [3] }", "- { pdu: pdu-b, outlets: [4] }")
      .replace(/ {2}- \{ name: web2,.*\n/, "")
      .concat("  - { name: web3, config: /srv/vm/web3.xml }\n");
    const p = planCib(live, await rendered(changed));
    assert.deepEqual(summary(p), [
      "change device fence-pdu-pdu-b",
      "change guest db1",
      "remove guest web2",
      "add guest web3",
      "change tag kvmha-managed",
    ]);
    assert.deepEqual(p.removedGuests, ["web2"]);
    const db1 = p.changes.find((c) => c.id === "db1")!;
    assert.ok(
      db1.details.some((d) => /op stop .*timeout: 300s → 240s/.test(d)),
      db1.details.join(),
    );
    const pdu = p.changes.find((c) => c.id === "fence-pdu-pdu-b")!;
    assert.ok(
      pdu.details.some((d) => /pcmk_host_map/.test(d)),
      pdu.details.join(),
    );
    assert.deepEqual(planCib(applied(p), await rendered(changed)).changes, []);
  });

  test("a guest the admin stopped stays stopped (target-role is the admin's), the agent's utilization stays", async () => {
    const live = applied(planCib(EMPTY, await rendered(BASE))).replace(
      '<nvpair id="web1-meta_attributes-',
      '<nvpair id="web1-meta_attributes-target-role" name="target-role" value="Stopped"/><nvpair id="web1-meta_attributes-',
    );
    assert.match(live, /target-role/);
    assert.deepEqual(planCib(live, await rendered(BASE)).changes, []);
    // Utilization the inventory does not set is VirtualDomain's own (update_utilization).
    const agentWrote = live.replace(
      '<nvpair id="web1-utilization-cpu"',
      '<nvpair id="web1-utilization-hv_memory" name="hv_memory" value="128"/><nvpair id="web1-utilization-cpu"',
    );
    assert.match(agentWrote, /hv_memory/);
    assert.deepEqual(planCib(agentWrote, await rendered(BASE)).changes, []);
  });

  test("a secret put into a kvmha device by hand is never printed", async () => {
    const live = applied(planCib(EMPTY, await rendered(BASE))).replace(
      '<nvpair id="fence-ipmi-hv1-instance_attributes-username" name="username" value="fence"/>',
      '<nvpair id="fence-ipmi-hv1-instance_attributes-username" name="username" value="fence"/><nvpair id="x" name="password" value="s3cret"/>',
    );
    const withPassword = planCib(live, await rendered(BASE));
    assert.deepEqual(
      withPassword.changes.map((c) => c.details),
      [["-instance_attributes password"]],
    );
    const set = (v: string): Node => ({
      name: "instance_attributes",
      attrs: { id: "s" },
      children: [{ name: "nvpair", attrs: { id: "p", name: "passwd", value: v }, children: [] }],
    });
    assert.deepEqual(differences(set("s3cret"), set("other")), ["passwd: [hidden] → [hidden]"]);
  });

  test("what kvmha never made is never removed; what names a removed guest stops the plan", async () => {
    const live = applied(planCib(EMPTY, await rendered(BASE)));
    const withAdmin = live.replace(
      "<constraints>",
      '<constraints>\n<rsc_location id="web2-prefers-hv2" rsc="web2" node="hv2" score="50"/>',
    );
    const fewer = await rendered(BASE.replace(/ {2}- \{ name: web2,.*\n/, ""));
    assert.throws(
      () => planCib(withAdmin, fewer),
      (e: unknown) =>
        e instanceof ApplyError &&
        e.exitCode === 1 &&
        /removes 'web2', but 'web2-prefers-hv2' .* refers to it/.test(e.message),
    );
    // Without a kvmha-managed tag nothing counts as kvmha's: nothing is removed.
    const untagged = live.replace(/<tag id="kvmha-managed">[\s\S]*?<\/tag>/, "");
    assert.ok(!summary(planCib(untagged, fewer)).some((s) => s.startsWith("remove")));
  });

  test("an admin's object where kvmha makes one is an error, never replaced", async () => {
    const desired = await rendered(BASE);
    const clash = EMPTY.replace(
      '<primitive id="admin-ip" class="ocf" provider="heartbeat" type="IPaddr2"/>',
      '<group id="g"><primitive id="web1" class="ocf" provider="heartbeat" type="Dummy"/></group>',
    );
    assert.throws(
      () => planCib(clash, desired),
      /already has an object with id 'web1' \(a <primitive> in <group>\)/,
    );
  });

  test("not a CIB, not XML: one line", () => {
    assert.throws(() => planCib("<configuration/>", "<configuration/>"), /expected <cib>/);
    assert.throws(() => planCib("<cib", "<configuration/>"), /the CIB: not well-formed XML/);
  });
});

describe("kvmha plan: output", () => {
  test("crm_simulate's transition summary read", () => {
    const text = `Current cluster status:\n  * Node List:\n    * Online: [ hv1 hv2 ]\n\nTransition Summary:\n  * Start      web3     (        hv2 )\n  * Stop       web2     (        hv1 )  due to node availability\n  * Move       db1      ( hv1 -> hv2 )\n\nExecuting Cluster Transition:\n  * Resource action: web3 start on hv2\n`;
    assert.deepEqual(parseTransition(text), [
      { action: "Start", resource: "web3", detail: "(        hv2 )" },
      { action: "Stop", resource: "web2", detail: "(        hv1 )  due to node availability" },
      { action: "Move", resource: "db1", detail: "( hv1 -> hv2 )" },
    ]);
  });

  test("table and JSON", async () => {
    const p = planCib(EMPTY, await rendered(BASE));
    const report = { source: "x.xml", pacemaker: 2, changes: p.changes, transition: [] };
    const text = planText(report);
    assert.match(text, /^ACTION {2}KIND/);
    assert.match(text, /^add {5}guest {9}web1$/m);
    assert.match(text, /Pacemaker would then:\n {2}nothing/);
    assert.match(text, /plan: 21 to add, 1 to change, 0 to remove\n$/);
    const json = JSON.parse(planJson(report)) as { format: number; changes: unknown[] };
    assert.equal(json.format, 1);
    assert.equal(json.changes.length, 22);
    assert.equal(
      planText({ ...report, changes: [], applied: false }),
      "no changes: the cluster is as the inventory says\n",
    );
  });
});
