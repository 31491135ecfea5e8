/**
 * kvmha check's rules: the correct fixtures give no finding; each file in
 * test/fixtures/cib/broken/ (the correct two-node CIB with one mistake) gives exactly the findings
 * its header names; and the rules' finer points, one test each. Every finding the rules can report
 * (findings.ts) must come out of one of these tests: the last test counts them, so a rule without
 * a test fails the suite.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, it } from "node:test";
import { parseCib } from "../../topology/check/cib.js";
import { contextOf } from "../../topology/check/context.js";
import { type Finding, RULE_FINDING_IDS } from "../../topology/check/findings.js";
import { runRules as rules } from "../../topology/check/rules.js";
import type { CheckContext } from "../../topology/check/context.js";
import { parseCorosyncConf } from "../../topology/check/corosync.js";
import { applyWaivers } from "../../topology/check/waivers.js";

const FIXTURES = new URL("../fixtures/cib/", import.meta.url);
const read = (name: string): string => fs.readFileSync(new URL(name, FIXTURES), "utf8");
/** Every finding id a test here has produced (the count at the end). */
const produced = new Set<string>();
function runRules(ctx: CheckContext): Finding[] {
  const found = rules(ctx);
  for (const f of found) produced.add(f.id);
  return found;
}
const check = (xml: string): Finding[] => runRules(contextOf(parseCib(xml)));
const ids = (fs: readonly Finding[]): string[] => [...new Set(fs.map((f) => f.id))].sort();
const twoNode = read("two-node.xml");

function edit(xml: string, from: string | RegExp, to: string): string {
  const out = xml.replace(from, to);
  assert.notEqual(out, xml, `fixture edit did not apply: ${String(from)}`);
  return out;
}

const SEVERITY: Record<string, "error" | "warning"> = {
  "stonith-disabled": "error",
  "no-fencing-devices": "error",
  "node-unfenceable": "error",
  "node-without-level": "warning",
  "node-fenced-by-unlisted-device": "warning",
  "pdu-level-incomplete": "error",
  "pdu-not-in-topology": "warning",
  "level-unknown-device": "error",
  "level-device-not-for-node": "error",
  "level-unknown-target": "warning",
  "device-claims-every-node": "warning",
  "device-claims-unknown": "warning",
  "device-unknown-node": "warning",
  "device-disabled": "warning",
  "device-runs-nowhere": "error",
  "device-only-on-target": "error",
  "device-on-own-target": "warning",
  "duplicate-outlet": "error",
  "duplicate-bmc": "error",
  "two-node-no-delay": "error",
  "timeout-device": "error",
  "timeout-level": "error",
  "timeout-unit-ignored": "warning",
  "guest-no-migrate": "warning",
  "guest-no-monitor": "error",
  "guest-stop-timeout": "warning",
  "guest-migrate-timeout": "warning",
  "rules-not-evaluated": "warning",
  "no-stickiness": "warning",
  "quorum-no-tie-breaker": "warning",
  "pacemaker3-unsupported": "error",
  "pacemaker3-upgrade": "warning",
  "secret-in-cib": "warning",
};

describe("kvmha check rules on the fixtures", () => {
  for (const good of ["two-node.xml", "two-node-forms.xml", "sbd-device.xml", "sbd-watchdog.xml"]) {
    it(`${good}: no finding`, () => {
      assert.deepEqual(check(read(good)), []);
    });
  }

  const broken = fs
    .readdirSync(new URL("broken/", FIXTURES))
    .filter((f) => f.endsWith(".xml"))
    .sort();
  it("there is a broken fixture for every mistake the issue lists", () => {
    assert.ok(broken.length >= 25, broken.join(" "));
  });
  for (const file of broken) {
    it(`broken/${file}: exactly the findings its header names`, () => {
      const xml = read(`broken/${file}`);
      const expected = /expect: ([a-z0-9 -]+?)\s*-->/.exec(xml)?.[1]?.split(/\s+/).sort();
      assert.ok(expected, "the fixture's header names the expected finding ids");
      const findings = check(xml);
      assert.deepEqual(ids(findings), [...new Set(expected)].sort());
      for (const f of findings) {
        assert.equal(f.severity, SEVERITY[f.id], `${f.id}'s severity`);
        assert.ok(f.message.length > 0 && !f.message.includes("\n"), "one-line message");
        assert.ok(f.hint.length > 0 && !f.hint.includes("\n"), "one-line hint");
      }
    });
  }
});

