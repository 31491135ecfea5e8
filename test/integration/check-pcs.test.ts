/**
 * `kvmha check` on CIBs built the way an admin builds them: real `pcs -f FILE` commands on an
 * empty CIB (cibadmin --empty), proven clean by `crm_verify -x`, then checked.
 *
 * pcs validates a stonith device's options against its agent's metadata, which it asks Pacemaker
 * for; Pacemaker finds fence agents only in /usr/sbin (and OCF agents under
 * /usr/lib/ocf/resource.d). kvmha's agents are not installed there in the lab, so the kvmha CIB
 * is built with `--force` (pcs then warns and skips that validation; crm_verify, which does not
 * read agents, still validates the CIB). Linking dist/bin into /usr/sbin, as
 * pacemaker-tools.test.ts does, would race with that test when both run at once. The second CIB
 * uses the reference agents (fence_ipmilan, fence_apc_snmp, ocf:heartbeat:VirtualDomain), which
 * are installed: pcs validates every option there, without --force.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { type RunResult, run } from "../lab/clients.js";
import { type LabGeneration, labGenerations } from "../lab/generation.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ENTRY = path.join(ROOT, "lib/cli/entry.ts");

interface Tools {
  gen: LabGeneration;
  pcs: string;
  cibadmin: string;
  crmVerify: string;
}

async function must(r: Promise<RunResult>, what: string): Promise<RunResult> {
  const done = await r;
  assert.equal(done.code, 0, `${what}: ${done.stderr}${done.stdout}`);
  return done;
}

/** An empty CIB with these member nodes, all online and quorate (so crm_verify has nothing to say about them). */
async function emptyCib(tools: Tools, file: string, nodes: readonly string[]): Promise<void> {
  const empty = await must(
    tools.gen.run(tools.cibadmin, ["--empty"], { killAfterMs: 30_000 }),
    "cibadmin --empty",
  );
  fs.writeFileSync(file, empty.stdout);
  const env = { ...process.env, CIB_file: file };
  const cib = (args: string[]): Promise<RunResult> =>
    must(
      tools.gen.run(tools.cibadmin, args, { env, killAfterMs: 30_000 }),
      `cibadmin ${args.join(" ")}`,
    );
  for (const [i, node] of nodes.entries()) {
    await cib(["-C", "-o", "nodes", "-X", `<node id="${i + 1}" uname="${node}"/>`]);
    await cib([
      "-C",
      "-o",
      "status",
      "-X",
      `<node_state id="${i + 1}" uname="${node}" in_ccm="true" crmd="online" join="member" expected="member"/>`,
    ]);
  }
  await cib(["-M", "-X", '<cib have-quorum="1"/>']);
}

function pcsOn(tools: Tools, file: string): (...args: string[]) => Promise<RunResult> {
  return (...args) =>
    must(
      tools.gen.run(tools.pcs, ["-f", file, ...args], { killAfterMs: 60_000 }),
      `pcs ${args.join(" ")}`,
    );
}

async function crmVerifyClean(tools: Tools, file: string): Promise<void> {
  const r = await tools.gen.run(tools.crmVerify, ["-V", "-x", file], { killAfterMs: 60_000 });
  assert.equal(r.code, 0, `crm_verify -x: ${r.stderr}${r.stdout}`);
  assert.equal(r.stderr.trim(), "", "crm_verify has nothing to say");
}

function check(file: string): Promise<RunResult> {
  return run(process.execPath, ["--import", "tsx", ENTRY, "check", "--json", "--cib", file], {
    killAfterMs: 60_000,
  });
}

