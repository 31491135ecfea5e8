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

/**
 * A fresh resource on a lab libvirtd's test driver: its config file (`xml` of its name) in `dir`,
 * its own HA_RSCTMP and instance name; `extra` is added to its environment.
 */
export function testResource(
  dir: string,
  name: string,
  instance: string,
  uri: string,
  xml: (name: string) => string,
  extra: Record<string, string> = {},
): { env: Record<string, string>; name: string; config: string } {
  const config = path.join(dir, `${name}.xml`);
  fs.writeFileSync(config, xml(name));
  return {
    name,
    config,
    env: {
      OCF_RESOURCE_INSTANCE: instance,
      HA_RSCTMP: path.join(dir, `rsctmp-${instance}`),
      OCF_RESKEY_config: config,
      OCF_RESKEY_hypervisor: uri,
      ...extra,
    },
  };
}

/** A crm_resource (in a new directory under `dir`) that appends its arguments to a log and exits `code`. */
export function standInCrmResource(dir: string, code = 0): { PATH: string; log: string } {
  const bin = fs.mkdtempSync(path.join(dir, "bin-"));
  const log = path.join(bin, "calls");
  fs.writeFileSync(log, "");
  fs.writeFileSync(
    path.join(bin, "crm_resource"),
    `#!/bin/sh\necho "$*" >> '${log}'\n${code === 0 ? "" : 'echo "Could not connect to the CIB" >&2\n'}exit ${code}\n`,
    { mode: 0o755 },
  );
  return { PATH: `${bin}:${process.env.PATH ?? ""}`, log };
}

/** A log's lines, empty ones left out. */
export function logLines(file: string): string[] {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "");
}
