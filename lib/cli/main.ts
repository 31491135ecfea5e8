import { basename } from "node:path";
import { KvmhaError, messageOf } from "../errors.js";
import { printable } from "../log.js";
import type { CliCommand } from "./args.js";
import { EXIT_USAGE, wrapList } from "./usage.js";
import { VERSION, runtimeLabel } from "./version.js";

/**
 * What one invoked name runs: it gets the arguments (argv minus program) and the name it was
 * invoked as (an alias's, for a command that has aliases), and returns the exit code.
 */
export type Command = (args: readonly string[], invokedAs?: string) => Promise<number>;

/** Where an installed link for a command goes: a fence agent (sbin) or an OCF resource agent. */
export type CommandKind = "fence" | "ocf";

export interface CommandSpec {
  readonly kind: CommandKind;
  /**
   * Implemented, advertised in the usage text, installed by `npm run install-agents`. A command
   * that is not shipped still dispatches (its link exists in dist/bin) but only says so and fails.
   */
  readonly shipped: boolean;
  readonly run: Command;
}

/**
 * The multi-call table: one binary, one behaviour per invoked name. It is the one list of names:
 * scripts/build.mjs makes a link in dist/bin for every entry and scripts/install-agents.mjs
 * installs the shipped ones. An agent module is imported on first use: the bundle holds every
 * agent, but the startup snapshot initializes only this dispatcher, so nothing an agent reads at
 * load time (environment, clock) is frozen at build time.
 */
const commands: Record<string, CommandSpec> = {
  fence_ipmi: {
    kind: "fence",
    shipped: true,
    run: async (args, invokedAs) =>
      (await import("../../fence/fence_ipmi.js")).main(args, invokedAs),
  },
  fence_pdu: {
    kind: "fence",
    shipped: true,
    run: async (args, invokedAs) =>
      (await import("../../fence/fence_pdu.js")).main(args, invokedAs),
  },
  // Not shipped yet: /usr/sbin/fence_redfish is fence-agents' file, so installing it (install-agents,
  // the .deb) waits for the packaging decision (kvmha-fence-aliases' dpkg-divert, or another name).
  fence_redfish: {
    kind: "fence",
    shipped: false,
    run: async (args, invokedAs) =>
      (await import("../../fence/fence_redfish.js")).main(args, invokedAs),
  },
  VirtualDomain: {
    kind: "ocf",
    shipped: true,
    run: async (args) => {
      const [{ virtualDomain }, { runOcfAgent }] = await Promise.all([
        import("../../agents/VirtualDomain.js"),
        import("../ocf/run.js"),
      ]);
      return runOcfAgent(virtualDomain, args, process.env);
    },
  },
};

/**
 * fence-agents' names that our agents answer to (alias → command). Each agent declares what its
 * aliases change (`aliases` in its FenceAgent). They are not links in dist/bin nor installed by
 * install-agents: fence-agents owns these files, and the kvmha-fence-aliases package takes them
 * over with dpkg-divert (scripts/package.mjs, docs/install.md).
 */
const aliases: Record<string, string> = {
  fence_ipmilanplus: "fence_ipmi",
  fence_idrac: "fence_ipmi",
  fence_ilo3: "fence_ipmi",
  fence_ilo4: "fence_ipmi",
  fence_ilo5: "fence_ipmi",
  fence_imm: "fence_ipmi",
  fence_apc_snmp: "fence_pdu",
  fence_tripplite_snmp: "fence_pdu",
};

/** The aliases and the command each stands for, for the package script and man pages. */
export function aliasTable(): { name: string; of: string }[] {
  return Object.entries(aliases).map(([name, of]) => ({ name, of }));
}

/**
 * kvmha's own subcommands (`kvmha render`, `check`, `plan`, `apply`): tools for the admin, not agents, so they
 * have no links of their own. Each module exports `main(args)` returning the exit code.
 */
const subcommands: Record<
  string,
  {
    readonly summary: string;
    readonly run: Command;
    /** Its command-line declaration (lib/cli/args.ts), for kvmha(8). */
    readonly declaration: () => Promise<CliCommand>;
  }
> = {
  render: {
    summary: "render an inventory into pcs, crmsh and CIB XML configurations",
    run: async (args) => (await import("../../commands/render.js")).main(args),
    declaration: async () => (await import("../../commands/render.js")).renderCommand,
  },
  check: {
    summary: "check a CIB's fencing and guest resources (and, with --probe, the devices)",
    run: async (args) => (await import("../../commands/check.js")).main(args),
    declaration: async () => (await import("../../commands/check.js")).checkCommand,
  },
  plan: {
    summary: "show what kvmha apply would change in the cluster, and what Pacemaker would do then",
    run: async (args) => (await import("../../commands/plan.js")).main(args),
    declaration: async () => (await import("../../commands/plan.js")).planCommand,
  },
  apply: {
    summary: "make the cluster's kvmha objects what the inventory says, in one verified push",
    run: async (args) => (await import("../../commands/apply.js")).main(args),
    declaration: async () => (await import("../../commands/apply.js")).applyCommand,
  },
};

/** The subcommands and what each does, for usage texts and man pages. */
export function subcommandTable(): { name: string; summary: string }[] {
  return Object.entries(subcommands).map(([name, spec]) => ({ name, summary: spec.summary }));
}

/** Every subcommand's command-line declaration (options, exit codes), for kvmha(8). */
export async function subcommandDeclarations(): Promise<CliCommand[]> {
  return Promise.all(Object.values(subcommands).map((s) => s.declaration()));
}

