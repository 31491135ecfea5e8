/**
 * The demo (docs/demo.md). Default: the cluster lab (docs/cluster-lab.md) — three Pacemaker nodes
 * configured by `kvmha render` with kvmha's agents, two QEMU guests — loses a node and its BMC at
 * once (total power loss); a live timeline shows the power events, each fence agent run, the
 * fencing result, node states and where each guest runs, in seconds from the fault. Then the lab
 * is torn down, also on failure or Ctrl-C.
 * `demo.ts ipmi`: the short one, fence_ipmi against one simulated BMC (no cluster).
 */
import { runAgentStdin } from "../test/lab/agents.js";
import { fenceIpmilan } from "../test/lab/clients.js";
import { ADMIN_USER, type Bmc, startBmc } from "../test/lab/ipmi-bmc.js";
import { crmStatus, deviceResults, fenceResults, type CrmStatus } from "../test/lab/cluster/crm.js";
import { startFailoverLab, type FailoverLab } from "../test/lab/cluster/failover.js";
import { messageOf } from "../lib/errors.js";

const GUESTS = ["vm1", "vm2"];
const WITHIN_MS = 180_000;

let t0 = Date.now();
const stamp = (): string => `+${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
const say = (text: string): void => {
  process.stdout.write(`${stamp()}  ${text}\n`);
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function ipmiStep(bmc: Bmc, action: string): Promise<void> {
  const r = await runAgentStdin("fence_ipmi", {
    ip: bmc.host,
    ipport: bmc.port,
    username: ADMIN_USER.name,
    password: ADMIN_USER.password,
    action,
  });
  const answer = (r.stdout.trim() || r.stderr.trim()).replace(/\n/g, " | ");
  say(
    `fence_ipmi -o ${action.padEnd(6)} → ${answer} (exit ${r.code}, ${r.ms} ms); BMC power now: ${await bmc.readPower()}`,
  );
  if (r.code !== 0 && !(action === "status" && r.code === 2))
    throw new Error(`fence_ipmi ${action} failed`);
}

async function ipmiDemo(): Promise<void> {
  process.stdout.write(
    "kvmha demo: fencing a simulated BMC with fence_ipmi (native IPMI 2.0, no ipmitool)\n\n",
  );
  const bmc = await startBmc();
  try {
    say(
      `BMC up: ipmi_sim on ${bmc.host}:${bmc.port} (UDP), user ${ADMIN_USER.name}, power ${await bmc.readPower()}`,
    );
    for (const action of ["status", "off", "status", "on", "reboot"]) await ipmiStep(bmc, action);
    const calls = (await bmc.chassisCalls()).filter((c) => c.startsWith("set power"));
    say(`the BMC saw these power changes: ${calls.join(", ")}`);
    const reference = await fenceIpmilan(bmc, "reboot");
    say(
      `for comparison, fence_ipmilan --lanplus -C 3 reboot on the same BMC: ${reference.stdout.trim()} (exit ${reference.code}, ${reference.ms} ms)`,
    );
  } finally {
    await bmc.stop();
    say("BMC stopped; nothing left running");
  }
}

/** Where each guest is Started, as one short string ("vm1 on node2, vm2 on node3"). */
function placementText(s: CrmStatus): string {
  return GUESTS.map((g) => {
    const r = s.resources.find((x) => x.id === g);
    if (!r || r.nodes.length === 0) return `${g} stopped`;
    return `${g} ${r.role === "Started" ? "on" : `${r.role} on`} ${r.nodes.join("+")}`;
  }).join(", ");
}

function nodesText(s: CrmStatus): string {
  return s.nodes
    .map(
      (n) =>
        `${n.name} ${n.online ? "online" : n.unclean ? "UNCLEAN (lost, not fenced yet)" : n.pending ? "joining" : "offline"}`,
    )
    .join(", ");
}

interface LabRef {
  starting?: Promise<FailoverLab>;
  current?: FailoverLab;
}

async function clusterDemo(lab: LabRef): Promise<void> {
  process.stdout.write(
    "kvmha demo: a three-node Pacemaker cluster loses a node and its BMC at once (total power loss).\n" +
      "Each node: its own namespaces, corosync + pacemaker, libvirtd with QEMU (TCG) guests, a simulated BMC\n" +
      "(ipmi_sim) and two power supplies on two simulated PDUs (snmpd). Configured by `kvmha render` + pcs:\n" +
      "level 1 = fence_ipmi on the node's BMC, level 2 = fence_pdu switching both its outlets off, then on.\n\n",
  );
  say(
    "starting the lab: 3 nodes, 3 BMCs, 2 PDUs, then rendering and applying the configuration (about half a minute)",
  );
  lab.starting = startFailoverLab({ guests: GUESTS });
  const L = await lab.starting;
  lab.current = L;
  const first = await crmStatus(L.anyUp());
  if (first) say(`cluster up: ${nodesText(first)}; ${placementText(first)}`);

  const victim = L.c.nodes.node((await L.placement()).get(GUESTS[0]!)!);
  process.stdout.write(
    `\n--- the fault: ${victim.name} loses both power supplies (the node and its BMC die together); times from here ---\n` +
      "(its supplies stay dead for the demo: outlets switched back on by fencing cannot start it again)\n",
  );
  t0 = Date.now();
  const start = t0;
  let seenPower = L.c.power.events().length;
  await L.c.power.setSuppliesDead(victim.name, true);
  let seenRuns = 0;
  let seenFences = 0;
  let lastNodes = "";
  let lastPlace = "";
  let fencedAt: number | undefined;
  let guestsAt: number | undefined;
  while (Date.now() < start + WITHIN_MS && (fencedAt === undefined || guestsAt === undefined)) {
    for (const e of L.c.power.events().slice(seenPower)) say(`power  ${e.node}: ${e.what}`);
    seenPower = L.c.power.events().length;
    const runs = await deviceResults(L.logs(), start);
    for (const r of runs.slice(seenRuns)) {
      say(
        `fence  ${r.node} ran ${r.device} ${r.action} ${r.target}: ${r.rc === 0 ? "OK" : `FAILED (exit ${r.rc})`}`,
      );
    }
    seenRuns = runs.length;
    const fences = (await fenceResults(L.logs(), start)).filter((r) => r.target === victim.name);
    for (const f of fences.slice(seenFences)) {
      say(
        `fence  Pacemaker: ${f.action} of ${f.target} ${f.ok ? "CONFIRMED" : `failed (${f.result})`}`,
      );
      if (f.ok) fencedAt ??= Date.now();
    }
    seenFences = fences.length;
    const s = await crmStatus(L.anyUp(victim.name));
    if (s) {
      const nodes = nodesText(s);
      if (nodes !== lastNodes) say(`nodes  ${nodes}`);
      lastNodes = nodes;
      const place = placementText(s);
      if (place !== lastPlace) say(`guests ${place}`);
      lastPlace = place;
      if (fencedAt !== undefined && L.guestsUp(s)) guestsAt = Date.now();
    }
    if (guestsAt === undefined) await sleep(250);
  }
  const sec = (at: number | undefined) =>
    at === undefined ? "never" : `${((at - start) / 1000).toFixed(1)} s`;
  process.stdout.write(
    `\n--- result: ${victim.name} fenced ${sec(fencedAt)} after the fault; every guest running again ${sec(guestsAt)} after it; ` +
      `guest on two nodes at once: ${L.w.violations().length === 0 ? "never" : "YES"} ---\n\n`,
  );
  if (fencedAt === undefined || guestsAt === undefined)
    throw new Error(`no failover within ${WITHIN_MS / 1000} s`);
}

async function main(): Promise<void> {
  if (process.argv[2] === "ipmi") return ipmiDemo();
  if (process.argv[2] !== undefined)
    throw new Error(`unknown demo '${process.argv[2]}' (expected none, or ipmi)`);
  if (process.getuid?.() !== 0)
    throw new Error("the cluster demo needs root (namespaces, corosync, libvirtd)");
  const lab: LabRef = {};
  let stopping: Promise<void> | undefined;
  const teardown = (): Promise<void> => {
    stopping ??= (async () => {
      say("tearing the lab down");
      // Interrupted while starting: startFailoverLab stops what it started if it fails; else stop it once up.
      const l = lab.current ?? (await lab.starting?.catch(() => undefined));
      await l?.stop();
      say("lab stopped; nothing left running");
    })();
    return stopping;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\n${sig}: stopping the lab (a second one exits at once)\n`);
    process.removeAllListeners("SIGINT");
    process.removeAllListeners("SIGTERM");
    process.once("SIGINT", () => process.exit(130));
    process.once("SIGTERM", () => process.exit(143));
    void teardown().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await clusterDemo(lab);
  } finally {
    await teardown();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${messageOf(err)}\n`);
  process.exitCode = 1;
});
