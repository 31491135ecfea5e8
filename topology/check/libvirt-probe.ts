/**
 * `kvmha check --probe --libvirt-uri PATTERN`: guests only the cluster may start. The classic advice
 * for KVM under Pacemaker is to keep each guest's definition on shared storage (VirtualDomain's
 * config=) and undefine it from every node: a domain defined on a node can be started there by
 * `virsh start`, a click in virt-manager or, marked autostart, by libvirtd itself at boot, beside the
 * copy the cluster runs elsewhere (two QEMUs writing one disk). Each node's libvirt is asked,
 * read-only (`virsh -r`), over the URI the admin gives (`%n` the node's name:
 * `qemu+ssh://%n/system`; `qemu:///system` asks this node's only), which of the cluster's
 * guests it has defined persistently or marked autostart. Two `virsh list` per node, bounded.
 */
import fs from "node:fs";
import { Deadline } from "../../lib/deadline.js";
import { runProgram } from "../../lib/program.js";
import type { AgentRun } from "./agent-runner.js";
import type { CheckContext } from "./context.js";
import { type Finding, finding, nodeSubject, resourceSubject } from "./findings.js";

export type VirshRunner = (args: readonly string[], timeoutMs: number) => Promise<AgentRun>;

export const spawnVirsh: VirshRunner = (args, timeoutMs) =>
  runProgram("virsh", args, Deadline.in(timeoutMs), {
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C", HOME: process.env.HOME },
    maxOutput: 1 << 20,
  });

export interface LibvirtProbeOptions {
  /** The URI with %n for the node's name. */
  readonly uriPattern: string;
  readonly timeoutMs: number;
  readonly run?: VirshRunner;
  /** The domain's name in a guest's config= file (undefined: the resource's id is used). */
  readonly domainOf?: (configFile: string) => string | undefined;
}

/** The <name> of a domain XML file readable here (the config= on shared storage). */
export function domainNameIn(configFile: string): string | undefined {
  try {
    const text = fs.readFileSync(configFile, "utf8").slice(0, 1 << 20);
    return /<domain\b[^>]*>[\s\S]*?<name>\s*([^<\s]+)\s*<\/name>/.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

export const libvirtUri = (pattern: string, node: string): string => pattern.replace(/%n/g, node);

/** `virsh list --name`'s lines: one domain a line. */
function names(stdout: string): Set<string> {
  return new Set(
    stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== ""),
  );
}

function reason(r: AgentRun): string {
  if (r.spawnError !== undefined) return `cannot run virsh (${r.spawnError})`;
  if (r.timedOut) return "no answer in time";
  const line = `${r.stderr}\n${r.stdout}`
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l !== "");
  return `exit ${String(r.code)}${line === undefined ? "" : `: ${line.slice(0, 200)}`}`;
}

export async function probeGuestDefinitions(
  ctx: CheckContext,
  o: LibvirtProbeOptions,
): Promise<Finding[]> {
  const run = o.run ?? spawnVirsh;
  const domainOf = o.domainOf ?? domainNameIn;
  const guests = ctx.cib.primitives
    .filter((p) => p.class === "ocf" && p.type === "VirtualDomain")
    .map((p) => {
      const config = p.instance.get("config");
      return { id: p.id, domain: (config && domainOf(config)) ?? p.id };
    });
  if (guests.length === 0) return [];
  const nodes = ctx.cib.nodes.filter((n) => n.type !== "ping").map((n) => n.uname);
  const out: Finding[] = [];
  // A URI without %n names one libvirt: asked once, said as this node's.
  const targets = o.uriPattern.includes("%n") ? nodes : ["this node"];
  await Promise.all(
    targets.map(async (node) => {
      const uri = libvirtUri(o.uriPattern, node);
      const ask = (flag: string) =>
        run(["-r", "-c", uri, "list", "--all", flag, "--name"], o.timeoutMs);
      const [persistent, autostart] = await Promise.all([ask("--persistent"), ask("--autostart")]);
      const failed = [persistent, autostart].find((r) => r.code !== 0);
      if (failed !== undefined) {
        out.push(
          finding(
            "probe-libvirt-failed",
            nodeSubject(node),
            `libvirt at ${uri} did not answer: ${reason(failed)}; whether it could start a cluster guest there is unknown`,
            { uri },
          ),
        );
        return;
      }
      const defined = names(persistent.stdout);
      const auto = names(autostart.stdout);
      for (const g of guests) {
        const as = g.domain === g.id ? "" : ` (domain ${g.domain})`;
        if (auto.has(g.domain))
          out.push(
            finding(
              "probe-guest-autostart",
              resourceSubject(g.id),
              `the guest ${g.id}${as} is marked autostart in libvirt on ${node}: libvirtd starts it when ${node} boots, beside the copy the cluster runs`,
              { uri, domain: g.domain },
            ),
          );
        else if (defined.has(g.domain))
          out.push(
            finding(
              "probe-guest-defined",
              resourceSubject(g.id),
              `the guest ${g.id}${as} is defined persistently in libvirt on ${node}: virsh start or virt-manager there can start a second copy beside the cluster's`,
              { uri, domain: g.domain },
            ),
          );
      }
    }),
  );
  return out;
}
