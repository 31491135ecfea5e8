// Pacemaker Remote in the lab (issue 16, part 3; docs/cluster-lab.md): three corosync members and
// one hypervisor that runs pacemaker-remoted instead, joined through the ocf:pacemaker:remote
// connection resource `kvmha render` makes from the inventory's `remote:` key and fenced through
// the same levels as a member (its BMC, then both PDUs). Its guests run there; its host loses all
// power; the members fence it and restart its guests on a member, never two copies.
// Needs root, the lab's packages (scripts/lab-deps.sh, with pacemaker-remote) and `npm run build`.
// Run: node --import tsx --test test/integration/cluster-remote.test.ts

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { allOnline, deviceResults, waitForStatus } from "../lab/cluster/crm.js";
import { startFailoverLab, type FailoverLab } from "../lab/cluster/failover.js";
import { DEFAULT_NODES, type ClusterNode } from "../lab/cluster/nodes.js";

const GUESTS = ["vm1", "vm2"];
const REMOTE = "node4";
const NODES = [...DEFAULT_NODES, { name: REMOTE, address: "10.77.0.4", remote: true }];

describe("cluster with a Pacemaker Remote node", { timeout: 600_000 }, () => {
  let lab: FailoverLab | undefined;
  const L = (): FailoverLab => lab!;

  before(async () => {
    lab = await startFailoverLab({ guests: GUESTS, nodes: NODES });
  });
  after(async () => {
    await lab?.stop();
  });

  /** Every guest onto the remote node: those elsewhere moved (live migration), the move's constraint removed. */
  const guestsOnRemote = async (): Promise<string[]> => {
    const member = L().c.nodes.node("node1");
    const moved = [...(await L().placement())].filter(([, n]) => n !== REMOTE).map(([g]) => g);
    for (const g of moved)
      await member.execOk("crm_resource", ["--resource", g, "--move", "--node", REMOTE], {
        killAfterMs: 30_000,
      });
    await waitForStatus(
      member,
      `guests on ${REMOTE}`,
      (x) => L().guestsUp(x) && GUESTS.every((g) => L().w.where(g)[0] === REMOTE),
      120_000,
    );
    for (const g of moved)
      await member.execOk("crm_resource", ["--resource", g, "--clear"], { killAfterMs: 30_000 });
    return moved;
  };

  /** The remote node was fenced through its levels: its BMC (dead with it) failed, both PDUs switched its outlet off; its guests are on members. */
  const fencedThroughLevels = async (t0: number, fencings: number): Promise<void> => {
    const where = await L().placement();
    for (const g of GUESTS) assert.notEqual(where.get(g), REMOTE, `${g} is on ${where.get(g)}`);
    const runs = (await deviceResults(L().logs(), t0)).filter((r) => r.target === REMOTE);
    const line = runs.map((r) => `${r.device} ${r.action} rc ${r.rc}`).join(", ");
    console.log(`agent runs fencing ${REMOTE}: ${line}`);
    assert.ok(
      runs.some((r) => r.device === `fence-ipmi-${REMOTE}` && r.rc !== 0),
      `agent runs: ${line}`,
    );
    for (const pdu of ["fence-pdu-a", "fence-pdu-b"])
      assert.ok(
        runs.some((r) => r.device === pdu && r.rc === 0),
        `agent runs: ${line}`,
      );
    const outlet = String(L().c.outletOf(REMOTE));
    for (const sets of await Promise.all(L().c.pdus.map((p) => p.sets())))
      assert.ok(sets.includes(`${outlet} off`), `PDU sets: ${sets.join(", ")}`);
    const history = await L()
      .c.nodes.node("node1")
      .execOk("stonith_admin", ["--history", REMOTE, "--verbose"], { killAfterMs: 20_000 });
    console.log(`stonith_admin --history ${REMOTE} --verbose:\n${history.trim()}`);
    const ok = history.match(new RegExp(`(reboot|off) of ${REMOTE} successful`, "g")) ?? [];
    assert.ok(ok.length >= fencings, `${fencings} fencings of ${REMOTE} expected in the history`);
  };

  /**
   * Run a timed fault of the remote node (which runs every guest) and check that no guest's QEMU
   * appeared on a member before the fencing was confirmed (watched every 100 ms).
   */
  const faultRemote = async (
    label: string,
    fault: (v: ClusterNode) => Promise<void>,
  ): Promise<number> => {
    const firstSeen = new Map<string, number>();
    const poll = setInterval(() => {
      for (const g of GUESTS)
        if (
          !firstSeen.has(g) &&
          L()
            .w.where(g)
            .some((n) => n !== REMOTE)
        )
          firstSeen.set(g, Date.now());
    }, 100);
    try {
      const { victim, t0, fencedMs } = await L().timed(label, fault);
      assert.equal(victim.name, REMOTE);
      for (const g of GUESTS) {
        const seen = firstSeen.get(g);
        assert.ok(
          seen !== undefined && seen >= t0 + fencedMs,
          `${g} ran on a member at ${seen === undefined ? "never" : `${seen - t0} ms`}, fencing confirmed at ${fencedMs} ms`,
        );
      }
      return t0;
    } finally {
      clearInterval(poll);
    }
  };

  test("the remote node joins through its rendered connection resource and runs guests", async () => {
    const member = L().c.nodes.node("node1");
    const names = NODES.map((n) => n.name);
    const s = await waitForStatus(member, "remote node online", allOnline(names), 90_000);
    const conn = s.resources.find((r) => r.id === REMOTE);
    assert.ok(
      conn && conn.agent === "ocf:pacemaker:remote" && conn.role === "Started",
      `connection resource: ${JSON.stringify(conn)}`,
    );
    // Not a corosync member: the remote node runs pacemaker-remoted and neither corosync nor pacemakerd.
    const ps = await L().c.nodes.node(REMOTE).execOk("ps", ["-e", "-o", "comm="]);
    assert.match(ps, /^pacemaker-remot/m);
    assert.doesNotMatch(ps, /^(corosync|pacemakerd)$/m);
    const moved = await guestsOnRemote();
    console.log(
      `guests on ${REMOTE}: ${GUESTS.join(", ")} (moved there: ${moved.join(", ") || "none"})`,
    );
  });

  test("the remote node's host loses all power: fenced through its levels (BMC fails, both PDUs), its guests restart on members, never two copies", () =>
    L().scenario(async () => {
      const t0 = await faultRemote("remote node, total power loss", (v) =>
        L().c.power.setSuppliesDead(v.name, true),
      );
      await fencedThroughLevels(t0, 1);
    }));

  // A killed pacemaker-remoted's socket closes with a FIN the members see at once; a host that
  // loses power sends nothing. Its cable goes quiet first: the members find out from the
  // connection's monitor.
  test("the same, silently (no FIN from the dead host): found by the connection's monitor, fenced, guests restarted on members", () =>
    L().scenario(async () => {
      const moved = await guestsOnRemote();
      console.log(`guests back on ${REMOTE} by live migration: ${moved.join(", ")}`);
      const t0 = await faultRemote("remote node, silent total power loss", async (v) => {
        await L().c.nodes.setLink(v.name, false);
        await L().c.power.setSuppliesDead(v.name, true);
      });
      await fencedThroughLevels(t0, 2);
    }));
});
