/**
 * `kvmha check --probe` against the lab: two simulated BMCs (OpenIPMI's ipmi_sim) and two
 * simulated PDUs (snmpd with the APC rPDU tables), asked through the built agents in dist/bin.
 * Good credentials and the right outlets: clean. Then one mistake at a time: a wrong password, a
 * BMC whose chassis is off while its node is up (another machine's BMC), an outlet that is off
 * while its node is up, an outlet the PDU does not have, a BMC that does not answer. A node the
 * status section shows down may have its outlets off. The lab's passwords and communities are in
 * the CIB on purpose (the probe is to use them), so that warning is waived by a tag. Then two lab
 * Redfish BMCs (test/lab/redfish-bmc.ts, iDRAC's and iLO's resources), asked through fence_redfish.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { profileById } from "../../lib/pdu-profiles/index.js";
import { DIST_BIN, agentPath } from "../lab/agents.js";
import { type RunResult, run } from "../lab/clients.js";
import { ADMIN_USER, type Bmc, startBmc } from "../lab/ipmi-bmc.js";
import { PDU_COMMUNITIES, type Pdu, startPdu } from "../lab/pdu-sim.js";
import { REDFISH_OPERATOR, type RedfishBmc, startRedfishBmc } from "../lab/redfish-bmc.js";
import { takeUdpPort } from "../lab/daemon.js";
import { releasePort } from "../lab/ports.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ENTRY = path.join(ROOT, "lib/cli/entry.ts");

interface Lab {
  bmc1: Bmc;
  bmc2: Bmc;
  pduA: Pdu;
  pduB: Pdu;
  passwordScript: string;
}

interface Mistakes {
  bmc1Password?: string;
  node2Outlet?: string;
  bmc2Port?: number;
  node2Online?: boolean;
}

function nv(dev: string, name: string, value: string | number): string {
  return `<nvpair id="${dev}-${name}" name="${name}" value="${String(value)}"/>`;
}

function device(id: string, agent: string, attrs: Record<string, string | number>): string {
  return `<primitive id="${id}" class="stonith" type="${agent}"><instance_attributes id="${id}-ia">${Object.entries(
    attrs,
  )
    .map(([k, v]) => nv(id, k, v))
    .join("")}</instance_attributes></primitive>`;
}

/** The two-node topology pointing at the lab's devices. */
function labCib(lab: Lab, m: Mistakes = {}): string {
  const outlet2 = m.node2Outlet ?? "4";
  const map = `node1:3;node2:${outlet2}`;
  return `<cib have-quorum="1" validate-with="pacemaker-3.7"><configuration>
  <crm_config><cluster_property_set id="o">${nv("o", "stonith-enabled", "true")}${nv("o", "stonith-timeout", "120s")}</cluster_property_set></crm_config>
  <rsc_defaults><meta_attributes id="rsc-options">${nv("rsc-options", "resource-stickiness", 100)}</meta_attributes></rsc_defaults>
  <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
  <resources>
    ${device("fence-ipmi-node1", "fence_ipmi", { ip: lab.bmc1.host, ipport: lab.bmc1.port, username: ADMIN_USER.name, password: m.bmc1Password ?? ADMIN_USER.password, cipher: 3, pcmk_host_list: "node1", pcmk_delay_base: "10s" })}
    ${device("fence-ipmi-node2", "fence_ipmilan", { ip: lab.bmc2.host, ipport: m.bmc2Port ?? lab.bmc2.port, username: ADMIN_USER.name, password_script: lab.passwordScript, lanplus: 1, login_timeout: 2, pcmk_host_list: "node2" })}
    ${device("fence-pdu-pdu-a", "fence_pdu", { ip: lab.pduA.host, ipport: lab.pduA.port, snmp_version: "2c", community: PDU_COMMUNITIES.readOnly, pcmk_host_map: map })}
    ${device("fence-pdu-pdu-b", "fence_apc_snmp", { ip: lab.pduB.host, ipport: lab.pduB.port, snmp_version: "2c", community: PDU_COMMUNITIES.readWrite, pcmk_host_map: map })}
    ${device("fence-sbd", "fence_sbd", { devices: "/dev/null", pcmk_host_list: "node1 node2" })}
  </resources>
  <constraints>
    <rsc_location id="l1" rsc="fence-ipmi-node1" node="node1" score="-INFINITY"/>
    <rsc_location id="l2" rsc="fence-ipmi-node2" node="node2" score="-INFINITY"/>
  </constraints>
  <fencing-topology>
    <fencing-level id="fl-node1-1" index="1" target="node1" devices="fence-ipmi-node1"/>
    <fencing-level id="fl-node1-2" index="2" target="node1" devices="fence-pdu-pdu-a,fence-pdu-pdu-b"/>
    <fencing-level id="fl-node2-1" index="1" target="node2" devices="fence-ipmi-node2"/>
    <fencing-level id="fl-node2-2" index="2" target="node2" devices="fence-pdu-pdu-a,fence-pdu-pdu-b"/>
  </fencing-topology>
  <tags><tag id="kvmha-waive-secret-in-cib"><obj_ref id="fence-ipmi-node1"/><obj_ref id="fence-pdu-pdu-a"/><obj_ref id="fence-pdu-pdu-b"/></tag></tags>
</configuration>
<status>
  <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"/>
  <node_state id="2" uname="node2" in_ccm="${m.node2Online === false ? "false" : "true"}" crmd="${m.node2Online === false ? "offline" : "online"}" join="${m.node2Online === false ? "down" : "member"}" expected="member"/>
</status></cib>`;
}

