/**
 * The snapshot warm-up of a resource agent: the runner (environment → parameters → checks →
 * action → exit code, logging, the exit reason) run through meta-data, a probe and a recurring
 * monitor, with a stand-in I/O that writes nowhere and an environment whose PATH holds no
 * programs, so the agent's required binaries are "not installed" and no action touches a file or
 * starts a process. Called while the startup snapshot is built (lib/cli/main.ts
 * `preloadShippedCommands`, inside warmUpWithoutTimers), so the executable starts with this code
 * compiled; nothing is kept, nothing at module level.
 */
import type { OcfAgent } from "./agent.js";
import type { Env } from "./params.js";
import { type OcfIo, runOcfAgent } from "./run.js";

export async function exerciseOcfAgent(agent: OcfAgent, params: Env = {}): Promise<void> {
  const io: OcfIo = {
    out: () => {},
    err: () => {},
    stderrIsTty: () => false,
    syslog: () => {},
    startedAt: () => Date.now(),
    pid: 1,
  };
  const base: Env = {
    ...params,
    OCF_ROOT: "/usr/lib/ocf",
    OCF_RA_VERSION_MAJOR: "1",
    OCF_RESOURCE_INSTANCE: "kvmha-warm-up",
    OCF_RESKEY_CRM_meta_timeout: "20000",
    PATH: "/nonexistent/kvmha-warm-up",
    HA_RSCTMP: "/nonexistent/kvmha-warm-up",
  };
  try {
    await runOcfAgent(agent, ["meta-data"], base, io);
    await runOcfAgent(agent, ["monitor"], base, io);
    await runOcfAgent(agent, ["monitor"], { ...base, OCF_RESKEY_CRM_meta_interval: "10000" }, io);
  } catch {
    // A warm-up never fails the build; the agent's own tests cover its behaviour.
  }
}
