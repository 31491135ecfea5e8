// Day 2 on the lab cluster (issue 16, docs/templates.md#day-2): the three-node cluster configured by
// kvmha render's pcs script, then kvmha apply with the inventory, then a changed inventory (a guest
// added, a guest removed, an outlet moved, a BMC timeout changed) applied again: only the changed
// objects change, the unrelated guest keeps running (its QEMU process is the same), a second apply
// is empty; kvmha check --probe --libvirt-uri finds a guest defined on a node the cluster does not
// run it on; a fenced node that comes back takes no guest back (stickiness). kvmha apply runs on a
// node, against the live CIB, as an admin would. Needs root, the lab's packages
// (scripts/lab-deps.sh) and `npm run build`.
// Run: node --import tsx --test test/integration/cluster-apply.test.ts

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { DIST_BIN } from "../lab/agents.js";
import { writeGuests } from "../lab/cluster/config.js";
import { allOnline, crmStatus, waitForStatus, type CrmStatus } from "../lab/cluster/crm.js";
import { startFailoverLab, type FailoverLab } from "../lab/cluster/failover.js";

interface Plan {
  changes: { kind: string; id: string; action: string; details: string[] }[];
  transition: { action: string; resource: string; detail: string }[];
  applied?: boolean;
}

/** The QEMU process of each guest, by name (host pids: a restart is a new pid). */
function qemuPids(): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      if (!fs.readFileSync(`/proc/${p}/comm`, "utf8").startsWith("qemu-system")) continue;
      const m = /-name\0guest=([^,\0]+)/.exec(fs.readFileSync(`/proc/${p}/cmdline`, "utf8"));
      if (m) out.set(m[1]!, Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const startedOn = (s: CrmStatus, g: string): string | undefined => {
  const r = s.resources.find((x) => x.id === g);
  return r?.role === "Started" && r.nodes.length === 1 ? r.nodes[0] : undefined;
};

describe("cluster: kvmha apply, day 2", { timeout: 600_000 }, () => {
  let lab: FailoverLab | undefined;
  let base = "";
  let changed = "";
  const L = (): FailoverLab => lab!;
  const kvmha = path.join(DIST_BIN, "kvmha");

  /** kvmha (plan|apply) INVENTORY --json on the first running node. */
  async function run(verb: "plan" | "apply", inventory: string): Promise<Plan> {
    const on = L().anyUp();
    const r = await on.exec(kvmha, [verb, inventory, "--json", "--timeout", "120"], {
      killAfterMs: 150_000,
    });
    assert.equal(r.code, 0, `kvmha ${verb} exit ${r.code}: ${r.stderr}`);
    if (r.stderr.trim() !== "") console.log(`kvmha ${verb} said: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as Plan;
  }
  const ids = (p: Plan) => p.changes.map((c) => `${c.action} ${c.kind} ${c.id}`).sort();

  before(async () => {
    lab = await startFailoverLab({ guests: ["vm1", "vm2"] });
    const dir = path.join(L().c.nodes.dir, "config");
    // The lab's inventory (what pcs.sh was rendered from), with what configureCluster set by hand
    // after pcs.sh (the migration URI) written in it, as an admin moving to kvmha apply would.
    const text = fs
      .readFileSync(path.join(dir, "inventory.yaml"), "utf8")
      .replace(
        /migration: \{ transport: tcp \}/g,
        'migration: { transport: tcp, uri: "tcp://%n" }',
      );
    base = path.join(dir, "apply-base.yaml");
    fs.writeFileSync(base, text);
    const [vm3] = await writeGuests(L().c, ["vm3"]);
    const node3Outlet = L().c.outletOf("node3");
    const moved = text
      .replace(/ {2}- \{ name: vm1,.*\n/, "")
      .replace(/(guests:\n(?:.*\n)*)/, (all) =>
        all.concat(
          `  - { name: vm3, config: ${JSON.stringify(vm3!.xmlFile)}, hypervisor: "qemu:///system", allow_migrate: true, migration: { transport: tcp, uri: "tcp://%n" } }\n`,
        ),
      )
      .replace(/lanplus: true \}/g, "lanplus: true, power_timeout: 25 }")
      .replace(
        new RegExp(
          `(- name: node3\\n(?:.*\\n){2}.*\\n {6}- \\{ pdu: b, outlets: \\[)${node3Outlet}\\]`,
        ),
        `$1${node3Outlet + 4}]`,
      );
    assert.notEqual(moved, text);
    changed = path.join(dir, "apply-changed.yaml");
    fs.writeFileSync(changed, moved);
  });
  after(async () => {
    await lab?.stop();
  });

  test("over pcs.sh's configuration: the first apply restarts no guest, a second is empty", async () => {
    const before = qemuPids();
    const first = await run("apply", base);
    console.log(`first apply: ${ids(first).join(", ") || "no changes"}`);
    for (const t of first.transition)
      assert.ok(!/^(Stop|Restart|Move|Recover)/.test(t.action), JSON.stringify(t));
    const second = await run("apply", base);
    assert.deepEqual(second.changes, []);
    const s = await waitForStatus(L().anyUp(), "guests up", (x) => L().guestsUp(x), 60_000);
    for (const g of ["vm1", "vm2"]) assert.ok(startedOn(s, g) !== undefined);
    assert.deepEqual(qemuPids(), before, "a guest's QEMU changed");
  });

  test("pcs.sh run again hands over to kvmha apply (here on a copy of the CIB)", async () => {
    const on = L().anyUp();
    const copy = path.join(L().c.nodes.dir, "config", "cib-copy.xml");
    fs.writeFileSync(copy, await on.execOk("cibadmin", ["--query"], { killAfterMs: 20_000 }));
    const script = path.join(L().c.nodes.dir, "config", "rendered", "pcs.sh");
    const r = await on.exec("sh", [script], {
      killAfterMs: 150_000,
      env: { ...process.env, PATH: `${DIST_BIN}:${process.env.PATH ?? ""}`, CIB_file: copy },
    });
    assert.equal(r.code, 0, `second pcs.sh: ${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^(applied: .*|no changes: .*)$/m);
    // Without kvmha, one line says what to do, and nothing is changed.
    const before = fs.readFileSync(copy, "utf8");
    const bare = await on.exec("sh", [script], {
      killAfterMs: 60_000,
      env: { ...process.env, PATH: "/usr/sbin:/usr/bin:/sbin:/bin", CIB_file: copy },
    });
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, /apply the changes with kvmha apply /);
    assert.equal(fs.readFileSync(copy, "utf8"), before);
  });

  test("a changed inventory: only what changed changes, vm2 keeps running, a second apply is empty", async () => {
    const before = qemuPids();
    const plan = await run("plan", changed);
    const expected = [
      "add guest vm3",
      "change device fence-ipmi-node1",
      "change device fence-ipmi-node2",
      "change device fence-ipmi-node3",
      "change device fence-pdu-b",
      // The BMCs' power_timeout makes fencing longer: stonith-timeout follows.
      "change property stonith-timeout",
      "change tag kvmha-managed",
      "remove guest vm1",
    ];
    assert.deepEqual(ids(plan), expected);
    const pdu = plan.changes.find((c) => c.id === "fence-pdu-b")!;
    assert.ok(
      pdu.details.some((d) => /pcmk_host_map/.test(d)),
      pdu.details.join("; "),
    );
    assert.ok(
      plan.transition.some((t) => t.resource === "vm3" && t.action === "Start"),
      JSON.stringify(plan.transition),
    );
    assert.ok(!plan.transition.some((t) => t.resource === "vm2"), JSON.stringify(plan.transition));
    const done = await run("apply", changed);
    assert.equal(done.applied, true);
    assert.deepEqual(ids(done), expected);
    const s = await waitForStatus(
      L().anyUp(),
      "vm3 started, vm1 gone",
      (x) => startedOn(x, "vm3") !== undefined && !x.resources.some((r) => r.id === "vm1"),
      90_000,
    );
    assert.ok(startedOn(s, "vm2") !== undefined);
    const now = qemuPids();
    assert.equal(now.get("vm2"), before.get("vm2"), "vm2's QEMU was restarted");
    assert.equal(now.get("vm1"), undefined, "vm1 still runs");
    assert.deepEqual((await run("apply", changed)).changes, []);
  });

  test("kvmha check --probe --libvirt-uri: a guest defined or autostart on another node is found there", async () => {
    const s0 = (await crmStatus(L().anyUp()))!;
    const home = startedOn(s0, "vm2")!;
    const [other, third] = L().c.nodes.nodes.filter((n) => n.name !== home);
    const xml = path.join(L().c.nodes.sharedDir, "vm2", "vm2.xml");
    await other!.execOk("virsh", ["-c", "qemu:///system", "define", xml], { killAfterMs: 30_000 });
    await third!.execOk("virsh", ["-c", "qemu:///system", "define", xml], { killAfterMs: 30_000 });
    await third!.execOk("virsh", ["-c", "qemu:///system", "autostart", "vm2"], {
      killAfterMs: 30_000,
    });
    try {
      const r = await L()
        .anyUp()
        .exec(kvmha, ["check", "--probe", "--libvirt-uri", "qemu+tcp://%n/system", "--json"], {
          killAfterMs: 120_000,
        });
      const doc = JSON.parse(r.stdout) as {
        findings: { id: string; severity: string; subject: { id: string }; message: string }[];
      };
      const libvirt = doc.findings
        .filter((f) => /^probe-(guest|libvirt)/.test(f.id))
        .map((f) => `${f.severity} ${f.id} ${f.subject.id} ${/on (node\d)/.exec(f.message)?.[1]}`)
        .sort();
      assert.deepEqual(libvirt, [
        `error probe-guest-autostart vm2 ${third!.name}`,
        `warning probe-guest-defined vm2 ${other!.name}`,
      ]);
      assert.equal(r.code, 1, "an error is found");
    } finally {
      for (const n of [other!, third!]) {
        await n.exec("virsh", ["-c", "qemu:///system", "autostart", "--disable", "vm2"]);
        await n.exec("virsh", ["-c", "qemu:///system", "undefine", "vm2"]);
      }
    }
  });

  test("a fenced node that comes back takes no guest back", async () => {
    const names = L().c.nodes.nodes.map((n) => n.name);
    const s0 = (await crmStatus(L().anyUp()))!;
    const victim = L().c.nodes.node(startedOn(s0, "vm2")!);
    const pids = victim.killProcesses(/^(corosync|pacemakerd|pacemaker-.*)$/);
    assert.ok(pids.length >= 2, `killed ${pids.join(" ")}`);
    const moved = await waitForStatus(
      L().anyUp(victim.name),
      "vm2 restarted elsewhere",
      (x) => {
        const on = startedOn(x, "vm2");
        return on !== undefined && on !== victim.name;
      },
      150_000,
    );
    const home = startedOn(moved, "vm2")!;
    const pid = qemuPids().get("vm2");
    await waitForStatus(L().anyUp(victim.name), "all online", allOnline(names), 150_000);
    // The cluster has settled with the node back: let a transition that would move guests run.
    await new Promise((r) => setTimeout(r, 15_000));
    const s = (await crmStatus(L().anyUp()))!;
    assert.equal(startedOn(s, "vm2"), home, `vm2 moved back to ${startedOn(s, "vm2")}`);
    assert.equal(qemuPids().get("vm2"), pid, "vm2 was restarted");
    assert.notEqual(startedOn(s, "vm3"), victim.name);
  });
});
