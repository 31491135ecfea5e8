/**
 * fence_redfish against fence-agents' fence_redfish on the same lab Redfish BMC (iDRAC 9's
 * resources, test/lab/redfish-bmc.ts, run as its own process: hyperfine blocks this one), in one
 * run: start-up (metadata), status, off (verified) and reboot. Both read their options as
 * key=value lines on stdin, as under Pacemaker, and both verify the BMC's certificate against the
 * lab CA (ours: ssl_cacert; fence-agents': REQUESTS_CA_BUNDLE), in fenced's environment.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { messageOf } from "../lib/errors.js";
import { agentPath } from "../test/lab/agents.js";
import { requireProgram } from "../test/lab/bins.js";
import { REDFISH_ADMIN } from "../test/lab/redfish-bmc.js";
import { benchmark, optionsFile, saveResult, stdinCases } from "./hyperfine.js";

interface LabBmcProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly controlPort: number;
  readonly caFile: string;
}

/** Starts the lab BMC as a process and reads the line it prints when it listens. */
async function startBmcProcess(vendor: string): Promise<LabBmcProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/lab/redfish-bmc.ts", "serve", vendor],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let line = "";
  for await (const chunk of child.stdout ?? []) {
    line += String(chunk);
    if (line.includes("\n")) break;
  }
  const info = JSON.parse(line) as { port: number; controlPort: number; caFile: string };
  return { child, ...info };
}

async function main(): Promise<void> {
  const reference = requireProgram("fence_redfish");
  const curl = requireProgram("curl");
  const ours = agentPath("fence_redfish");
  const bmc = await startBmcProcess("dell");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-bench-redfish-"));
  try {
    const login = {
      ip: "127.0.0.1",
      ipport: bmc.port,
      username: REDFISH_ADMIN.name,
      password: REDFISH_ADMIN.password,
    };
    const input = (action: string, who: "ref" | "ours") =>
      optionsFile(
        dir,
        `${action}-${who}`,
        who === "ref" ? { ...login, action } : { ...login, action, ssl_cacert: bmc.caFile },
      );
    // Put the system back on before each timed run, so that off and reboot always have work to do.
    const powerOn = `${curl} -s -o /dev/null -X PUT http://127.0.0.1:${bmc.controlPort}/power/on`;
    const timed = stdinCases(reference, ours, input, powerOn);
    const table = benchmark({
      title: "fence_redfish vs fence-agents' fence_redfish on one lab Redfish BMC (iDRAC 9)",
      referenceName: "fence-agents fence_redfish",
      oursName: "fence_redfish",
      // As under pacemaker-fenced: no NODE_EXTRA_CA_CERTS (a CI machine may set it, and it makes
      // Node read that bundle at the first TLS use).
      env: { REQUESTS_CA_BUNDLE: bmc.caFile, NODE_EXTRA_CA_CERTS: undefined },
      cpu: true,
      cases: [
        {
          name: "start-up (-o metadata)",
          reference: `${reference} -o metadata`,
          ours: `${ours} -o metadata`,
          runs: 40,
        },
        timed("status", "status", 30),
        timed("off (verified)", "off", 20),
        timed("reboot", "reboot", 10),
      ],
    });
    saveResult("fence-redfish", table);
  } finally {
    bmc.child.kill("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${messageOf(err)}\n`);
  process.exitCode = 1;
});