describe("kvmha check rules, finer points", () => {
  it("names the device and level in the finding's subject, never a secret", () => {
    const f = check(read("broken/level-unknown-device.xml"));
    assert.deepEqual(
      f.map((x) => [x.subject.kind, x.subject.id]),
      [["level", "fl-node2-1"]],
    );
    assert.match(f[0]?.message ?? "", /fence-ipmi-node-2/);
    const secrets = check(read("broken/secret-in-cib.xml"));
    assert.deepEqual(
      secrets.map((x) => [x.subject.id, x.id]),
      [
        ["fence-ipmi-node2", "secret-in-cib"],
        ["fence-pdu-pdu-a", "secret-in-cib"],
      ],
    );
    for (const x of secrets) assert.doesNotMatch(x.message + x.hint, /private|s3cret-bmc/);
    // fence_pdu takes a community_script; fence_apc_snmp does not: cibsecret is its way.
    assert.match(secrets[1]?.hint ?? "", /community_script='\/bin\/cat/);
    const reference = check(
      read("broken/secret-in-cib.xml").replaceAll('type="fence_pdu"', 'type="fence_apc_snmp"'),
    );
    assert.match(
      reference.find((x) => x.subject.id === "fence-pdu-pdu-a")?.hint ?? "",
      /cibsecret set/,
    );
    // cibsecret's references are not secrets.
    assert.deepEqual(
      check(
        read("broken/secret-in-cib.xml")
          .replace('value="private"', 'value="lrm://"')
          .replace('value="s3cret-bmc"', 'value="lrm://"'),
      ),
      [],
    );
  });

  it("devices are recognized by agent and host lists, not by id", () => {
    const renamed = twoNode
      .replaceAll("fence-ipmi-node1", "bmc-a")
      .replaceAll("fence-pdu-pdu-a", "left-strip");
    assert.deepEqual(check(renamed), []);
  });

  it("the reference agents count as the same kinds of device", () => {
    let xml = twoNode
      .replaceAll('type="fence_ipmi"', 'type="fence_ipmilan"')
      .replaceAll('type="fence_pdu"', 'type="fence_apc_snmp"');
    xml = edit(
      xml,
      'provider="kvmha" type="VirtualDomain"',
      'provider="heartbeat" type="VirtualDomain"',
    );
    assert.deepEqual(check(xml), []);
    const single = edit(
      xml,
      'target="node1" devices="fence-pdu-pdu-a,fence-pdu-pdu-b"',
      'target="node1" devices="fence-pdu-pdu-a"',
    );
    assert.deepEqual(ids(check(single)), ["pdu-level-incomplete"]);
  });

  it("a PDU device without a host list is reported once as a warning, not taken for coverage", () => {
    const xml = edit(twoNode, /\s*<nvpair id="fence-pdu-pdu-b-pcmk_host_map"[^>]*\/>/, "");
    assert.deepEqual(
      check(xml).map((f) => [f.id, f.severity, f.subject.id]),
      [["device-claims-unknown", "warning", "fence-pdu-pdu-b"]],
    );
  });

  it("a node only an unlisted device may fence: warning", () => {
    let xml = edit(twoNode, /<fencing-topology>[\s\S]*<\/fencing-topology>/, "");
    xml = edit(xml, /\s*<nvpair id="fence-ipmi-node2-pcmk_host_list"[^>]*\/>/, "");
    xml = edit(xml, 'value="node1:3;node2:4"', 'value="node1:3"');
    xml = xml.replace('value="node1:3;node2:4"', 'value="node1:3"');
    const node2 = check(xml).filter((f) => f.subject.id === "node2");
    assert.deepEqual(ids(node2), ["node-fenced-by-unlisted-device"]);
  });

  it("PDU devices in no level of a node that has levels: warning", () => {
    const xml = edit(twoNode, /\s*<fencing-level id="fl-node2-2"[^>]*\/>/, "");
    assert.deepEqual(ids(check(xml)), ["pdu-not-in-topology"]);
  });

  it("a level for a node that is not in the cluster: warning", () => {
    const xml = edit(
      twoNode,
      "</fencing-topology>",
      '  <fencing-level id="fl-ghost" index="1" target="ghost" devices="fence-ipmi-node1"/>\n    </fencing-topology>',
    );
    assert.deepEqual(ids(check(xml)), ["level-unknown-target"]);
  });

  it("a level naming a resource that is not a fencing device", () => {
    const xml = edit(twoNode, 'devices="fence-ipmi-node2"', 'devices="vm1"');
    const f = check(xml).find((x) => x.id === "level-unknown-device");
    assert.match(f?.message ?? "", /not a fencing device \(ocf:VirtualDomain\)/);
  });

  it("a disabled device: warning", () => {
    const xml = edit(
      twoNode,
      '<primitive id="fence-pdu-pdu-b" class="stonith" type="fence_pdu">',
      '<primitive id="fence-pdu-pdu-b" class="stonith" type="fence_pdu">\n        <meta_attributes id="pdu-b-meta"><nvpair id="pdu-b-role" name="target-role" value="Stopped"/></meta_attributes>',
    );
    assert.deepEqual(ids(check(xml)), ["device-disabled"]);
  });

  it("an opt-in cluster with no location for a device: it runs nowhere", () => {
    const xml = edit(
      twoNode,
      '<nvpair id="cib-bootstrap-options-stonith-timeout"',
      '<nvpair id="sym" name="symmetric-cluster" value="false"/><nvpair id="cib-bootstrap-options-stonith-timeout"',
    );
    const f = check(xml);
    assert.ok(f.filter((x) => x.id === "device-runs-nowhere").length === 4, JSON.stringify(f));
  });

  it("two-node delays: pcmk_delay_max on one side, priority-fencing-delay, per-node pcmk_delay_base all count", () => {
    const noDelay = edit(twoNode, /\s*<nvpair id="fence-ipmi-node1-pcmk_delay_base"[^>]*\/>/, "");
    assert.deepEqual(ids(check(noDelay)), ["two-node-no-delay"]);
    assert.deepEqual(
      check(
        edit(
          noDelay,
          'name="pcmk_host_list" value="node2"/>',
          'name="pcmk_host_list" value="node2"/><nvpair id="m" name="pcmk_delay_max" value="15s"/>',
        ),
      ),
      [],
    );
    // priority-fencing-delay works only with resource priorities: with none, neither node waits.
    const priority = edit(
      noDelay,
      '<nvpair id="cib-bootstrap-options-stonith-timeout"',
      '<nvpair id="p" name="priority-fencing-delay" value="15s"/><nvpair id="cib-bootstrap-options-stonith-timeout"',
    );
    const unprioritized = check(priority);
    assert.deepEqual(ids(unprioritized), ["two-node-no-delay"]);
    assert.match(unprioritized[0]?.message ?? "", /no resource has a priority/);
    assert.deepEqual(
      check(
        edit(
          priority,
          'name="allow-migrate" value="true"/>',
          'name="allow-migrate" value="true"/><nvpair id="vm1-prio" name="priority" value="10"/>',
        ),
      ),
      [],
    );
    const mapped = edit(
      noDelay,
      'name="pcmk_host_list" value="node2"/>',
      'name="pcmk_host_list" value="node2"/><nvpair id="m" name="pcmk_delay_base" value="node2:10s;node1:0"/>',
    );
    assert.deepEqual(check(mapped), []);
    // Three nodes: no shoot-out between two halves, no finding.
    const three = edit(
      noDelay,
      '<node id="2" uname="node2"/>',
      '<node id="2" uname="node2"/><node id="3" uname="node3"/>',
    );
    assert.ok(!check(three).some((f) => f.id === "two-node-no-delay"));
  });

  it("SBD: a fence_sbd device needs no host list, but a two-node cluster still needs a delay", () => {
    const sbd = read("sbd-device.xml");
    assert.deepEqual(
      ids(check(edit(sbd, /\s*<nvpair id="fence-sbd-pcmk_delay_max"[^>]*\/>/, ""))),
      ["two-node-no-delay"],
    );
    const noWatchdog = edit(
      read("sbd-watchdog.xml"),
      /\s*<nvpair id="cib-bootstrap-options-stonith-watchdog-timeout"[^>]*\/>/,
      "",
    );
    assert.deepEqual(ids(check(noWatchdog)), ["no-fencing-devices"]);
  });

  it("devices in a level with others are timed for off and on, alone for reboot", () => {
    // 23 s for off or on fits 30 s; a reboot (43 s) would not, but the fencer never asks these for one.
    let xml = twoNode.replace(
      /name="pcmk_host_map" value="node1:3;node2:4"\/>/g,
      'name="pcmk_host_map" value="node1:3;node2:4"/><nvpair id="X" name="pcmk_off_timeout" value="30"/><nvpair id="Y" name="pcmk_on_timeout" value="30"/>',
    );
    xml = xml.replace(/id="X"/, 'id="X1"').replace(/id="Y"/, 'id="Y1"');
    assert.deepEqual(check(xml), []);
    const tooShort = xml.replace(
      'id="Y1" name="pcmk_on_timeout" value="30"',
      'id="Y1" name="pcmk_on_timeout" value="20"',
    );
    const f = check(tooShort);
    assert.deepEqual(
      f.map((x) => [x.id, x.subject.id]),
      [["timeout-device", "fence-pdu-pdu-a"]],
    );
    assert.match(f[0]?.message ?? "", /up to 23 s to switch on .* after 20 s \(pcmk_on_timeout\)/);
  });

  it("stonith-action=off counts one power change per device", () => {
    const tight = edit(
      twoNode,
      'name="stonith-timeout" value="120s"',
      'name="stonith-timeout" value="60s"',
    );
    assert.deepEqual(ids(check(tight)), ["timeout-level"]);
    const off = edit(
      tight,
      '<nvpair id="cib-bootstrap-options-stonith-timeout"',
      '<nvpair id="a" name="stonith-action" value="off"/><nvpair id="cib-bootstrap-options-stonith-timeout"',
    );
    assert.deepEqual(check(off), []);
  });

  it("guests: allow-migrate from rsc_defaults or a group counts; op_defaults give the stop timeout", () => {
    const noMeta = edit(twoNode, /\s*<nvpair id="vm1-allow-migrate"[^>]*\/>/, "");
    const defaults = edit(
      noMeta,
      'value="100"/>',
      'value="100"/><nvpair id="rd1" name="allow-migrate" value="yes"/>',
    );
    assert.deepEqual(check(defaults), []);
    const noStop = edit(twoNode, /\s*<op id="vm1-stop"[^>]*\/>/, "");
    assert.deepEqual(
      check(noStop),
      [],
      "Pacemaker's default 20 s leaves 5 s for a graceful shutdown",
    );
    const shortDefault = edit(
      noStop,
      "</resources>",
      '</resources>\n    <op_defaults><meta_attributes id="od"><nvpair id="od1" name="timeout" value="10s"/></meta_attributes></op_defaults>',
    );
    assert.deepEqual(ids(check(shortDefault)), ["guest-stop-timeout"]);
    const disabledMonitor = edit(
      twoNode,
      'name="monitor" interval="10s" timeout="30s"',
      'name="monitor" interval="10s" timeout="30s" enabled="false"',
    );
    assert.deepEqual(ids(check(disabledMonitor)), ["guest-no-monitor"]);
  });

  it("Pacemaker Remote nodes need fencing too; they run no device and do not count as a third member", () => {
    const remote = `<primitive id="hv3" class="ocf" provider="pacemaker" type="remote"><instance_attributes id="hv3-ia"><nvpair id="hv3-server" name="server" value="10.0.0.13"/></instance_attributes></primitive>`;
    let xml = edit(
      twoNode,
      '      <primitive id="vm1"',
      `      ${remote}\n      <primitive id="vm1"`,
    );
    let ctx = contextOf(parseCib(xml));
    assert.deepEqual(
      [ctx.members, ctx.nodes],
      [
        ["node1", "node2"],
        ["node1", "node2", "hv3"],
      ],
    );
    assert.deepEqual(
      runRules(ctx).map((f) => [f.id, f.subject.id]),
      [["node-unfenceable", "hv3"]],
    );
    // Its own BMC, kept off nothing (it could never run there), and its outlets on both PDUs.
    xml = edit(
      xml,
      '      <primitive id="vm1"',
      `      <primitive id="fence-ipmi-hv3" class="stonith" type="fence_ipmi"><instance_attributes id="i3"><nvpair id="i3a" name="ip" value="10.0.0.113"/><nvpair id="i3b" name="pcmk_host_list" value="hv3"/></instance_attributes></primitive>\n      <primitive id="vm1"`,
    );
    xml = xml.replaceAll('value="node1:3;node2:4"', 'value="node1:3;node2:4;hv3:5"');
    xml = edit(
      xml,
      "</fencing-topology>",
      '  <fencing-level id="fl-hv3-1" index="1" target="hv3" devices="fence-ipmi-hv3"/>\n      <fencing-level id="fl-hv3-2" index="2" target="hv3" devices="fence-pdu-pdu-a,fence-pdu-pdu-b"/>\n    </fencing-topology>',
    );
    ctx = contextOf(parseCib(xml));
    assert.deepEqual(runRules(ctx), []);
  });

  it("attribute sets with rules on a device or guest: said once, as a warning", () => {
    const xml = edit(
      twoNode,
      '<instance_attributes id="fence-ipmi-node2-instance_attributes">',
      '<instance_attributes id="ipmi2-ruled"><rule id="r1" score="INFINITY"><date_expression id="d1" operation="gt" start="2020-01-01"/></rule><nvpair id="r1-ip" name="ip" value="10.9.9.9"/></instance_attributes>\n        <instance_attributes id="fence-ipmi-node2-instance_attributes">',
    );
    assert.deepEqual(
      check(xml).map((f) => [f.id, f.severity, f.subject.id]),
      [["rules-not-evaluated", "warning", "fence-ipmi-node2"]],
    );
  });

  it("a host list naming a node the cluster does not have: warning (not with nodes from host lists)", () => {
    const xml = edit(twoNode, 'value="node1:3;node2:4"', 'value="node1:3;node2:4;node3:5"');
    assert.deepEqual(
      check(xml).map((f) => [f.id, f.severity, f.subject.id]),
      [["device-unknown-node", "warning", "fence-pdu-pdu-a"]],
    );
    assert.match(
      check(xml)[0]?.message ?? "",
      /names 'node3', which is not a node of this cluster/,
    );
    const noNodes = edit(xml, /<nodes>[\s\S]*<\/nodes>/, "<nodes/>");
    assert.ok(!check(noNodes).some((f) => f.id === "device-unknown-node"));
  });

  it("stickiness: rsc_defaults, or each guest and device its own; a resource may waive it", () => {
    const none = read("broken/no-stickiness.xml");
    const f = check(none);
    assert.match(
      f[0]?.message ?? "",
      /1 guest\(s\) and 4 fencing device\(s\) have no resource-stickiness/,
    );
    assert.match(f[0]?.hint ?? "", /pcs resource defaults update resource-stickiness=100/);
    const zero = edit(
      twoNode,
      'name="resource-stickiness" value="100"',
      'name="resource-stickiness" value="0"',
    );
    assert.deepEqual(ids(check(zero)), ["no-stickiness"]);
    const inf = edit(
      twoNode,
      'name="resource-stickiness" value="100"',
      'name="resource-stickiness" value="INFINITY"',
    );
    assert.deepEqual(check(inf), []);
    // Each resource with its own stickiness, none in rsc_defaults.
    let own = none;
    for (const id of [
      "fence-ipmi-node1",
      "fence-ipmi-node2",
      "fence-pdu-pdu-a",
      "fence-pdu-pdu-b",
      "vm1",
    ])
      own = edit(
        own,
        `<primitive id="${id}" class=`,
        `<primitive id="${id}" x-own="1" class=`,
      ).replace(
        new RegExp(`(<primitive id="${id}" x-own="1"[^>]*>)`),
        `$1<meta_attributes id="${id}-st"><nvpair id="${id}-st-v" name="resource-stickiness" value="10"/></meta_attributes>`,
      );
    assert.deepEqual(check(own), []);
  });

  it("quorum: an even number of voters needs a tie-breaker (read from corosync.conf)", () => {
    const conf = (quorum: string, nodes: number): string =>
      `totem {\n  version: 2\n  cluster_name: c\n}\nnodelist {\n${Array.from(
        { length: nodes },
        (_, i) => `  node {\n    ring0_addr: 10.0.0.${i + 1}\n    nodeid: ${i + 1}\n  }\n`,
      ).join("")}}\nquorum {\n  provider: corosync_votequorum # votes\n${quorum}}\n`;
    const withConf = (text: string): Finding[] =>
      runRules(
        contextOf(parseCib(twoNode), {
          corosync: { file: "/etc/corosync/corosync.conf", quorum: parseCorosyncConf(text) },
        }),
      );
    assert.deepEqual(withConf(conf("  two_node: 1\n", 2)), []);
    const bare = withConf(conf("", 2));
    assert.deepEqual(ids(bare), ["quorum-no-tie-breaker"]);
    assert.match(bare[0]?.message ?? "", /two nodes without two_node: 1/);
    const four = withConf(conf("", 4));
    assert.match(four[0]?.message ?? "", /4 voting nodes .* two halves of 2/);
    assert.match(four[0]?.hint ?? "", /auto_tie_breaker: 1, or add a quorum device/);
    assert.deepEqual(withConf(conf("  auto_tie_breaker: 1\n", 4)), []);
    assert.deepEqual(
      withConf(conf("  device {\n    model: net\n    net {\n      host: qnetd\n    }\n  }\n", 4)),
      [],
    );
    assert.deepEqual(withConf(conf("", 3)), [], "an odd count breaks its own ties");
    // Without corosync.conf (a CIB file on a workstation) nothing is said about quorum.
    assert.deepEqual(check(twoNode), []);
  });

  it("Pacemaker 3: what it removed is an error on a cluster it runs, a warning on a Pacemaker 2 CIB", () => {
    const upgrade = read("broken/pacemaker3-upgrade.xml");
    const before = check(upgrade);
    assert.match(before[0]?.message ?? "", /crmd-transition-delay: Pacemaker 3 removed it/);
    assert.match(before[0]?.hint ?? "", /before upgrading to Pacemaker 3: .*transition-delay=2s/);
    const running = edit(
      upgrade,
      '<nvpair id="cib-bootstrap-options-stonith-enabled"',
      '<nvpair id="dcv" name="dc-version" value="3.0.0-d8340737c4"/><nvpair id="cib-bootstrap-options-stonith-enabled"',
    );
    const after = check(running);
    assert.deepEqual(ids(after), ["pacemaker3-unsupported"]);
    assert.match(after[0]?.message ?? "", /runs Pacemaker 3 \(dc-version 3\.0\.0-d8340737c4\)/);
    // A pacemaker-4.0 CIB is Pacemaker 3's too; its own vocabulary is clean.
    const four = edit(twoNode, 'validate-with="pacemaker-3.9"', 'validate-with="pacemaker-4.0"');
    assert.deepEqual(check(four), []);
    assert.equal(contextOf(parseCib(four)).pacemaker.major, 3);
    // Deprecated: still works on either.
    const deprecated = edit(
      four,
      '<nvpair id="cib-bootstrap-options-stonith-timeout"',
      '<nvpair id="cf" name="concurrent-fencing" value="true"/><nvpair id="cib-bootstrap-options-stonith-timeout"',
    );
    assert.deepEqual(ids(check(deprecated)), ["pacemaker3-upgrade"]);
  });

  it("waivers: a resource's or rsc_defaults' kvmha-waive accepts warnings, never errors", () => {
    const noMigrate = read("broken/guest-no-migrate.xml");
    const waived = edit(
      noMigrate,
      /(<primitive id="vm1"[^>]*>)/,
      '$1<meta_attributes id="vm1-waive"><nvpair id="vm1-waive-v" name="kvmha-waive" value="guest-no-migrate"/></meta_attributes>',
    );
    const ctx = contextOf(parseCib(waived));
    const split = applyWaivers(ctx, runRules(ctx));
    assert.deepEqual(split.findings, []);
    assert.deepEqual(
      split.waived.map((w) => [w.id, w.subject.id, w.waivedBy]),
      [["guest-no-migrate", "vm1", "meta kvmha-waive of vm1"]],
    );
    // The cluster's waivers (rsc_defaults) cover cluster findings, and every resource's.
    const none = read("broken/no-stickiness.xml");
    const clusterWide = edit(
      none,
      "</crm_config>",
      '</crm_config>\n    <rsc_defaults><meta_attributes id="rd"><nvpair id="rd-w" name="kvmha-waive" value="no-stickiness, guest-no-migrate"/></meta_attributes></rsc_defaults>',
    );
    const c2 = contextOf(parseCib(clusterWide));
    const s2 = applyWaivers(c2, runRules(c2));
    assert.deepEqual(s2.findings, []);
    assert.deepEqual(
      s2.waived.map((w) => [w.id, w.waivedBy]),
      [["no-stickiness", "rsc_defaults kvmha-waive"]],
    );
    // What kvmha render writes: a tag per finding, listing the resources; for a cluster finding
    // the tag itself.
    const tagged = edit(
      edit(
        none,
        "</fencing-topology>",
        '</fencing-topology>\n    <tags><tag id="kvmha-waive-guest-no-migrate"><obj_ref id="vm1"/></tag><tag id="kvmha-waive-no-stickiness"><obj_ref id="vm1"/></tag></tags>',
      ),
      /\s*<nvpair id="vm1-allow-migrate"[^>]*\/>/,
      "",
    );
    const c4 = contextOf(parseCib(tagged));
    const s4 = applyWaivers(c4, runRules(c4));
    assert.deepEqual(s4.findings, []);
    assert.deepEqual(
      s4.waived.map((w) => [w.id, w.waivedBy]),
      [
        ["no-stickiness", "tag kvmha-waive-no-stickiness"],
        ["guest-no-migrate", "tag kvmha-waive-guest-no-migrate"],
      ],
    );
    // An error stays an error, whatever the waiver says.
    const disabled = edit(
      read("broken/stonith-disabled.xml"),
      'value="100"/>',
      'value="100"/><nvpair id="w" name="kvmha-waive" value="stonith-disabled"/>',
    );
    const c3 = contextOf(parseCib(disabled));
    assert.deepEqual(ids(applyWaivers(c3, runRules(c3)).findings), ["stonith-disabled"]);
  });

  it("a configuration without <nodes> takes its nodes from host lists and levels", () => {
    const noNodes = edit(twoNode, /<nodes>[\s\S]*<\/nodes>/, "<nodes/>");
    const ctx = contextOf(parseCib(noNodes));
    assert.equal(ctx.nodesFrom, "host-lists");
    assert.deepEqual(ctx.nodes, ["node1", "node2"]);
    assert.deepEqual(runRules(ctx), []);
  });
});

describe("kvmha check rules: each has a test", () => {
  it("the expected severities name exactly the rules' findings", () => {
    assert.deepEqual(Object.keys(SEVERITY).sort(), [...RULE_FINDING_IDS].sort());
  });
  // Tests run in order: this one, last in the file, sees what every test above produced.
  it("every finding of the rules was produced by a test above (a rule without a test fails here)", () => {
    const untested = RULE_FINDING_IDS.filter((id) => !produced.has(id));
    assert.deepEqual(untested, [], `rules without a test: ${untested.join(", ")}`);
  });
});