for (const gen of labGenerations()) {
  describe(`${gen.title}: kvmha check on CIBs built with pcs`, () => {
    let tools: Tools;
    let tmp: string;
    before(() => {
      tools = {
        gen,
        pcs: gen.requireProgram("pcs"),
        cibadmin: gen.requireProgram("cibadmin"),
        crmVerify: gen.requireProgram("crm_verify"),
      };
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-check-pcs-"));
    });
    after(() => {
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("kvmha's topology, two nodes (fence_ipmi, fence_pdu, ocf:kvmha:VirtualDomain; --force): crm_verify clean, check clean; then a level naming a missing device", async () => {
      const file = path.join(tmp, "kvmha-two-node.xml");
      await emptyCib(tools, file, ["node1", "node2"]);
      const pcs = pcsOn(tools, file);
      await pcs("property", "set", "stonith-enabled=true", "stonith-timeout=120s");
      // No failback: without stickiness kvmha check warns (no-stickiness).
      await pcs("resource", "defaults", "update", "resource-stickiness=100");
      await pcs(
        "stonith",
        "create",
        "fence-ipmi-node1",
        "fence_ipmi",
        "ip=10.0.0.101",
        "username=admin",
        "password_script=/etc/kvmha/ipmi-node1.pw",
        "pcmk_host_list=node1",
        "pcmk_delay_base=10s",
        "--force",
      );
      await pcs(
        "stonith",
        "create",
        "fence-ipmi-node2",
        "fence_ipmi",
        "ip=10.0.0.102",
        "username=admin",
        "password_script=/etc/kvmha/ipmi-node2.pw",
        "pcmk_host_list=node2",
        "--force",
      );
      await pcs(
        "stonith",
        "create",
        "fence-pdu-pdu-a",
        "fence_pdu",
        "ip=10.0.0.201",
        "snmp_version=2c",
        "community_script=/bin/cat /etc/kvmha/pdu-a.community",
        "pcmk_host_map=node1:3;node2:4",
        "--force",
      );
      await pcs(
        "stonith",
        "create",
        "fence-pdu-pdu-b",
        "fence_pdu",
        "ip=10.0.0.202",
        "snmp_version=2c",
        "community_script=/bin/cat /etc/kvmha/pdu-b.community",
        "pcmk_host_map=node1:3;node2:4",
        "--force",
      );
      for (const node of ["node1", "node2"]) {
        await pcs("stonith", "level", "add", "1", node, `fence-ipmi-${node}`);
        // Devices as separate words: pcs 0.12 refuses the comma-joined list 0.11 also took.
        await pcs("stonith", "level", "add", "2", node, "fence-pdu-pdu-a", "fence-pdu-pdu-b");
        await pcs("constraint", "location", `fence-ipmi-${node}`, "avoids", node);
      }
      await pcs(
        "resource",
        "create",
        "vm1",
        "ocf:kvmha:VirtualDomain",
        "config=/shared/vm1.xml",
        "hypervisor=qemu:///system",
        "meta",
        "allow-migrate=true",
        "op",
        "start",
        "timeout=90s",
        "op",
        "stop",
        "timeout=90s",
        "op",
        "monitor",
        "interval=10s",
        "timeout=30s",
        "op",
        "migrate_to",
        "timeout=120s",
        "op",
        "migrate_from",
        "timeout=60s",
        "--force",
      );
      await crmVerifyClean(tools, file);
      let r = await check(file);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      let doc = JSON.parse(r.stdout) as {
        findings: unknown[];
        checked: { devices: { family: string }[]; levels: unknown[] };
      };
      assert.deepEqual(doc.findings, []);
      assert.deepEqual(
        doc.checked.devices.map((d) => d.family),
        ["ipmi", "ipmi", "pdu", "pdu"],
      );
      assert.equal(doc.checked.levels.length, 4);

      // pcs refuses a level naming a device that does not exist, unless forced; crm_verify accepts it.
      const refused = await tools.gen.run(
        tools.pcs,
        ["-f", file, "stonith", "level", "add", "3", "node2", "fence-pdu-pdu-c"],
        { killAfterMs: 60_000 },
      );
      assert.notEqual(refused.code, 0);
      await pcs("stonith", "level", "add", "3", "node2", "fence-pdu-pdu-c", "--force");
      await crmVerifyClean(tools, file);
      r = await check(file);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      doc = JSON.parse(r.stdout) as typeof doc;
      assert.deepEqual(
        (doc.findings as { id: string }[]).map((f) => f.id),
        ["level-unknown-device"],
      );
    });

    it("the reference agents, three nodes (fence_ipmilan, fence_apc_snmp, ocf:heartbeat:VirtualDomain; validated by pcs): crm_verify clean, check clean", async () => {
      const file = path.join(tmp, "reference-three-node.xml");
      const nodes = ["hv1", "hv2", "hv3"];
      await emptyCib(tools, file, nodes);
      const pcs = pcsOn(tools, file);
      await pcs("property", "set", "stonith-enabled=true", "stonith-timeout=120s");
      // No failback: without stickiness kvmha check warns (no-stickiness).
      await pcs("resource", "defaults", "update", "resource-stickiness=100");
      for (const [i, node] of nodes.entries()) {
        await pcs(
          "stonith",
          "create",
          `bmc-${node}`,
          "fence_ipmilan",
          `ip=10.1.0.${i + 1}`,
          "lanplus=1",
          "username=fence",
          `password_script=/etc/fence/${node}.pw`,
          `pcmk_host_list=${node}`,
        );
      }
      await pcs(
        "stonith",
        "create",
        "strip-left",
        "fence_apc_snmp",
        "ip=10.1.1.1",
        "snmp_version=3",
        "username=fence",
        "password_script=/etc/fence/pdu.pw",
        "pcmk_host_map=hv1:1;hv2:2;hv3:3,4",
      );
      await pcs(
        "stonith",
        "create",
        "strip-right",
        "fence_apc_snmp",
        "ip=10.1.1.2",
        "snmp_version=3",
        "username=fence",
        "password_script=/etc/fence/pdu.pw",
        "pcmk_host_map=hv1:1;hv2:2;hv3:3,4",
      );
      for (const node of nodes) {
        await pcs("stonith", "level", "add", "1", node, `bmc-${node}`);
        await pcs("stonith", "level", "add", "2", node, "strip-left", "strip-right");
        await pcs("constraint", "location", `bmc-${node}`, "avoids", node);
      }
      await pcs(
        "resource",
        "create",
        "guest1",
        "ocf:heartbeat:VirtualDomain",
        "config=/shared/guest1.xml",
        "meta",
        "allow-migrate=true",
        "op",
        "monitor",
        "interval=10s",
        "timeout=30s",
        "op",
        "migrate_to",
        "timeout=120s",
      );
      await crmVerifyClean(tools, file);
      const r = await check(file);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const doc = JSON.parse(r.stdout) as {
        findings: unknown[];
        checked: { nodes: string[]; devices: { family: string }[] };
      };
      assert.deepEqual(doc.findings, []);
      assert.deepEqual(doc.checked.nodes, nodes);
      assert.deepEqual(
        doc.checked.devices.map((d) => d.family),
        ["ipmi", "ipmi", "ipmi", "pdu", "pdu"],
      );
    });
  });
}
