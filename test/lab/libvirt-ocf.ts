// For tests that run ocf:kvmha:VirtualDomain outside a cluster: a PATH whose crm_resource is a
// stand-in that succeeds and does nothing, so the agent's utilization writes never reach a CIB
// another lab may run on this host (crm_resource finds a local CIB by its abstract socket).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import type { OcfIo } from "../../lib/ocf/run.js";
import { cleanupAtExit } from "./daemon.js";

let dir: string | undefined;

/** `PATH` with a no-op crm_resource first (the directory is removed when the process exits). */
export function pathWithoutCib(
  base: string = process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
): string {
  if (dir === undefined) {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-no-cib-"));
    fs.writeFileSync(path.join(d, "crm_resource"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    dir = d;
    cleanupAtExit(() => fs.rmSync(d, { recursive: true, force: true }));
  }
  return `${dir}:${base}`;
}

/** One in-process run of ocf:kvmha:VirtualDomain: exit code, what it wrote, how long it took. */
export interface AgentRun {
  code: number;
  out: string;
  err: string;
  ms: number;
}

/** Runs one VirtualDomain action in this process, outside any cluster (no-op crm_resource first on PATH). */
export async function runVirtualDomain(
  action: string,
  env: Record<string, string>,
): Promise<AgentRun> {
  const [{ virtualDomain }, { runOcfAgent }] = await Promise.all([
    import("../../agents/VirtualDomain.js"),
    import("../../lib/ocf/run.js"),
  ]);
  const r = { out: "", err: "" };
  const io: OcfIo = {
    out: (t) => {
      r.out += t;
    },
    err: (t) => {
      r.err += t;
    },
    stderrIsTty: () => false,
    syslog: () => undefined,
    startedAt: () => Date.now(),
    pid: process.pid,
  };
  const t0 = Date.now();
  const code = await runOcfAgent(
    virtualDomain,
    [action],
    { PATH: pathWithoutCib(), OCF_ROOT: "/usr/lib/ocf", ...env },
    io,
  );
  return { code, ...r, ms: Date.now() - t0 };
}

/** An agent run, for assertion messages. */
export function showRun(r: AgentRun): string {
  return `exit ${r.code} in ${r.ms} ms\nstdout: ${r.out}\nstderr: ${r.err}`;
}
