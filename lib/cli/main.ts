import { basename } from "node:path";
import { KvmhaError, messageOf } from "../errors.js";
import { printable } from "../log.js";
import type { FenceRegistration } from "../fence/agent.js";
import {
  fenceAgentNames,
  fenceAgentsSync,
  loadFenceAgent,
  loadFenceAgents,
} from "../../fence/registry.js";
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

/** The package a command's files are in: fence-agents' names go to kvmha-fence-aliases. */
export type PackageName = "kvmha" | "kvmha-fence-aliases";

/**
 * The commands that are not fence agents. Fence agents are registered by their own files
 * (fence/registry.ts reads every fence/fence_*.ts's `registration`), so the multi-call table is
 * those plus these: scripts/build.mjs makes a link in dist/bin for every entry and
 * scripts/install-agents.mjs installs the shipped ones. An agent module is imported on first use:
 * the bundle holds every agent, but the startup snapshot initializes only this dispatcher, so
 * nothing an agent reads at load time (environment, clock) is frozen at build time.
 */
const otherCommands: Record<string, CommandSpec> = {
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

/** A registered fence agent as a command. */
function fenceCommand(r: FenceRegistration): CommandSpec {
  return {
    kind: "fence",
    shipped: r.shipped,
    run: async (args, invokedAs) => {
      const { processIo, runFenceAgent } = await import("../fence/run.js");
      return runFenceAgent(r.agent, args, processIo, invokedAs);
    },
  };
}

/** An agent whose own name is fence-agents' (fence_redfish) is packaged as fence-agents' names are. */
function packageOf(r: FenceRegistration): PackageName {
  return r.replaces.agent === r.agent.docs.name ? "kvmha-fence-aliases" : "kvmha";
}

/**
 * fence-agents' names that our agents answer to, from the agents' registrations: their aliases
 * (alias → agent; each agent declares what its aliases change) and an agent whose own name is
 * fence-agents'. `owner` is the distribution package that owns that name's file. They are not
 * links in dist/bin nor installed by install-agents: fence-agents owns these files, and the
 * kvmha-fence-aliases package takes them over (dpkg-divert; on RPM systems it conflicts with
 * their owners: scripts/package.mjs, docs/install.md).
 */
export function aliasTable(): { name: string; of: string; owner: string }[] {
  return fenceAgentsSync()
    .filter((r) => r.shipped)
    .flatMap((r) =>
      [
        ...(packageOf(r) === "kvmha-fence-aliases" ? [r.agent.docs.name] : []),
        ...(r.agent.aliases ?? []).map((a) => a.name),
      ].map((name) => ({ name, of: r.agent.docs.name, owner: r.replaces.package })),
    );
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
  const agents = await loadFenceAgents();
  // VirtualDomain's monitor runs every few seconds on every node: in the snapshot it starts
  // initialized. xml2js stays out (loaded on first parse; a steady-state monitor does not parse),
  // since everything here is deserialized at every start of every agent, fence agents included.
  const { virtualDomain } = await import("../../agents/VirtualDomain.js");
  const { warmUpWithoutTimers } = await import("./snapshot.js");
  for (const { warmUp } of agents) if (warmUp !== undefined) await warmUpWithoutTimers(warmUp);
  await warmUpWithoutTimers(async () =>
    (await import("../ocf/warm-up.js")).exerciseOcfAgent(virtualDomain, {
      OCF_RESKEY_config: "/nonexistent/kvmha-warm-up.xml",
    }),
  );
  (await import("../libvirt/warm-up.js")).exerciseLibvirtMonitorPath();
}

/**
 * Loads every agent's registration, so that the tables below need no loading of their own: a
 * script that imports this module through tsx's API (build, package) calls it first (its
 * synchronous loading needs `node --import tsx`, which registers tsx for require too).
 */
export async function loadCommandTables(): Promise<void> {
  await loadFenceAgents();
}

/** The shipped fence agents as the packages' descriptions list them. */
export function fenceAgentSummaries(): {
  name: string;
  shortdesc: string;
  replaces: string;
  package: PackageName;
}[] {
  return fenceAgentsSync()
    .filter((r) => r.shipped)
    .map((r) => ({
      name: r.agent.docs.name,
      shortdesc: r.agent.docs.shortdesc,
      replaces: r.replaces.agent,
      package: packageOf(r),
    }));
}

/** Every command, fence agents from their registrations (for tables: see fenceAgentsSync). */
function commands(): Map<string, CommandSpec & { package: PackageName }> {
  const table = new Map<string, CommandSpec & { package: PackageName }>();
  for (const r of fenceAgentsSync())
    table.set(r.agent.docs.name, { ...fenceCommand(r), package: packageOf(r) });
  for (const [name, spec] of Object.entries(otherCommands))
    table.set(name, { ...spec, package: "kvmha" });
  return table;
}

/** Every name the binary answers to. */
export function commandNames(): string[] {
  return [...commands().keys()];
}

/** The table without its functions, for the build and install scripts and the packages. */
export function commandTable(): {
  name: string;
  kind: CommandKind;
  shipped: boolean;
  package: PackageName;
}[] {
  return [...commands()].map(([name, spec]) => ({
    name,
    kind: spec.kind,
    shipped: spec.shipped,
    package: spec.package,
  }));
}

function shippedNames(): string[] {
  return commandTable()
    .filter((c) => c.shipped)
    .map((c) => c.name);
}

/** The command an invoked name runs: an agent's own name, or an alias of one; undefined: none. */
async function commandFor(name: string): Promise<CommandSpec | undefined> {
  if (Object.hasOwn(otherCommands, name)) return otherCommands[name];
  // An agent's own name loads that agent's module alone (the usual case, under Pacemaker).
  if (fenceAgentNames().includes(name)) return fenceCommand(await loadFenceAgent(name));
  const owner = (await loadFenceAgents()).find((r) =>
    (r.agent.aliases ?? []).some((a) => a.name === name),
  );
  return owner === undefined ? undefined : fenceCommand(owner);
}

/** `kvmha <command> args…` runs a command by name, so the one binary works without its links. */
export async function main(argv0: string, args: readonly string[]): Promise<number> {
  let name = basename(argv0);
  let rest = args;
  let command = name === "kvmha" ? undefined : await commandFor(name);
  if (command === undefined) {
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
    command = first === undefined ? undefined : await commandFor(first);
    if (first !== undefined && first !== "--help" && first !== "-h" && command === undefined) {
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
  const aliases = aliasTable().map((a) => a.name);
  lines.push(...wrapList(aliases, 70, ", ").map((l) => `          ${l}`));
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