interface ProbeDoc {
  findings: {
    id: string;
    severity: string;
    subject: { kind: string; id: string };
    message: string;
  }[];
  probe: { device: string; agent: string; result: string; detail: string }[];
}

describe("kvmha check --probe against the lab's BMCs and PDUs", () => {
  let lab: Lab | undefined;
  let tmp: string;
  before(async () => {
    agentPath("fence_ipmi");
    agentPath("fence_pdu");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-check-probe-"));
    const passwordScript = path.join(tmp, "bmc2.pw");
    fs.writeFileSync(passwordScript, `#!/bin/sh\necho '${ADMIN_USER.password}'\n`, { mode: 0o700 });
    const started: { stop(): Promise<void> }[] = [];
    try {
      const bmc1 = await startBmc();
      started.push(bmc1);
      const bmc2 = await startBmc();
      started.push(bmc2);
      const profile = profileById("apc-rpdu");
      assert.ok(profile);
      const pduA = await startPdu({ profile, outlets: 8 });
      started.push(pduA);
      const pduB = await startPdu({ profile, outlets: 8 });
      started.push(pduB);
      lab = { bmc1, bmc2, pduA, pduB, passwordScript };
    } catch (err) {
      await Promise.allSettled(started.map((s) => s.stop()));
      throw err;
    }
  });
  after(async () => {
    if (lab !== undefined)
      await Promise.allSettled([
        lab.bmc1.stop(),
        lab.bmc2.stop(),
        lab.pduA.stop(),
        lab.pduB.stop(),
      ]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function probe(
    m: Mistakes = {},
    extra: string[] = [],
  ): Promise<{ r: RunResult; doc: ProbeDoc }> {
    assert.ok(lab);
    const file = path.join(tmp, "cib.xml");
    fs.writeFileSync(file, labCib(lab, m));
    const r = await checkText(file, ["--json", "--probe-timeout", "20", "--run-scripts", ...extra]);
    assert.equal(r.stderr, "", "nothing on stderr");
    return { r, doc: JSON.parse(r.stdout) as ProbeDoc };
  }

  const probeFindings = (doc: ProbeDoc): string[][] =>
    doc.findings.filter((f) => f.id.startsWith("probe-")).map((f) => [f.id, f.subject.id]);

  it("good credentials, every outlet on: clean; the device kvmha has no agent for is skipped", async () => {
    const { r, doc } = await probe();
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(probeFindings(doc), []);
    assert.deepEqual(
      doc.probe.map((p) => [p.device, p.result]),
      [
        ["fence-ipmi-node1", "ok"],
        ["fence-ipmi-node2", "ok"],
        ["fence-pdu-pdu-a", "ok"],
        ["fence-pdu-pdu-b", "ok"],
        ["fence-sbd", "skipped"],
      ],
    );
    assert.match(doc.probe[2]?.detail ?? "", /2 outlet/);
  });

  /** `kvmha check --probe --cib FILE`, the text report unless `extra` says --json. */
  function checkText(file: string, extra: readonly string[] = []): Promise<RunResult> {
    return run(
      process.execPath,
      [
        "--import",
        "tsx",
        ENTRY,
        "check",
        "--probe",
        "--agent-dir",
        DIST_BIN,
        "--cib",
        file,
        ...extra,
      ],
      { killAfterMs: 120_000 },
    );
  }

  it("the text report names the probe and says OK", async () => {
    assert.ok(lab);
    const file = path.join(tmp, "cib-text.xml");
    fs.writeFileSync(file, labCib(lab));
    const r = await checkText(file, ["--run-scripts"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^probe: 4 of 4 devices answered as expected; not probed: fence-sbd \(kvmha has no agent for it\)$/m,
    );
    assert.match(r.stdout, /OK: no problem found \(3 waived\)\n$/);
  });

  it("a CIB file's password_script runs only with --run-scripts; without it the device is not probed, and says why", async () => {
    assert.ok(lab);
    const marker = path.join(tmp, "script-ran");
    const script = path.join(tmp, "marking.pw");
    fs.writeFileSync(script, `#!/bin/sh\ntouch '${marker}'\necho '${ADMIN_USER.password}'\n`, {
      mode: 0o700,
    });
    const file = path.join(tmp, "cib-scripts.xml");
    fs.writeFileSync(file, labCib({ ...lab, passwordScript: script }));
    const without = await checkText(file);
    assert.equal(without.code, 0, without.stdout + without.stderr);
    assert.ok(!fs.existsSync(marker), "the file's password_script ran without --run-scripts");
    assert.match(
      without.stdout,
      /^probe: 3 of 3 devices answered as expected; not probed: fence-ipmi-node2 \('password_script' would run a command this file names: give --run-scripts to run it\), fence-sbd \(kvmha has no agent for it\)$/m,
    );
    const withScripts = await checkText(file, ["--run-scripts"]);
    assert.equal(withScripts.code, 0, withScripts.stdout + withScripts.stderr);
    assert.ok(fs.existsSync(marker), "--run-scripts runs it");
    assert.match(withScripts.stdout, /^probe: 4 of 4 devices answered as expected;/m);
  });

  it("a wrong password: one probe-credentials finding, the password never shown", async () => {
    const { r, doc } = await probe({ bmc1Password: "wrong-pass-42" });
    assert.equal(r.code, 1, r.stdout);
    assert.deepEqual(probeFindings(doc), [["probe-credentials", "fence-ipmi-node1"]]);
    assert.match(doc.findings[0]?.message ?? "", /password/);
    assert.doesNotMatch(r.stdout, /wrong-pass-42/);
    // (the lab's password is a word of a finding's id: that id aside)
    assert.doesNotMatch(r.stdout.replaceAll("secret-in-cib", ""), new RegExp(ADMIN_USER.password));
  });

  it("a BMC whose chassis is off while its node is up: probe-bmc-off", async () => {
    assert.ok(lab);
    await lab.bmc2.setPower("off");
    try {
      const { r, doc } = await probe();
      assert.equal(r.code, 1, r.stdout);
      assert.deepEqual(probeFindings(doc), [["probe-bmc-off", "fence-ipmi-node2"]]);
    } finally {
      await lab.bmc2.setPower("on");
    }
  });

  it("an outlet off while its node is up: probe-outlet-off; with the node down in the status section: fine", async () => {
    assert.ok(lab);
    await lab.pduA.setOutlet(4, "off");
    try {
      let { r, doc } = await probe();
      assert.equal(r.code, 1, r.stdout);
      assert.deepEqual(probeFindings(doc), [["probe-outlet-off", "fence-pdu-pdu-a"]]);
      assert.match(doc.findings[0]?.message ?? "", /outlet 4 of PDU .* is off while node2/);
      ({ r, doc } = await probe({ node2Online: false }));
      assert.deepEqual(probeFindings(doc), []);
      assert.equal(r.code, 0, r.stdout);
    } finally {
      await lab.pduA.setOutlet(4, "on");
    }
  });

  it("an outlet the PDU does not have: probe-outlet-missing, on each PDU", async () => {
    const { r, doc } = await probe({ node2Outlet: "4,9" });
    assert.equal(r.code, 1, r.stdout);
    assert.deepEqual(probeFindings(doc), [
      ["probe-outlet-missing", "fence-pdu-pdu-a"],
      ["probe-outlet-missing", "fence-pdu-pdu-b"],
    ]);
    assert.match(doc.findings[0]?.message ?? "", /no outlet 9 \(mapped to node2\)/);
  });

  it("a BMC that does not answer: probe-unreachable within its login_timeout", async () => {
    const port = await takeUdpPort("127.0.0.1", undefined);
    try {
      const { r, doc } = await probe({ bmc2Port: port }, ["--probe-jobs", "2"]);
      assert.equal(r.code, 1, r.stdout);
      assert.deepEqual(probeFindings(doc), [["probe-unreachable", "fence-ipmi-node2"]]);
    } finally {
      releasePort(port);
    }
  });

  it("a missing agent directory is an error before anything is asked", async () => {
    assert.ok(lab);
    const file = path.join(tmp, "cib-noagent.xml");
    fs.writeFileSync(file, labCib(lab));
    const r = await run(
      process.execPath,
      ["--import", "tsx", ENTRY, "check", "--probe", "--agent-dir", tmp, "--cib", file],
      { killAfterMs: 60_000 },
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kvmha check: ERROR: --probe needs kvmha's fence_ipmi, not found in /);
  });
});

describe("kvmha check --probe against the lab's Redfish BMCs", () => {
  let bmcs: RedfishBmc[] = [];
  let tmp: string;
  before(async () => {
    agentPath("fence_redfish");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-check-probe-redfish-"));
    const first = await startRedfishBmc({ vendor: "dell" });
    bmcs.push(first);
    bmcs.push(await startRedfishBmc({ vendor: "hpe-ilo5", certificates: first.certificates }));
  });
  after(async () => {
    await Promise.allSettled(bmcs.map((b) => b.stop()));
    bmcs = [];
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** node1 and node2 fenced by their Redfish BMCs (level 1): kvmha's fence_redfish, fence-agents' name. */
  function redfishCib(password = REDFISH_OPERATOR.password): string {
    const [a, b] = bmcs;
    assert.ok(a !== undefined && b !== undefined);
    const dev = (id: string, bmc: RedfishBmc, node: string, extra: Record<string, string>) =>
      device(id, "fence_redfish", {
        ip: bmc.host,
        ipport: bmc.port,
        username: REDFISH_OPERATOR.name,
        password,
        pcmk_host_list: node,
        ...extra,
      });
    return `<cib have-quorum="1"><configuration>
  <crm_config><cluster_property_set id="o">${nv("o", "stonith-enabled", "true")}</cluster_property_set></crm_config>
  <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
  <resources>
    ${dev("fence-redfish-node1", a, "node1", { ssl_cacert: a.certificates.caFile, pcmk_delay_base: "10s" })}
    ${dev("fence-redfish-node2", b, "node2", { ssl_fingerprint: b.certificates.fingerprint })}
  </resources>
  <constraints>
    <rsc_location id="l1" rsc="fence-redfish-node1" node="node1" score="-INFINITY"/>
    <rsc_location id="l2" rsc="fence-redfish-node2" node="node2" score="-INFINITY"/>
  </constraints>
  <fencing-topology>
    <fencing-level id="fl-node1-1" index="1" target="node1" devices="fence-redfish-node1"/>
    <fencing-level id="fl-node2-1" index="1" target="node2" devices="fence-redfish-node2"/>
  </fencing-topology>
</configuration>
<status>
  <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"/>
  <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
</status></cib>`;
  }

  async function probe(xml: string): Promise<{ code: number | null; doc: ProbeDoc }> {
    const file = path.join(tmp, "cib.xml");
    fs.writeFileSync(file, xml);
    const r = await run(
      process.execPath,
      [
        "--import",
        "tsx",
        ENTRY,
        "check",
        "--probe",
        "--agent-dir",
        DIST_BIN,
        "--cib",
        file,
        "--json",
        "--probe-timeout",
        "20",
        "--run-scripts",
      ],
      { killAfterMs: 120_000 },
    );
    assert.equal(r.stderr, "", "nothing on stderr");
    return { code: r.code, doc: JSON.parse(r.stdout) as ProbeDoc };
  }
  const probeFindings = (doc: ProbeDoc): string[][] =>
    doc.findings.filter((f) => f.id.startsWith("probe-")).map((f) => [f.id, f.subject.id]);

  it("both BMCs answer on (CA file, pinned fingerprint): asked with fence_redfish, status only", async () => {
    const { code, doc } = await probe(redfishCib());
    assert.deepEqual(probeFindings(doc), []);
    assert.deepEqual(
      doc.probe.map((p) => [p.device, p.agent, p.result, p.detail]),
      [
        ["fence-redfish-node1", "fence_redfish", "ok", "chassis on"],
        ["fence-redfish-node2", "fence_redfish", "ok", "chassis on"],
      ],
    );
    assert.equal(code, 0, JSON.stringify(doc.findings));
    // Read-only: no reset was sent.
    for (const b of bmcs)
      assert.ok(!b.requests.some((q) => q.method === "POST" && /Reset/.test(q.path)));
  });

  it("a system that is off while its node is up: probe-bmc-off; a wrong password: probe-credentials", async () => {
    const b = bmcs[1];
    assert.ok(b !== undefined);
    b.setPower("off");
    try {
      const { code, doc } = await probe(redfishCib());
      assert.equal(code, 1);
      assert.deepEqual(probeFindings(doc), [["probe-bmc-off", "fence-redfish-node2"]]);
    } finally {
      b.setPower("on");
    }
    const { code, doc } = await probe(redfishCib("not-the-password"));
    assert.equal(code, 1);
    assert.deepEqual(probeFindings(doc), [
      ["probe-credentials", "fence-redfish-node1"],
      ["probe-credentials", "fence-redfish-node2"],
    ]);
    assert.ok(!JSON.stringify(doc).includes("not-the-password"), "the password is never shown");
  });
});
