/**
 * fence_ipmi against fence_ipmilan (--lanplus --cipher=3) on the same simulated BMC, in one run:
 * start-up (metadata), status, off (verified) and reboot. Both agents read their options as
 * key=value lines on stdin, as under Pacemaker.
 */
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { agentPath } from "../test/lab/agents.js";
import { requireProgram } from "../test/lab/bins.js";
import { ADMIN_USER, startBmc } from "../test/lab/ipmi-bmc.js";
import { benchmark, optionsFile, saveResult, stdinCases } from "./hyperfine.js";
import { messageOf } from "../lib/errors.js";

async function main(): Promise<void> {
  const reference = requireProgram("fence_ipmilan");
  const ours = agentPath("fence_ipmi");
  const bmc = await startBmc();
  // A BMC that has lost its power: a bound port where nothing ever answers.
  const dead = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => dead.bind(0, "127.0.0.1", resolve));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-bench-ipmi-"));
  try {
    const login = {
      ip: bmc.host,
      ipport: bmc.port,
      username: ADMIN_USER.name,
      password: ADMIN_USER.password,
    };
    const input = (action: string, who: "ref" | "ours") =>
      optionsFile(
        dir,
        `${action}-${who}`,
        who === "ref" ? { ...login, action, lanplus: 1, cipher: 3 } : { ...login, action },
      );
    // Put the chassis back on before each timed run, so that off and reboot always have work to do.
    const powerOn = `printf 1 > ${bmc.powerFile}`;
    const timed = stdinCases(reference, ours, input, powerOn);
    const table = benchmark({
      title: "fence_ipmi vs fence_ipmilan on one ipmi_sim BMC",
      referenceName: "fence_ipmilan",
      oursName: "fence_ipmi",
      cases: [
        {
          name: "start-up (-o metadata)",
          reference: `${reference} -o metadata`,
          ours: `${ours} -o metadata`,
          runs: 40,
        },
        timed("status", "status", 30),
        timed("off (verified)", "off", 10),
        timed("reboot", "reboot", 5),
        {
          // What one fencing attempt costs before Pacemaker may try the next level.
          name: "status of a dead BMC (fails)",
          reference: `${reference} < ${optionsFile(dir, "dead-ref", { ...login, ipport: dead.address().port, action: "status", lanplus: 1, cipher: 3 })}; true`,
          ours: `${ours} < ${optionsFile(dir, "dead-ours", { ...login, ipport: dead.address().port, action: "status" })}; true`,
          runs: 3,
          warmup: 0,
        },
      ],
    });
    saveResult("fence-ipmi", table);
  } finally {
    dead.close();
    await bmc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${messageOf(err)}\n`);
  process.exitCode = 1;
});
