/**
 * A fence agent run in-process with its input given and its output kept: what unit tests of the
 * framework and of the agents' messages need (the built executable is tested in test/integration).
 */
import type { FenceAgent } from "../../lib/fence/agent.js";
import { runFenceAgent } from "../../lib/fence/run.js";

export interface AgentRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  /** `TAG LEVEL MESSAGE` lines sent to syslog. */
  readonly syslog: readonly string[];
}

export async function runAgent<S>(
  agent: FenceAgent<S>,
  args: readonly string[],
  stdin = "",
): Promise<AgentRun> {
  let out = "";
  let err = "";
  const syslog: string[] = [];
  const code = await runFenceAgent(agent, args, {
    readStdin: async () => stdin,
    out: (t) => (out += t),
    err: (t) => (err += t),
    syslog: (tag, level, message) => syslog.push(`${tag} ${level} ${message}`),
  });
  return { code, out, err, syslog };
}
