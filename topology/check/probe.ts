/**
 * `kvmha check --probe`: asks every fencing device, read-only, through kvmha's own agents, the way
 * the fencer would run them: options as key=value lines on stdin (never argv, so no secret in
 * `ps`), `status` for a BMC (logs in, reads the chassis power), `monitor` then one `status` per
 * outlet for a PDU. Nothing is switched. The plan and the reading of the agents' answers are pure;
 * the runner (spawn, bounded, a few at a time) is the one I/O part.
 */
import fs from "node:fs";
import path from "node:path";
import { type AgentRun, type Runner, readCibSecret, spawnRunner } from "./agent-runner.js";
import type { Primitive } from "./cib.js";
import { claimOf, familyOf, isBmc, lanplusDefaultOff, outletsOf, sameNode } from "./devices.js";
import type { ProbeOutcome } from "./report.js";
import type { CheckContext } from "./context.js";
import { type Finding, deviceSubject, finding } from "./findings.js";
import { probeAgentFor } from "../agents.js";

/** An option name as an agent may read it from stdin ('-' and '_' alike; any case, to be safe). */
const agentKey = (name: string): string => name.trim().toLowerCase().replace(/-/g, "_");

/**
 * Options that are the fencer's, that we set per question, or that would make the agent write a
 * file (debug_file: the probe reads the agent's stderr, it writes nothing anywhere).
 */
function passedOn(name: string): boolean {
  const key = agentKey(name);
  return (
    !key.startsWith("pcmk_") &&
    !["action", "option", "plug", "port", "delay", "nodename", "method"].includes(key) &&
    !["debug_file", "debug"].includes(key)
  );
}

/**
 * Options whose value is a command the agent runs (password_script, community_script,
 * snmp_priv_passwd_script, and whatever else ends in _script): as root, when kvmha check runs as
 * root. The live CIB's are the cluster's own, run whenever it fences; a file's are whoever wrote it.
 */
export function scriptOptions(device: Primitive): string[] {
  return [...device.instance.keys()].filter((name) => agentKey(name).endsWith("_script"));
}

export type { AgentRun, Runner };

export interface ProbeOptions {
  readonly agentDir: string;
  readonly timeoutMs: number;
  readonly jobs: number;
  /** For tests: how an agent is run. */
  readonly runner?: Runner;
  /** For tests: where cibsecrets' values are read. */
  readonly secret?: SecretReader;
  /**
   * Whether the CIB may have its devices' commands run and be given this node's secrets: its
   * *_script options run (as this user: root), and its lrm:// values are read from this node's
   * cibsecrets and sent to the addresses it names. True for the live CIB; for a file, only with
   * --run-scripts: a file can name any command and any address. Default false.
   */
  readonly runScripts?: boolean;
}

/** Whether the cluster sees the node up: online in the status section; assumed up without one. */
export function nodeUp(ctx: CheckContext, node: string): boolean {
  const status = ctx.cib.status;
  if (status === undefined) return true;
  const state = status.find((s) => sameNode(s.uname, node));
  return state?.online ?? false;
}

/** What cibsecrets writes in the CIB in place of a value it keeps on the nodes. */
const CIB_SECRET = "lrm://";

/** Why a device of a CIB that is not trusted (runScripts false) is not probed, or undefined. */
export function untrustedReason(device: Primitive): string | undefined {
  const scripts = scriptOptions(device);
  if (scripts.length > 0)
    return `${scripts.map((s) => `'${s}'`).join(", ")} would run a command this file names: give --run-scripts to run it`;
  const kept = [...device.instance].find(([, v]) => v === CIB_SECRET)?.[0];
  if (kept !== undefined)
    return `'${kept}' is kept by cibsecrets, and this node's secret would go to the address this file names: give --run-scripts to send it`;
  return undefined;
}

export type SecretReader = (resource: string, parameter: string) => string | undefined;

/**
 * The stdin for one question: the device's options, ours last (the agent keeps the last
 * duplicate). Values cibsecrets keeps out of the CIB are read through `secret`.
 */