/**
 * Loads the shipped agents' modules. The build calls this while it takes the startup snapshot, so
 * the executable starts with them already compiled and initialized (their module level holds
 * declarations only: nothing that reads the environment, the clock or randomness).
 */
export async function preloadShippedCommands(): Promise<void> {
  await import("../../fence/fence_ipmi.js");
  await import("../../fence/fence_pdu.js");
  await import("../../fence/fence_redfish.js");
  // VirtualDomain's monitor runs every few seconds on every node: in the snapshot it starts
  // initialized. xml2js stays out (loaded on first parse; a steady-state monitor does not parse),
  // since everything here is deserialized at every start of every agent, fence agents included.
  const { virtualDomain } = await import("../../agents/VirtualDomain.js");
  const { warmUpWithoutTimers } = await import("./snapshot.js");
  await warmUpWithoutTimers(async () => (await import("../snmp/client.js")).exerciseSnmpCodec());
  await warmUpWithoutTimers(async () => (await import("../ipmi/warm-up.js")).exerciseIpmiClient());
  await warmUpWithoutTimers(async () =>
    (await import("../redfish/warm-up.js")).exerciseRedfishClient(),
  );
  await warmUpWithoutTimers(async () =>
    (await import("../ocf/warm-up.js")).exerciseOcfAgent(virtualDomain, {
      OCF_RESKEY_config: "/nonexistent/kvmha-warm-up.xml",
    }),
  );
  (await import("../libvirt/warm-up.js")).exerciseLibvirtMonitorPath();
}

/** Every name the binary answers to. */
export function commandNames(): string[] {
  return Object.keys(commands);
}

/** The table without its functions, for the build and install scripts. */
export function commandTable(): { name: string; kind: CommandKind; shipped: boolean }[] {
  return Object.entries(commands).map(([name, spec]) => ({
    name,
    kind: spec.kind,
    shipped: spec.shipped,
  }));
}

function shippedNames(): string[] {
  return commandTable()
    .filter((c) => c.shipped)
    .map((c) => c.name);
}

/** `kvmha <command> args…` runs a command by name, so the one binary works without its links. */
export async function main(argv0: string, args: readonly string[]): Promise<number> {
  let name = basename(argv0);
  let rest = args;
  const known = (n: string): boolean => Object.hasOwn(commands, n) || Object.hasOwn(aliases, n);
  if (name === "kvmha" || !known(name)) {
    const [first, ...tail] = args;
    if (first === "--version" || first === "-V") {
      process.stdout.write(`kvmha ${VERSION} (${runtimeLabel()})\n`);
      return 0;
    }
    const subcommand =
      first !== undefined && Object.hasOwn(subcommands, first) ? subcommands[first] : undefined;
    if (subcommand !== undefined) {
      try {
        return await subcommand.run(tail);
      } catch (err) {
        return reportFatal(`kvmha ${first}`, err);
      }
    }
    if (first !== undefined && first !== "--help" && first !== "-h" && !known(first)) {
      // Bad input gets one line and exit 2, as every usage error; the full usage is for --help.
      process.stderr.write(
        `kvmha: ERROR: unknown command '${printable(first)}' (kvmha --help lists the commands)\n`,
      );
      return EXIT_USAGE;
    }
    if (first === undefined || first === "--help" || first === "-h") {
      const out = first === undefined ? process.stderr : process.stdout;
      out.write(topUsage());
      return first === undefined ? EXIT_USAGE : 0;
    }
    name = first;
    rest = tail;
  }
  const target = Object.hasOwn(aliases, name) ? (aliases[name] as string) : name;
  const command = Object.hasOwn(commands, target) ? commands[target] : undefined;
  if (command === undefined) return 1;
  try {
    return await command.run(rest, name);
  } catch (err) {
    return reportFatal(name, err);
  }
}

/** `kvmha --help`: within 80 columns. */
function topUsage(): string {
  const lines = ["usage: kvmha SUBCOMMAND [ARGS...]   (kvmha SUBCOMMAND --help for its options)"];
  for (const t of subcommandTable()) {
    const [first, ...rest] = wrapList(t.summary.split(" "), 80 - 17, " ");
    lines.push(
      `  kvmha ${t.name.padEnd(8)} ${first ?? ""}`,
      ...rest.map((l) => `${" ".repeat(17)}${l}`),
    );
  }
  lines.push("   or: kvmha AGENT [ARGS...]   (or a link named after the agent)");
  lines.push(
    ...wrapList(shippedNames(), 78, ", ").map(
      (l, i) => `${i === 0 ? "  agents: " : "          "}${l}`,
    ),
  );
  lines.push("  aliases (package kvmha-fence-aliases):");
  lines.push(...wrapList(Object.keys(aliases), 70, ", ").map((l) => `          ${l}`));
  lines.push("  kvmha --version    its version. Exit status: 0 ok, 1 failure, 2 usage error");
  return `${lines.join("\n")}\n`;
}

/** The last resort: one line, the right exit code, never a stack trace. */
export function reportFatal(name: string, err: unknown): number {
  if (err instanceof KvmhaError) {
    process.stderr.write(`${name}: ERROR: ${err.message}\n`);
    return err.exitCode;
  }
  const message = messageOf(err);
  process.stderr.write(`${name}: ERROR: internal error: ${message.split("\n")[0]}\n`);
  if (process.env.KVMHA_DEBUG_STACK === "1" && err instanceof Error && err.stack)
    process.stderr.write(`${err.stack}\n`);
  return 1;
}
