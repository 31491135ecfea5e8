// A node fenced through Redfish in the cluster lab (issue 18 part 5; docs/cluster-lab.md): node3's
// BMC is the lab Redfish BMC (iDRAC's resources) instead of ipmi_sim, rendered by `kvmha render`
// from the inventory's `bmc: { protocol: redfish, ssl_cacert }` as fence_redfish at level 1, the
// PDUs at level 2. Its resets switch node3's power as ipmi_sim's chassis control does for the
// others. node3 runs the guests, then loses all power (its BMC goes silent with it): the Redfish
// level fails within its bound, the PDUs fence, the guests restart elsewhere, never two copies.
// Then node3 hangs with its BMC alive: fence_redfish switches it off (read back) and on.
// Needs root, the lab's packages (scripts/lab-deps.sh) and `npm run build`.
// Run: node --import tsx --test test/integration/cluster-redfish.test.ts

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { deviceResults, waitForStatus } from "../lab/cluster/crm.js";
import { startFailoverLab, type FailoverLab } from "../lab/cluster/failover.js";

const GUESTS = ["vm1", "vm2"];
const RF = "node3";
const DEVICE = `fence-redfish-${RF}`;

describe("cluster with a Redfish node", { timeout: 600_000 }, () => {
  let lab: FailoverLab | undefined;
  const L = (): FailoverLab => lab!;

  before(async () => {
    lab = await startFailoverLab({ guests: GUESTS, redfishNode: RF });
  });
  after(async () => {
    await lab?.stop();
  });

  /** vm1 onto the Redfish node (timed() faults the node running it), the move's constraint removed. */
  const vm1OnRedfishNode = async (): Promise<void> => {
    const member = L().c.nodes.node("node1");
    if ((await L().placement()).get("vm1") === RF) return;
    await member.execOk("crm_resource", ["--resource", "vm1", "--move", "--node", RF], {
      killAfterMs: 30_000,
    });
    await waitForStatus(
      member,
      `vm1 on ${RF}`,
      (x) => L().guestsUp(x) && L().w.where("vm1")[0] === RF,
      120_000,
    );
    await member.execOk("crm_resource", ["--resource", "vm1", "--clear"], { killAfterMs: 30_000 });
  };

  test("the rendered configuration has fence_redfish at level 1 for the Redfish node, trusting the lab CA", async () => {
    const node1 = L().c.nodes.node("node1");
    const xml = await node1.execOk("cibadmin", ["--query", "--scope", "resources"]);
    assert.match(xml, new RegExp(`<primitive [^>]*id="${DEVICE}"[^>]*type="fence_redfish"`));
    assert.match(xml, /name="ssl_cacert" value="[^"]*redfish-ca\.pem"/);
    assert.doesNotMatch(xml, /ssl_insecure/);
    const levels = await node1.execOk("cibadmin", ["--query", "--scope", "fencing-topology"]);
    const level1 = [...levels.matchAll(/<fencing-level\b[^>]*>/g)]
      .map((m) => m[0])
      .filter((e) => e.includes(`target="${RF}"`) && e.includes('index="1"'));
    assert.equal(level1.length, 1, levels);
    assert.match(level1[0]!, new RegExp(`devices="${DEVICE}"`));
    // fence_redfish is where Pacemaker looks for it, and reads the node's power through the relay.
    const r = await node1.exec("fence_redfish", [], {
      input: `${Object.entries({ ...L().c.redfishOptions(RF), action: "status" })
        .map(([k, v]) => `${k}=${v}`)
        .join("\n")}\n`,
    });
    assert.equal(r.code, 0, `fence_redfish status: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /Status: ON/);
  });

  test("total power loss of the Redfish node (its BMC silent too): the Redfish level fails within its bound, the PDUs fence, guests restart elsewhere", async () => {
    await vm1OnRedfishNode();
    await L().scenario(async () => {
      const { victim, t0 } = await L().timed("Redfish node, total power loss", (v) =>
        L().c.power.setSuppliesDead(v.name, true),
      );
      assert.equal(victim.name, RF);
      const runs = (await deviceResults(L().logs(), t0)).filter((r) => r.target === RF);
      const line = runs.map((r) => `${r.device} ${r.action} rc ${r.rc}`).join(", ");
      console.log(`agent runs fencing ${RF}: ${line}`);
      const failed = runs.find((r) => r.device === DEVICE && r.rc !== 0);
      assert.ok(failed, `no failed ${DEVICE} run: ${line}`);
      assert.ok(
        runs.some((r) => r.device.startsWith("fence-pdu-") && r.rc === 0 && r.at >= failed.at),
        `no PDU run after the Redfish level: ${line}`,
      );
      // Its bound: login_timeout (5 s) for the TLS connection that never completes.
      const logs = (
        await Promise.all(
          L()
            .c.nodes.nodes.filter((n) => n.running)
            .map((n) => n.log(20_000)),
        )
      ).join("\n");
      const ip = L().c.redfish!.ip;
      assert.match(
        logs,
        new RegExp(`no TLS connection with BMC ${ip.replace(/\./g, "\\.")}:443 within 5 s`),
      );
      const plug = String(L().c.outletOf(RF));
      for (const p of L().c.pdus)
        assert.ok(
          (await p.sets()).includes(`${plug} off`),
          `PDU sets: ${(await p.sets()).join(", ")}`,
        );
      assert.equal(L().c.redfish!.bmc.requests.filter((q) => q.resetType !== undefined).length, 0);
    });
  });

  test("node hang with the Redfish BMC alive: fence_redfish switches the node off (read back) and on, guests restart elsewhere", async () => {
    await vm1OnRedfishNode();
    const bmc = L().c.redfish!.bmc;
    const mark = bmc.mark();
    await L().scenario(async () => {
      const { victim, t0 } = await L().timed("Redfish node, node hang", async (v) => {
        const pids = v.killProcesses(/^(corosync|pacemakerd|pacemaker-.*)$/);
        assert.ok(pids.length >= 2, `killed ${pids.join(" ")}`);
      });
      assert.equal(victim.name, RF);
      const resets = bmc
        .since(mark)
        .filter((q) => q.resetType !== undefined)
        .map((q) => `${q.resetType} ${q.status}`);
      assert.deepEqual(
        resets.slice(0, 2),
        ["ForceOff 204", "On 204"],
        `resets: ${resets.join(", ")}`,
      );
      const runs = (await deviceResults(L().logs(), t0)).filter((r) => r.target === RF);
      assert.ok(
        runs.some((r) => r.device === DEVICE && r.rc === 0),
        `agent runs: ${runs.map((r) => `${r.device} ${r.action} rc ${r.rc}`).join(", ")}`,
      );
      // The node's power went off, then on, through its BMC's resets.
      const ev = L()
        .c.power.events()
        .filter((e) => e.node === RF && e.at >= t0)
        .map((e) => e.what);
      assert.ok(ev[0]?.startsWith("BMC chassis power off"), `power: ${ev.join("; ")}`);
      assert.ok(
        ev.some((e) => e.startsWith("BMC chassis power on")),
        `power: ${ev.join("; ")}`,
      );
      const history = await L()
        .anyUp(RF)
        .execOk("stonith_admin", ["--history", RF, "--verbose"], { killAfterMs: 30_000 });
      console.log(`stonith_admin --history ${RF} --verbose:\n${history}`);
      assert.match(history, /reboot of node3 successful|successful reboot|reboot.*node3.*success/i);
    });
  });
});