export function stdinFor(
  device: Primitive,
  action: string,
  plug?: string,
  secret: SecretReader = () => undefined,
): { stdin: string } | { unsafe: string } | { noSecret: string } {
  const lines: string[] = [];
  for (const [name, stored] of device.instance) {
    if (!passedOn(name)) continue;
    let value = stored;
    if (stored === CIB_SECRET) {
      const found = secret(device.id, name);
      if (found === undefined) return { noSecret: name };
      value = found;
    }
    // A line break would let a value start a line of its own: a different option.
    if (/[\r\n]/.test(value) || /[\r\n=]/.test(name)) return { unsafe: name };
    lines.push(`${name}=${value}`);
  }
  if (
    familyOf(device.type) === "ipmi" &&
    lanplusDefaultOff(device.type) &&
    !device.instance.has("lanplus")
  )
    lines.push("lanplus=0");
  lines.push(`action=${action}`);
  if (plug !== undefined) lines.push(`plug=${plug}`);
  return { stdin: `${lines.join("\n")}\n` };
}

/**
 * The agent's own explanation: its last ERROR line. The agents never print a secret (they hold
 * them as lib/secret.ts values, which print as [hidden]), so nothing here searches for one: a
 * search would garble the line wherever a short secret's text occurs in it.
 */
export function agentReason(run: AgentRun): string {
  if (run.spawnError !== undefined) return `could not run the agent: ${run.spawnError}`;
  if (run.timedOut) return "the agent did not finish within the probe timeout";
  const lines = run.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const error =
    [...lines].reverse().find((l) => /(^|\s)ERROR:/.test(l)) ??
    lines.at(-1) ??
    `exit status ${String(run.code)}`;
  return error.replace(/^.*?ERROR:\s*/, "");
}

/** What kind of failure the agent reported. */
export function classify(
  reason: string,
): "credentials" | "unreachable" | "missing-outlet" | "failed" {
  if (/has no outlet|no such (outlet|plug)|unknown (outlet|plug)/i.test(reason))
    return "missing-outlet";
  // "no answer … (Get Channel Authentication Capabilities)" is about reaching the BMC, not its credentials.
  if (
    /no answer|did not answer|timed? ?out|unreachable|within \d+(\.\d+)? s|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH/i.test(
      reason,
    )
  )
    return "unreachable";
  if (
    /password|login|user|unauthori[sz]ed|authentication|community|read-only|privilege|cipher|RAKP/i.test(
      reason,
    )
  )
    return "credentials";
  return "failed";
}

/** Runs tasks with at most `jobs` at once, results in task order. */
async function pool<T, R>(
  items: readonly T[],
  jobs: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, jobs), items.length) }, worker));
  return results;
}

function failureFinding(device: Primitive, endpoint: string, reason: string): Finding {
  const kind = classify(reason);
  const what = isBmc(familyOf(device.type)) ? "BMC" : "PDU";
  const subject = deviceSubject(device.id);
  if (kind === "credentials")
    return finding(
      "probe-credentials",
      subject,
      `${what} ${endpoint} refused the device's credentials: ${reason}`,
    );
  if (kind === "unreachable")
    return finding("probe-unreachable", subject, `${what} ${endpoint} did not answer: ${reason}`);
  return finding("probe-failed", subject, `${what} ${endpoint}: ${reason}`, {
    agent: device.type,
  });
}

function endpointText(device: Primitive): string {
  const ip = device.instance.get("ip") ?? device.instance.get("ipaddr") ?? "(no ip)";
  const port = device.instance.get("ipport");
  return port === undefined ? ip : `${ip}:${port}`;
}

