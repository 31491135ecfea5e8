/**
 * What the packages are made of, checked without installing anything: the aliases (one table in
 * lib/cli/main.ts, declared by their agents), their metadata and usage under their own names, and
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
import { fenceIpmi } from "../../fence/fence_ipmi.js";
import { fencePdu } from "../../fence/fence_pdu.js";
import { aliasTable, commandTable, subcommandTable } from "../../lib/cli/main.js";
import { kvmhaManPage } from "../../lib/cli/manpage.js";
import { ocfManPage, parseOcfMetadata } from "../../lib/ocf/manpage.js";
import { requireProgram } from "../lab/bins.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const KVMHA = join(ROOT, "dist/bin/kvmha");
const bare = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C.UTF-8" };
const declared = { fence_ipmi: fenceIpmi, fence_pdu: fencePdu } as const;

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
    const fromAgents = Object.entries(declared)
      .flatMap(([name, agent]) => (agent.aliases ?? []).map((a) => `${name}:${a.name}`))
      .sort();
    assert.deepEqual(fromTable, fromAgents);
    const names = new Set(commandTable().map((c) => c.name));
    for (const a of aliasTable())
      assert.ok(!names.has(a.name), `${a.name} is both a command and an alias`);
    // fence_ipmilan stays fence-agents' (the reference); fence_eaton_snmp serves tables we do not know.
    assert.ok(
      !aliasTable().some((a) => a.name === "fence_ipmilan" || a.name === "fence_eaton_snmp"),
    );
  });

  it("each alias has its own name and shortdesc in metadata, usage and man page; the others as <symlink>", () => {
    for (const a of aliasTable()) {
      const decl = declared[a.of as keyof typeof declared].aliases?.find((x) => x.name === a.name);
      assert.ok(decl !== undefined);
      const md = kvmha([a.name, "-o", "metadata"]);
      assert.equal(md.status, 0, md.stderr);
      assert.match(md.stdout, new RegExp(`<resource-agent name="${a.name}" shortdesc="`));
      assert.ok(
        md.stdout.includes(`shortdesc="${decl.shortdesc.replace(/'/g, "&apos;")}" >`),
        a.name,
      );
      for (const other of declared[a.of as keyof typeof declared].aliases ?? [])
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
      kvmha(["fence_ilo3", "--help"]).stdout,
      /--power-wait=\[seconds\]\s.*\(default 4\)/,
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
      assert.match(page, /OTHER NAMES/);
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

  it("kvmha(8): every subcommand, agent and alias of the command table", () => {
    const page = render("kvmha.8", kvmhaManPage("0.0.0"));
    for (const s of subcommandTable())
      assert.match(page, new RegExp(`^\\s+kvmha ${s.name}\\n`, "m"), s.name);
    for (const c of commandTable().filter((x) => x.shipped))
      assert.match(page, new RegExp(`^\\s+${c.name}\\n`, "m"), c.name);
    for (const a of aliasTable()) assert.match(page, new RegExp(`^\\s+${a.name}\\n`, "m"), a.name);
  });
});
