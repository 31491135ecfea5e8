/**
 * kvmha(8): the command's man page, rendered from the command table in main.ts (subcommands,
 * agents, aliases), so that what the page lists is what the executable answers to. The agents'
 * own pages come from their metadata (lib/fence/metadata.ts, lib/ocf/manpage.ts).
 */
import { type CliCommand, COMMON_OPTIONS, optionSynopsis } from "./args.js";
import { aliasTable, commandTable } from "./main.js";

function roff(s: string): string {
  return s
    .replace(/\\/g, "\\e")
    .replace(/-/g, "\\-")
    .replace(/^([.'])/gm, "\\&$1");
}

/** The man page an agent is documented in: fence agents in section 8, OCF agents as resource-agents names them. */
export function agentManPage(name: string, kind: "fence" | "ocf"): string {
  return kind === "fence" ? `${name}(8)` : `ocf_kvmha_${name}(7)`;
}

/** kvmha(8); `subcommands` are main.ts's `subcommandDeclarations()`. */
export function kvmhaManPage(version: string, subcommands: readonly CliCommand[]): string {
  const out: string[] = [];
  out.push(`.TH KVMHA 8 "" "kvmha ${roff(version)}" "System Manager's Manual"`);
  out.push(
    ".SH NAME",
    "kvmha \\- high availability for KVM guests under Pacemaker: fence agents, a resource agent, tools",
  );
  out.push(
    ".SH SYNOPSIS",
    ".B kvmha",
    "\\fISUBCOMMAND\\fR [\\fIARGS\\fR...]",
    ".br",
    ".B kvmha",
    "\\fIAGENT\\fR [\\fIARGS\\fR...]",
    ".br",
    ".B kvmha",
    "\\-\\-version | \\-\\-help",
  );
  out.push(
    ".SH DESCRIPTION",
    roff(
      "kvmha is one executable that is every kvmha agent at once: it looks at the name it was started by (a link in /usr/sbin or /usr/lib/ocf/resource.d/kvmha) and becomes that agent. Started as kvmha, its first argument names a subcommand or an agent.",
    ),
  );
  out.push(".SH SUBCOMMANDS");
  for (const c of subcommands) {
    out.push(
      `.SS kvmha ${roff(c.name)}`,
      `.B kvmha ${roff(c.name)}`,
      roff(c.synopsis),
      ".PP",
      roff(`${c.summary[0]?.toUpperCase() ?? ""}${c.summary.slice(1)}. ${c.description}`),
    );
    for (const o of [...c.options, ...COMMON_OPTIONS])
      out.push(".TP", `.B ${roff(optionSynopsis(o))}`, roff(`${o.help}.`));
    out.push(".PP", roff(`Exit status of kvmha ${c.name}:`));
    for (const [code, meaning] of c.exitCodes)
      out.push(".TP", `.B ${code}`, roff(`${meaning[0]?.toUpperCase() ?? ""}${meaning.slice(1)}.`));
  }
  out.push(".SH AGENTS");
  for (const c of commandTable().filter((x) => x.shipped)) {
    const where =
      c.kind === "fence"
        ? `/usr/sbin/${c.name}${c.package === "kvmha" ? "" : ` (package ${c.package}: the name is fence-agents')`}`
        : `/usr/lib/ocf/resource.d/kvmha/${c.name} (ocf:kvmha:${c.name})`;
    out.push(
      ".TP",
      `.B ${roff(c.name)}`,
      roff(
        `${c.kind === "fence" ? "Fence agent" : "OCF resource agent"}, installed as ${where}; see ${agentManPage(c.name, c.kind)}.`,
      ),
    );
  }
  out.push(
    ".SH ALIASES",
    roff(
      "The names of fence-agents' agents that kvmha's agents stand in for. They belong to the package kvmha-fence-aliases, which takes them over from fence-agents with dpkg-divert and gives them back when removed (install.md in /usr/share/doc/kvmha).",
    ),
  );
  for (const a of aliasTable())
    out.push(
      ".TP",
      `.B ${roff(a.name)}`,
      roff(
        a.of === a.name
          ? `kvmha's own agent, whose name is fence-agents'; see ${a.name}(8).`
          : `${a.of}, under this name; see ${a.name}(8).`,
      ),
    );
  out.push(
    ".SH OPTIONS",
    ".TP",
    ".B \\-V, \\-\\-version",
    roff("Print kvmha's version and the embedded Node.js runtime's."),
    ".TP",
    ".B \\-h, \\-\\-help",
    roff(
      "List the subcommands, agents and aliases. Every subcommand takes --help and --version too.",
    ),
  );
  out.push(
    ".SH FILES",
    ".TP",
    ".B /usr/lib/kvmha/kvmha",
    roff(
      "The executable (a Node.js single-executable application: no Node.js, npm or ipmitool is needed).",
    ),
    ".TP",
    ".B /usr/share/kvmha/",
    roff("The templates kvmha render fills, and the inventory's JSON Schema."),
  );
  out.push(
    ".SH EXIT STATUS",
    roff(
      "Run as an agent, the agent's own codes (fence agents: 0 success, 1 failure, 2 status off; VirtualDomain: the OCF codes; see their pages). kvmha itself and its subcommands:",
    ),
    ".TP",
    ".B 0",
    roff(
      "Success (render: rendered; check: no problem found; plan: planned; apply: applied, or nothing to change).",
    ),
    ".TP",
    ".B 1",
    roff(
      "Failure (render: the inventory has errors; check: problems found; plan, apply: the plan cannot be made or pushed, nothing pushed); one line on stderr says why.",
    ),
    ".TP",
    ".B 2",
    roff(
      "Usage error: an unknown command or option, a missing or empty value; check: the check could not run. One line on stderr, never the whole usage.",
    ),
  );
  const seeAlso = [
    ...commandTable()
      .filter((x) => x.shipped)
      .map((c) => agentManPage(c.name, c.kind)),
    "pcs(8)",
    "crm(8)",
    "stonith_admin(8)",
    "crm_simulate(8)",
  ];
  out.push(
    ".SH SEE ALSO",
    seeAlso
      .map((s) =>
        s.replace(/^(.*)\((\d)\)$/, (_, n: string, sec: string) => `\\fB${roff(n)}\\fR(${sec})`),
      )
      .join(", "),
  );
  return `${out.join("\n")}\n`;
}
