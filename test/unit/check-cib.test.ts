/**
 * kvmha check's CIB model: the parser (nodes, nvpair precedence, id-refs, templates, ruled sets
 * left out, every fencing-level target form, location constraints, status) and the fencer's own
 * readings of host lists, host maps, delays and timeouts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, it } from "node:test";
import { CibError, XmlError, parseCib, parseScore } from "../../topology/check/cib.js";
import {
  agentWorstSeconds,
  claimOf,
  delayOf,
  endpointOf,
  familyOf,
  fencerTimeoutSeconds,
  outletsOf,
  parseHostList,
  parseHostMap,
} from "../../topology/check/devices.js";
import { parseDurationMs, parseFencerSeconds } from "../../topology/check/duration.js";

const FIXTURES = new URL("../fixtures/cib/", import.meta.url);
const twoNode = fs.readFileSync(new URL("two-node.xml", FIXTURES), "utf8");

function cibWith(resources: string, extra = ""): string {
  return `<cib><configuration><crm_config/><nodes/><resources>${resources}</resources><constraints/>${extra}</configuration></cib>`;
}

describe("CIB parser", () => {
  it("reads the two-node fixture: nodes, devices, guest, levels, constraints, status", () => {
    const cib = parseCib(twoNode);
    assert.deepEqual(
      cib.nodes.map((n) => [n.id, n.uname, n.type]),
      [
        ["1", "node1", "member"],
        ["2", "node2", "member"],
      ],
    );
    assert.equal(cib.properties.get("stonith-timeout"), "120s");
    const stonith = cib.primitives.filter((p) => p.class === "stonith").map((p) => p.id);
    assert.deepEqual(stonith, [
      "fence-ipmi-node1",
      "fence-ipmi-node2",
      "fence-pdu-pdu-a",
      "fence-pdu-pdu-b",
    ]);
    const vm = cib.primitives.find((p) => p.id === "vm1");
    assert.ok(vm);
    assert.equal(vm.provider, "kvmha");
    assert.equal(vm.meta.get("allow-migrate"), "true");
    assert.equal(vm.utilization.get("memory"), "2048");
    assert.deepEqual(
      vm.ops.map((o) => [o.name, o.intervalMs, o.timeoutMs]),
      [
        ["start", 0, 90_000],
        ["stop", 0, 90_000],
        ["monitor", 10_000, 30_000],
        ["migrate_to", 0, 120_000],
        ["migrate_from", 0, 60_000],
      ],
    );
    assert.deepEqual(
      cib.levels.map((l) => [l.index, l.target, l.devices]),
      [
        [1, { kind: "node", node: "node1" }, ["fence-ipmi-node1"]],
        [2, { kind: "node", node: "node1" }, ["fence-pdu-pdu-a", "fence-pdu-pdu-b"]],
        [1, { kind: "node", node: "node2" }, ["fence-ipmi-node2"]],
        [2, { kind: "node", node: "node2" }, ["fence-pdu-pdu-a", "fence-pdu-pdu-b"]],
      ],
    );
    assert.deepEqual(
      cib.locations.map((l) => [l.rsc, l.node, l.score]),
      [
        ["fence-ipmi-node1", "node1", -Infinity],
        ["fence-ipmi-node2", "node2", -Infinity],
      ],
    );
    assert.deepEqual(
      cib.status?.map((s) => [s.uname, s.online]),
      [
        ["node1", true],
        ["node2", true],
      ],
    );
  });

  it("merges attribute sets by score then order, resolves id-refs, leaves sets with rules out", () => {
    const cib = parseCib(
      cibWith(`
      <primitive id="d" class="stonith" type="fence_ipmi">
        <instance_attributes id="low" score="1"><nvpair id="a1" name="ip" value="low"/><nvpair id="a2" name="username" value="u-low"/></instance_attributes>
        <instance_attributes id="high" score="10"><nvpair id="b1" name="ip" value="high"/></instance_attributes>
        <instance_attributes id="ruled"><rule id="r" score="INFINITY"><expression id="e" attribute="#uname" operation="eq" value="x"/></rule><nvpair id="c1" name="ip" value="ruled"/></instance_attributes>
        <instance_attributes id-ref="shared"/>
        <meta_attributes id="m"><nvpair id="m1" name="target-role" value="Started"/></meta_attributes>
      </primitive>
      <primitive id="other" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="shared"><nvpair id="s1" name="pcmk_host_list" value="n1"/></instance_attributes>
      </primitive>`),
    );
    const d = cib.primitives[0];
    assert.ok(d);
    assert.equal(d.instance.get("ip"), "high");
    assert.equal(d.instance.get("username"), "u-low");
    assert.equal(d.instance.get("pcmk_host_list"), "n1");
    assert.deepEqual(d.ruledSets, ["ruled"]);
    assert.equal(d.meta.get("target-role"), "Started");
  });

  it("reads groups, clones and templates; op timeouts from attributes or op meta", () => {
    const cib = parseCib(
      cibWith(`
      <template id="t" class="ocf" provider="kvmha" type="VirtualDomain">
        <instance_attributes id="t-ia"><nvpair id="t1" name="hypervisor" value="qemu:///system"/></instance_attributes>
        <operations><op id="t-mon" name="monitor" interval="10s"><meta_attributes id="t-mon-m"><nvpair id="t-mon-t" name="timeout" value="PT45S"/></meta_attributes></op></operations>
      </template>
      <group id="g"><meta_attributes id="g-m"><nvpair id="g1" name="allow-migrate" value="true"/></meta_attributes>
        <primitive id="vm" template="t"><instance_attributes id="vm-ia"><nvpair id="v1" name="config" value="/c.xml"/></instance_attributes></primitive>
      </group>
      <clone id="c"><primitive id="p" class="ocf" provider="heartbeat" type="Dummy"/></clone>`),
    );
    const vm = cib.primitives.find((p) => p.id === "vm");
    assert.ok(vm);
    assert.equal(vm.type, "VirtualDomain");
    assert.equal(vm.provider, "kvmha");
    assert.equal(vm.instance.get("config"), "/c.xml");
    assert.equal(vm.instance.get("hypervisor"), "qemu:///system");
    assert.deepEqual(vm.parents, [{ kind: "group", id: "g" }]);
    assert.equal(vm.ops[0]?.timeoutMs, 45_000);
    assert.deepEqual(cib.primitives.find((p) => p.id === "p")?.parents, [
      { kind: "clone", id: "c" },
    ]);
    assert.deepEqual(
      cib.containers.map((c) => [c.kind, c.id, c.meta.get("allow-migrate")]),
      [
        ["group", "g", "true"],
        ["clone", "c", undefined],
      ],
    );
  });

  it("reads every fencing-level target form and comma-separated devices", () => {
    const cib = parseCib(
      cibWith(
        "",
        `<fencing-topology>
          <fencing-level id="a" index="1" target="n1" devices="x"/>
          <fencing-level id="b" index="2" target-pattern="^n[0-9]+$" devices="p1, p2"/>
          <fencing-level id="c" index="3" target-attribute="rack" target-value="r1" devices="y"/>
        </fencing-topology>`,
      ),
    );
    assert.deepEqual(
      cib.levels.map((l) => [l.id, l.target, l.devices]),
      [
        ["a", { kind: "node", node: "n1" }, ["x"]],
        ["b", { kind: "pattern", pattern: "^n[0-9]+$" }, ["p1", "p2"]],
        ["c", { kind: "attribute", name: "rack", value: "r1" }, ["y"]],
      ],
    );
  });

  it("reads location constraints with rules, patterns and resource sets", () => {
    const cib = parseCib(
      `<cib><configuration><crm_config/><nodes/><resources/><constraints>
        <rsc_location id="l1" rsc-pattern="^fence-" node="n1" score="-inf"/>
        <rsc_location id="l2" rsc="d"><rule id="r" score="-INFINITY" boolean-op="or"><expression id="e1" attribute="#uname" operation="eq" value="n2"/><date_expression id="de" operation="in_range" start="2020-01-01"/></rule></rsc_location>
        <rsc_location id="l3" node="n3" score="50"><resource_set id="s"><resource_ref id="a"/><resource_ref id="b"/></resource_set></rsc_location>
      </constraints></configuration></cib>`,
    );
    assert.deepEqual(
      cib.locations.map((l) => [l.id, l.rsc, l.rscPattern, l.node, l.score]),
      [
        ["l1", undefined, "^fence-", "n1", -Infinity],
        ["l2", "d", undefined, undefined, undefined],
        ["l3", "a", undefined, "n3", 50],
        ["l3", "b", undefined, "n3", 50],
      ],
    );
    assert.equal(cib.locations[1]?.rules[0]?.opaque, true);
    assert.equal(cib.locations[1]?.rules[0]?.booleanOp, "or");
  });

  it("status: online needs membership, controller and join; newer Pacemaker writes timestamps", () => {
    const cib = parseCib(`<cib><configuration/><status>
      <node_state id="1" uname="a" in_ccm="true" crmd="online" join="member"/>
      <node_state id="2" uname="b" in_ccm="false" crmd="offline" join="down"/>
      <node_state id="3" uname="c" in_ccm="1700000000" crmd="1700000001" join="member"/>
    </status></cib>`);
    assert.deepEqual(
      cib.status?.map((s) => [s.uname, s.online]),
      [
        ["a", true],
        ["b", false],
        ["c", true],
      ],
    );
    assert.equal(parseCib("<cib><configuration/><status/></cib>").status, undefined);
  });

  it("accepts a bare <configuration>; refuses what is not a CIB with a one-line reason", () => {
    assert.equal(
      parseCib("<configuration><nodes><node id='1' uname='a'/></nodes></configuration>").nodes
        .length,
      1,
    );
    assert.throws(
      () => parseCib("<domain/>"),
      (e: unknown) => e instanceof CibError && /root element is <domain>/.test(e.message),
    );
    assert.throws(
      () => parseCib("<cib><configuration>"),
      (e: unknown) => e instanceof XmlError && !e.message.includes("\n"),
    );
    assert.throws(() => parseCib(""), XmlError);
    assert.throws(() => parseCib("not xml at all"), XmlError);
    assert.throws(() => parseCib("<cib/>"), /no <configuration>/);
    assert.throws(
      () =>
        parseCib(
          cibWith(
            "",
            `<fencing-topology><fencing-level id="x" index="1" devices="d"/></fencing-topology>`,
          ),
        ),
      /no target/,
    );
    assert.throws(
      () =>
        parseCib(
          cibWith(
            `<primitive id="x" class="stonith" type="fence_ipmi"><instance_attributes id-ref="nope"/></primitive>`,
          ),
        ),
      /'nope', which does not exist/,
    );
  });

  it("scores", () => {
    assert.equal(parseScore("INFINITY"), Infinity);
    assert.equal(parseScore("+INFINITY"), Infinity);
    assert.equal(parseScore("-inf"), -Infinity);
    assert.equal(parseScore("1000000"), Infinity);
    assert.equal(parseScore("-50"), -50);
    assert.equal(parseScore("abc"), undefined);
  });
});

describe("the fencer's readings", () => {
  it("durations: interval specs and ISO 8601", () => {
    assert.equal(parseDurationMs("90"), 90_000);
    assert.equal(parseDurationMs("90s"), 90_000);
    assert.equal(parseDurationMs("500ms"), 500);
    assert.equal(parseDurationMs("2min"), 120_000);
    assert.equal(parseDurationMs("1h"), 3_600_000);
    assert.equal(parseDurationMs("PT1M30S"), 90_000);
    assert.equal(parseDurationMs("soon"), undefined);
    assert.deepEqual(parseFencerSeconds("2min"), { seconds: 2, ignoredUnit: "min" });
    assert.deepEqual(parseFencerSeconds("60s"), { seconds: 60, ignoredUnit: undefined });
  });

  it("host lists split on whitespace, commas and semicolons; host maps keep commas in the plug", () => {
    assert.deepEqual(parseHostList("node1, node2;node3  node4"), [
      "node1",
      "node2",
      "node3",
      "node4",
    ]);
    assert.deepEqual(
      [...parseHostMap("node1:3,4;node2=5 node3:6\tnode4:a\\;b")],
      [
        ["node1", "3,4"],
        ["node2", "5"],
        ["node3", "6"],
        ["node4", "a;b"],
      ],
    );
  });

  it("claims: static lists with plugs, none, dynamic; an IPMI device without a list claims everyone", () => {
    const cib = parseCib(
      cibWith(`
      <primitive id="pdu" class="stonith" type="fence_apc_snmp"><instance_attributes id="i1"><nvpair id="a" name="pcmk_host_map" value="n1:3,04;n2:5"/><nvpair id="b" name="ip" value="10.0.0.1"/></instance_attributes></primitive>
      <primitive id="ipmi" class="stonith" type="fence_ipmilan"><instance_attributes id="i2"><nvpair id="c" name="ip" value="10.0.0.9"/></instance_attributes></primitive>
      <primitive id="pdu2" class="stonith" type="fence_pdu"><instance_attributes id="i3"><nvpair id="d" name="pcmk_host_list" value="n3"/><nvpair id="e" name="plug" value="7"/></instance_attributes></primitive>
      <primitive id="pdu3" class="stonith" type="fence_pdu"/>
      <primitive id="none" class="stonith" type="fence_sbd"><instance_attributes id="i4"><nvpair id="f" name="pcmk_host_check" value="none"/></instance_attributes></primitive>`),
    );
    const [pdu, ipmi, pdu2, pdu3, none] = cib.primitives as [never, never, never, never, never];
    const c = claimOf(pdu);
    assert.equal(c.kind, "static");
    assert.deepEqual(c.kind === "static" ? [...c.targets] : [], [
      ["n1", "3,04"],
      ["n2", "5"],
    ]);
    assert.deepEqual(outletsOf("3,04", pdu), ["3", "4"]);
    assert.equal(endpointOf(pdu), "10.0.0.1:161");
    assert.equal(endpointOf(ipmi), "10.0.0.9:623");
    assert.equal(claimOf(ipmi).kind, "all");
    const c2 = claimOf(pdu2);
    assert.deepEqual(c2.kind === "static" ? [...c2.targets] : [], [["n3", "7"]]);
    assert.equal(claimOf(pdu3).kind, "dynamic");
    assert.equal(claimOf(none).kind, "all");
    assert.equal(familyOf("fence_idrac"), "ipmi");
    assert.equal(familyOf("fence_eaton_snmp"), "pdu");
    assert.equal(familyOf("fence_sbd"), "other");
  });

  it("agent worst cases, fencer timeouts and delays", () => {
    const cib = parseCib(twoNode);
    const byId = (id: string) => cib.primitives.find((p) => p.id === id) as never;
    assert.equal(agentWorstSeconds(byId("fence-ipmi-node1"), "reboot"), 45);
    assert.equal(agentWorstSeconds(byId("fence-ipmi-node1"), "off"), 25);
    assert.equal(agentWorstSeconds(byId("fence-pdu-pdu-a"), "reboot"), 43);
    assert.equal(agentWorstSeconds(byId("fence-pdu-pdu-a"), "on"), 23);
    assert.deepEqual(fencerTimeoutSeconds(byId("fence-ipmi-node1"), "reboot", cib), {
      seconds: 120,
      from: "stonith-timeout",
      ignoredUnit: undefined,
    });
    assert.deepEqual(delayOf(byId("fence-ipmi-node1"), "node1"), {
      pcmkBaseSeconds: 10,
      randomMaxSeconds: 0,
      agentSeconds: 0,
    });
    const mapped = parseCib(
      cibWith(
        `<primitive id="d" class="stonith" type="fence_ipmi"><instance_attributes id="i"><nvpair id="a" name="pcmk_delay_base" value="n1:5s;n2:0s"/><nvpair id="b" name="pcmk_delay_max" value="3"/></instance_attributes></primitive>`,
      ),
    );
    const d = mapped.primitives[0] as never;
    assert.deepEqual(delayOf(d, "n1"), {
      pcmkBaseSeconds: 5,
      randomMaxSeconds: 3,
      agentSeconds: 0,
    });
    assert.deepEqual(delayOf(d, "n2"), {
      pcmkBaseSeconds: 0,
      randomMaxSeconds: 3,
      agentSeconds: 0,
    });
  });
});
