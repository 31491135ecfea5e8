/**
 * The demo: a simulated BMC (OpenIPMI's ipmi_sim) on loopback, fenced by the built fence_ipmi
 * with status, off, on and reboot, each read back from the BMC, on a readable timeline; then the
 * reference fence_ipmilan's reboot on the same BMC for comparison. Leaves nothing running.
 */
import { runAgentStdin } from "../test/lab/agents.js";
import { fenceIpmilan } from "../test/lab/clients.js";
import { ADMIN_USER, type Bmc, startBmc } from "../test/lab/ipmi-bmc.js";

const t0 = Date.now();
const stamp = (): string => `+${((Date.now() - t0) / 1000).toFixed(3).padStart(7)}s`;
const say = (text: string): void => {
  process.stdout.write(`${stamp()}  ${text}\n`);
};

async function step(bmc: Bmc, action: string): Promise<void> {
  const r = await runAgentStdin("fence_ipmi", {
    ip: bmc.host,
    ipport: bmc.port,
    username: ADMIN_USER.name,
    password: ADMIN_USER.password,
    action,
  });
  const answer = (r.stdout.trim() || r.stderr.trim()).replace(/\n/g, " | ");
  say(`fence_ipmi -o ${action.padEnd(6)} → ${answer} (exit ${r.code}, ${r.ms} ms); BMC power now: ${await bmc.readPower()}`);
  if (r.code !== 0 && !(action === "status" && r.code === 2)) throw new Error(`fence_ipmi ${action} failed`);
}

async function main(): Promise<void> {
  process.stdout.write("kvmha demo: fencing a simulated BMC with fence_ipmi (native IPMI 2.0, no ipmitool)\n\n");
  const bmc = await startBmc();
  try {
    say(`BMC up: ipmi_sim on ${bmc.host}:${bmc.port} (UDP), user ${ADMIN_USER.name}, power ${await bmc.readPower()}`);
    for (const action of ["status", "off", "status", "on", "reboot"]) await step(bmc, action);
    const calls = (await bmc.chassisCalls()).filter((c) => c.startsWith("set power"));
    say(`the BMC saw these power changes: ${calls.join(", ")}`);
    const reference = await fenceIpmilan(bmc, "reboot");
    say(`for comparison, fence_ipmilan --lanplus -C 3 reboot on the same BMC: ${reference.stdout.trim()} (exit ${reference.code}, ${reference.ms} ms)`);
  } finally {
    await bmc.stop();
    say("BMC stopped; nothing left running");
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
