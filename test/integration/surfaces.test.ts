/**
 * What the packages are made of, checked without installing anything: the aliases (read by
 * lib/cli/main.ts from the agents' registrations), their metadata and usage under their own names, and
 * every man page the package ships, rendered by man(1) without a warning. Needs a current build
 * (scripts/test.sh builds first; by hand: npm run build).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadFenceAgents } from "../../fence/registry.js";
import {
  aliasTable,
  commandTable,
  subcommandDeclarations,
  subcommandTable,
} from "../../lib/cli/main.js";
import { kvmhaManPage } from "../../lib/cli/manpage.js";
import { ocfManPage, parseOcfMetadata } from "../../lib/ocf/manpage.js";
import { requireProgram } from "../lab/bins.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const KVMHA = join(ROOT, "dist/bin/kvmha");
const bare = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C.UTF-8" };
const registered = await loadFenceAgents();
const declared = Object.fromEntries(
  registered.filter((r) => r.shipped).map((r) => [r.agent.docs.name, r.agent]),
);

function kvmha(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(KVMHA, args, {
    encoding: "utf8",
    env: bare,
    timeout: 30_000,
    killSignal: "SIGKILL",
  });
  if (r.error)
    throw new Error(`${KVMHA} ${args.join(" ")}: ${r.error.message} (run npm run build)`);
  return r;
}

const temp = mkdtempSync(join(tmpdir(), "kvmha-surfaces-"));
after(() => rmSync(temp, { recursive: true, force: true }));

/** man -l on a page: its text, and it must not warn (groff's and man's own warnings). */
function render(name: string, roff: string): string {
  const file = join(temp, name);
  writeFileSync(file, roff);
  const r = spawnSync(requireProgram("man"), ["--warnings", "-l", file], {
    encoding: "utf8",
    env: { ...bare, MANPAGER: "cat", MANWIDTH: "200" },
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "", `${name}: man warns:\n${r.stderr}`);
  return r.stdout;
}

describe("aliases", () => {
  it("the command table's aliases are exactly the ones the agents declare", () => {
    const fromTable = aliasTable()
      .map((a) => `${a.of}:${a.name}`)
      .sort();
    // An agent whose own name is fence-agents' (fence_redfish) is listed as itself: its file is
    // fence-agents', so it is packaged as the aliases are.
    const fromAgents = registered
      .filter((r) => r.shipped)
      .flatMap((r) => [
        ...(r.replaces.agent === r.agent.docs.name
          ? [`${r.agent.docs.name}:${r.agent.docs.name}`]
          : []),
        ...(r.agent.aliases ?? []).map((a) => `${r.agent.docs.name}:${a.name}`),
      ])
      .sort();
    assert.deepEqual(fromTable, fromAgents);
    assert.ok(fromTable.includes("fence_redfish:fence_redfish"));
    const names = new Set(commandTable().map((c) => c.name));
    for (const a of aliasTable())
      assert.ok(a.of === a.name || !names.has(a.name), `${a.name} is both a command and an alias`);
    for (const c of commandTable())
      assert.equal(
        c.package,
        aliasTable().some((a) => a.name === c.name) ? "kvmha-fence-aliases" : "kvmha",
        c.name,
      );
    // fence_ipmilan stays fence-agents' (the reference); fence_eaton_snmp serves tables we do not know.
    assert.ok(
      !aliasTable().some((a) => a.name === "fence_ipmilan" || a.name === "fence_eaton_snmp"),
    );
  });

  it("each alias has its own name and shortdesc in metadata, usage and man page; the others as <symlink>", () => {
    for (const a of aliasTable()) {
      if (a.of === a.name) continue; // an agent under its own name: below
      const decl = declared[a.of]?.aliases?.find((x) => x.name === a.name);
      assert.ok(decl !== undefined);
      const md = kvmha([a.name, "-o", "metadata"]);
      assert.equal(md.status, 0, md.stderr);
      assert.match(md.stdout, new RegExp(`<resource-agent name="${a.name}" shortdesc="`));
      assert.ok(
        md.stdout.includes(`shortdesc="${decl.shortdesc.replace(/'/g, "&apos;")}" >`),
        a.name,
      );
      for (const other of declared[a.of]?.aliases ?? [])
        assert.ok(md.stdout.includes(`<symlink name="${other.name}" `), other.name);
      const usage = kvmha([a.name, "--help"]);
      assert.equal(usage.status, 0);
      assert.match(usage.stdout, new RegExp(`^Usage:\\n\\t${a.name} \\[options\\]`));
      const page = render(`${a.name}.8`, kvmha([a.name, "-o", "manpage"]).stdout);
      assert.match(page, new RegExp(`^NAME\\n\\s+${a.name} - `, "m"));
    }
    // The base agents list their aliases too, as fence-agents' do.
    assert.match(kvmha(["fence_pdu", "-o", "metadata"]).stdout, /<symlink name="fence_apc_snmp" /);
  });

  it("fence_ilo3 defaults power_wait to 4 s (as fence-agents'), the others keep 0", () => {
    const powerWait = (name: string) =>
      /<parameter name="power_wait"[\s\S]*?default="(\d+)"/.exec(
        kvmha([name, "-o", "metadata"]).stdout,
      )?.[1];
    assert.equal(powerWait("fence_ilo3"), "4");
    for (const name of ["fence_ipmi", "fence_ilo4", "fence_idrac", "fence_apc_snmp"])
      assert.equal(powerWait(name), "0", name);
    assert.match(
      kvmha(["fence_ilo3", "--help"]).stdout.replace(/\s+/g, " "),
      /--power-wait=\[seconds\] [^-]*\(default 4\)/,
    );
    const lanplus = /<parameter name="lanplus"[\s\S]*?default="(\d)"/;
    for (const name of ["fence_idrac", "fence_imm", "fence_ipmilanplus"])
      assert.equal(lanplus.exec(kvmha([name, "-o", "metadata"]).stdout)?.[1], "1", name);
  });

  it("an alias works as a command of kvmha and fails like its agent on bad input", () => {
    const r = kvmha(["fence_apc_snmp", "-o", "status", "--ip=192.0.2.1"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^.*You have to enter plug number or machine identification\n$/);
    const v = kvmha(["fence_ilo5", "--version"]);
    assert.equal(v.status, 0);
  });
});

describe("man pages", () => {
  it("fence agents: every option of the metadata, under the agent's name", () => {
    for (const name of commandTable()
      .filter((c) => c.shipped && c.kind === "fence")
      .map((c) => c.name)) {
      const page = render(`${name}.8`, kvmha([name, "-o", "manpage"]).stdout);
      const md = kvmha([name, "-o", "metadata"]).stdout;
      for (const [, long] of md.matchAll(/<getopt mixed="(?:-., )?(--[a-z0-9-]+)/g))
        assert.ok(page.includes(long as string), `${name}: ${long}`);
      if ((declared[name]?.aliases ?? []).length > 0) assert.match(page, /OTHER NAMES/);
    }
  });

  it("OCF agents: ocf_kvmha_AGENT(7) from the meta-data, every parameter and action", () => {
    for (const name of commandTable()
      .filter((c) => c.shipped && c.kind === "ocf")
      .map((c) => c.name)) {
      const xml = kvmha([name, "meta-data"]).stdout;
      const doc = parseOcfMetadata(xml);
      assert.equal(doc.name, name);
      assert.ok(doc.parameters.length > 0);
      const page = render(`ocf_kvmha_${name}.7`, ocfManPage(doc, "kvmha", "0.0.0"));
      assert.match(
        page,
        new RegExp(`^NAME\\n\\s+ocf_kvmha_${name} - ${doc.shortdesc.replace(/[()]/g, ".")}`, "m"),
      );
      for (const p of doc.parameters)
        assert.match(page, new RegExp(`^\\s+${p.name}\\b`, "m"), p.name);
      for (const a of doc.actions) assert.match(page, new RegExp(`^\\s+${a.name}\\b`, "m"), a.name);
      assert.match(page, new RegExp(`pcs resource create RESOURCE ocf:kvmha:${name}`));
    }
    assert.throws(() => parseOcfMetadata("<not-xml"), /not XML/);
    assert.throws(() => parseOcfMetadata("<other/>"), /no <resource-agent/);
  });

  it("kvmha(8): every subcommand, agent and alias of the command table", async () => {
    const declarations = await subcommandDeclarations();
    const page = render("kvmha.8", kvmhaManPage("0.0.0", declarations));
    for (const s of subcommandTable())
      assert.match(page, new RegExp(`^\\s+kvmha ${s.name}$`, "m"), s.name);
    // Each subcommand's options (with --help and --version) and exit codes.
    for (const d of declarations) {
      const section = page.slice(page.search(new RegExp(`^   kvmha ${d.name}$`, "m")));
      for (const o of d.options)
        assert.match(section, new RegExp(`--${o.name}\\b`), `${d.name} --${o.name}`);
      assert.match(section, /-V, --version/);
      assert.match(section, new RegExp(`Exit status of kvmha ${d.name}:`));
      for (const [code] of d.exitCodes) assert.match(section, new RegExp(`^\\s+${code}\\s`, "m"));
    }
    assert.match(page, /^EXIT STATUS\n[\s\S]*^\s+2\s+Usage error/m);
    for (const c of commandTable().filter((x) => x.shipped))
      assert.match(page, new RegExp(`^\\s+${c.name}\\n`, "m"), c.name);
    for (const a of aliasTable()) assert.match(page, new RegExp(`^\\s+${a.name}\\n`, "m"), a.name);
  });
});

describe("what an admin reads: help within 80 columns, man pages like the ClusterLabs ones", () => {
  const fenceNames = [
    ...commandTable()
      .filter((c) => c.shipped && c.kind === "fence")
      .map((c) => c.name),
    ...aliasTable().map((a) => a.name),
  ];

  function assertFits(what: string, text: string): void {
    const long = text.split("\n").filter((l) => l.replace(/\t/g, "        ").length > 80);
    assert.deepEqual(long, [], `${what}: lines over 80 columns`);
  }

  it("--help of every agent and alias fits 80 columns, no option runs into its text", () => {
    for (const name of fenceNames) {
      const r = kvmha([name, "--help"]);
      assert.equal(r.status, 0, name);
      assertFits(name, r.stdout);
      // An option is followed by at least one space before its text (fence-agents' layout).
      for (const line of r.stdout.split("\n").filter((l) => /^ {3}-/.test(l)))
        assert.match(line, /^ {3}(-., )?--[a-z0-9-]+(=\[[^\]]+\])?( {1,}\S|$)/, `${name}: ${line}`);
    }
    const pdu = kvmha(["fence_pdu", "--help"]).stdout;
    assert.match(pdu, /^ {3}-R, --snmp-priv-passwd-script=\[script\] {3}Script to run/m);
    assert.match(pdu, /^ {3}--stonith-status-sleep=\[seconds\] {3}Longest sleep/m);
  });

  it("kvmha, its subcommands and VirtualDomain's usage fit 80 columns too", () => {
    for (const args of [
      ["--help"],
      ["render", "--help"],
      ["check", "--help"],
      ["plan", "--help"],
      ["apply", "--help"],
    ]) {
      const r = kvmha(args);
      assert.equal(r.status, 0, args.join(" "));
      assertFits(args.join(" "), r.stdout);
    }
    const usage = kvmha(["VirtualDomain", "usage"]);
    assertFits("VirtualDomain usage", usage.stdout + usage.stderr);
    assert.match(usage.stdout + usage.stderr, /^usage: VirtualDomain \{start\|stop\|/);
  });

  it("fence agents' pages: every action said what it does, options end their sentences", () => {
    const reference = spawnSync("zcat", ["/usr/share/man/man8/fence_ipmilan.8.gz"], {
      encoding: "utf8",
    });
    assert.equal(reference.status, 0, "fence-agents' fence_ipmilan(8) (package fence-agents)");
    // fence-agents documents each action under ACTIONS; so do we, with our own words.
    const theirs = [...reference.stdout.matchAll(/^\\fB([a-z-]+) \\fP$/gm)].map((m) => m[1]);
    assert.ok(theirs.includes("diag"));
    for (const name of fenceNames) {
      const page = render(`${name}.8`, kvmha([name, "-o", "manpage"]).stdout);
      const actions = page.slice(page.indexOf("\nACTIONS\n"), page.indexOf("\nSTDIN PARAMETERS\n"));
      for (const a of theirs.filter(
        (x) =>
          x !== undefined &&
          /^(on|off|reboot|status|monitor|metadata|manpage|validate-all|diag|list|list-status)$/.test(
            x,
          ),
      )) {
        if ((name.includes("snmp") || name === "fence_pdu") && a === "diag") continue;
        const entry = new RegExp(`^ {7}${a}(\\s+|\\n\\s+)[A-Z][^\\n]+`, "m");
        assert.match(actions, entry, `${name}: action ${a}`);
      }
      assert.doesNotMatch(actions, /not documented/);
      assert.match(page, /Fencing action\. Default: reboot\./);
      assert.match(page, /^EXIT STATUS\n[\s\S]*^\s+2\s+status only: the target is off/m);
      assert.match(page, /^LOGGING\n/m);
    }
  });

  it("ocf_kvmha_VirtualDomain(7) from the OCF 1.1 meta-data: reload-agent and the reloadable parameters", () => {
    const r = spawnSync(KVMHA, ["VirtualDomain", "meta-data"], {
      encoding: "utf8",
      env: { ...bare, OCF_RA_VERSION_MAJOR: "1", OCF_RA_VERSION_MINOR: "1" },
      timeout: 30_000,
    });
    const doc = parseOcfMetadata(r.stdout);
    assert.equal(doc.ocfVersion, "1.1");
    const page = render("ocf_kvmha_VirtualDomain.7", ocfManPage(doc, "kvmha", "0.0.0"));
    assert.match(page, /^\s+reload-agent\b/m);
    const reloadable = doc.parameters.filter((p) => p.reloadable);
    assert.ok(reloadable.length > 0);
    for (const p of reloadable) {
      const at = page.search(new RegExp(`^ {7}${p.name}\\b`, "m"));
      assert.ok(at !== -1, p.name);
      assert.match(
        page
          .slice(at, at + 400)
          .replace(/‐\n\s*/g, "")
          .replace(/\s+/g, " "),
        /\breloadable\b/,
        p.name,
      );
    }
    assert.match(page, /^EXIT STATUS\n/m);
    // resource-agents' page for heartbeat's VirtualDomain has these sections; ours has them too.
    const theirs = spawnSync("zcat", ["/usr/share/man/man7/ocf_heartbeat_VirtualDomain.7.gz"], {
      encoding: "utf8",
    });
    assert.equal(theirs.status, 0, "resource-agents' ocf_heartbeat_VirtualDomain(7)");
    for (const [, section] of theirs.stdout.matchAll(/^\.SH "([A-Z ]+)"$/gm))
      if (section !== "AUTHOR") assert.match(page, new RegExp(`^${section}$`, "m"), section);
  });
});