/** Probes every device; one finding per problem, one outcome per device. */
export async function probeDevices(
  ctx: CheckContext,
  options: ProbeOptions,
): Promise<{ findings: Finding[]; outcomes: ProbeOutcome[] }> {
  const runner = options.runner ?? spawnRunner;
  const secret =
    options.secret ?? ((resource: string, parameter: string) => readCibSecret(resource, parameter));
  const ask = (
    device: Primitive,
    agent: string,
    action: string,
    plug?: string,
  ): Promise<AgentRun | { unsafe: string } | { noSecret: string }> => {
    const input = stdinFor(device, action, plug, secret);
    if (!("stdin" in input)) return Promise.resolve(input);
    return runner(path.join(options.agentDir, agent), input.stdin, options.timeoutMs);
  };
  const perDevice = await pool(
    ctx.devices,
    options.jobs,
    async (device): Promise<{ findings: Finding[]; outcome: ProbeOutcome }> => {
      const findings: Finding[] = [];
      const outcome = (result: ProbeOutcome["result"], detail: string) => ({
        findings,
        outcome: { device: device.id, agent: device.type, result, detail },
      });
      // Ours, their aliases, and the reference agents they speak for (their registrations' probes:
      // fence_ipmilan, whose lanplus=0 default stdinFor passes on; fence_eaton_snmp).
      const agent = probeAgentFor(device.type);
      if (agent === undefined) return outcome("skipped", "kvmha has no agent for it");
      // An agent under fence-agents' name (fence_redfish) is in kvmha-fence-aliases: a node
      // without that package has fence-agents' file there, or none. None: not probed (not a
      // device problem).
      if (options.runner === undefined && !fs.existsSync(path.join(options.agentDir, agent)))
        return outcome("skipped", `${agent} is not in ${options.agentDir}`);
      const untrusted = options.runScripts === true ? undefined : untrustedReason(device);
      if (untrusted !== undefined) return outcome("skipped", untrusted);
      const endpoint = endpointText(device);
      const family = familyOf(device.type);
      const first = await ask(device, agent, isBmc(family) ? "status" : "monitor");
      if ("noSecret" in first) {
        return outcome(
          "skipped",
          `'${first.noSecret}' is kept by cibsecrets and not readable here`,
        );
      }
      if ("unsafe" in first) {
        findings.push(
          finding(
            "probe-unsafe-option",
            deviceSubject(device.id),
            `option '${first.unsafe}' holds a line break: not passed to an agent`,
          ),
        );
        return outcome("problem", "not probed: unsafe option");
      }
      const answered =
        first.spawnError === undefined &&
        !first.timedOut &&
        (first.code === 0 || (isBmc(family) && first.code === 2));
      if (!answered) {
        findings.push(failureFinding(device, endpoint, agentReason(first)));
        return outcome("problem", findings[0]?.message ?? "");
      }
      const claim = claimOf(device);
      const targets =
        claim.kind === "static"
          ? [...claim.targets].filter(([node]) => ctx.nodes.some((n) => sameNode(n, node)))
          : [];
      if (isBmc(family)) {
        const off = first.code === 2;
        for (const [node] of targets) {
          if (off && nodeUp(ctx, node)) {
            findings.push(
              finding(
                "probe-bmc-off",
                deviceSubject(device.id),
                `BMC ${endpoint} reports its chassis off while ${node}, the node it fences, is up: it is another machine's BMC`,
                { device: device.id, node },
              ),
            );
          }
        }
        return outcome(findings.length === 0 ? "ok" : "problem", `chassis ${off ? "off" : "on"}`);
      }
      // A PDU: each node's outlets, one question each (a list's overall status would hide one off outlet).
      const questions = targets.flatMap(([node, plug]) =>
        outletsOf(plug, device).map((outlet) => ({ node, outlet })),
      );
      const answers = await pool(questions, 1, async (q) => ({
        q,
        run: await ask(device, agent, "status", q.outlet),
      }));
      for (const { q, run } of answers) {
        if (!("code" in run)) continue;
        if (run.code === 0) continue;
        if (run.code === 2 && run.spawnError === undefined && !run.timedOut) {
          if (nodeUp(ctx, q.node)) {
            findings.push(
              finding(
                "probe-outlet-off",
                deviceSubject(device.id),
                `outlet ${q.outlet} of PDU ${endpoint} is off while ${q.node}, which it feeds, is up: the map names the wrong outlet (or that supply is already lost)`,
                { node: q.node },
              ),
            );
          }
          continue;
        }
        const reason = agentReason(run);
        if (classify(reason) === "missing-outlet") {
          findings.push(
            finding(
              "probe-outlet-missing",
              deviceSubject(device.id),
              `PDU ${endpoint} has no outlet ${q.outlet} (mapped to ${q.node}): ${reason}`,
              { node: q.node },
            ),
          );
        } else {
          findings.push(failureFinding(device, endpoint, reason));
        }
      }
      return outcome(
        findings.length === 0 ? "ok" : "problem",
        `${questions.length} outlet(s) asked`,
      );
    },
  );
  return {
    findings: perDevice.flatMap((d) => d.findings),
    outcomes: perDevice.map((d) => d.outcome),
  };
}
