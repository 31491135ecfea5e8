/**
 * Every fix `kvmha check` gives as commands, run: for each finding, a CIB with that mistake, the
 * fix's pcs commands run as they are printed (through sh, `pcs` meaning `pcs -f CIB`), with pcs
 * 0.11 on this host and pcs 0.12 in the Debian 13 root, then the crmsh commands where the fix has
 * them (`crm` on CIB_file); crm_verify accepts the result, and the check no longer reports the
 * finding. pcs must not warn that a form is deprecated (pcs 0.12 refuses comma-separated devices,
 * which pcs 0.11 only deprecates). Fixes that need the admin's choice (a placeholder such as NODE)
 * are run with the fixture's right value. The findings whose fix is words (the admin must decide
 * what is right) are listed here; the last test holds the table to the two lists.
 *
 * pcs and crmsh read agents' metadata, so kvmha's agents are shown where Pacemaker looks for them
 * (/usr/sbin, /usr/lib/ocf/resource.d/kvmha) through an overlay mounted in each command's own
 * private mount namespace: neither the host's /usr nor the root's is changed.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseCib } from "../../topology/check/cib.js";
import { contextOf } from "../../topology/check/context.js";
import { type Finding, type FixCommands, RULE_FINDING_IDS } from "../../topology/check/findings.js";
import { runRules } from "../../topology/check/rules.js";
import { agentPath } from "../lab/agents.js";
import { type RunResult, inPrivateMounts, run } from "../lab/clients.js";
import { labGenerations } from "../lab/generation.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CIBS = path.join(ROOT, "test/fixtures/cib");
const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
const TWO_NODE = fs.readFileSync(path.join(CIBS, "two-node.xml"), "utf8");

/** A CIB with one mistake: a fixture of broken/, or two-node.xml changed here. */
interface Case {
  readonly finding: string;
  readonly name: string;
  readonly cib: () => string;
  /** The fixture's values for the fix's placeholders. */
  readonly placeholders?: Readonly<Record<string, string>>;
}

const broken = (finding: string, file: string, placeholders?: Record<string, string>): Case => ({
  finding,
  name: file,
  cib: () => fs.readFileSync(path.join(CIBS, "broken", `${file}.xml`), "utf8"),
  ...(placeholders === undefined ? {} : { placeholders }),
});

function changed(finding: string, name: string, from: string | RegExp, to: string): Case {
  return {
    finding,
    name,
    cib: () => {
      const out = TWO_NODE.replace(from, to);
      assert.notEqual(out, TWO_NODE, `${name}: two-node.xml did not change`);
      return out;
    },
  };
}

const CASES: readonly Case[] = [
  broken("stonith-disabled", "stonith-disabled"),
  broken("no-stickiness", "no-stickiness"),
  broken("node-without-level", "node-without-level"),
  broken("pdu-level-incomplete", "pdu-level-single"),
  broken("pdu-level-incomplete", "pdu-no-level"),
  broken("pdu-level-incomplete", "pdu-split-levels"),
  changed(
    "pdu-not-in-topology",
    "node2 without its PDU level",
    /\s*<fencing-level id="fl-node2-2"[^>]*\/>/,
    "",
  ),
  broken("level-unknown-device", "level-unknown-device"),
  broken("device-claims-every-node", "device-claims-every-node", { NODE: "node2" }),
  changed(
    "device-disabled",
    "fence-ipmi-node2 disabled",
    /(<primitive id="fence-ipmi-node2"[\s\S]*?<\/instance_attributes>)/,
    '$1\n        <meta_attributes id="fence-ipmi-node2-meta_attributes"><nvpair id="fence-ipmi-node2-meta_attributes-target-role" name="target-role" value="Stopped"/></meta_attributes>',
  ),
  changed(
    "device-runs-nowhere",
    "fence-ipmi-node2 banned from node1 too",
    "<constraints>",
    '<constraints>\n      <rsc_location id="ban-fence-ipmi-node2-node1" rsc="fence-ipmi-node2" node="node1" score="-INFINITY"/>',
  ),
  broken("device-only-on-target", "device-only-on-target"),
  broken("device-on-own-target", "device-on-own-target"),
  broken("device-on-own-target", "device-prefers-target"),
  broken("two-node-no-delay", "two-node-no-delay"),
  broken("two-node-no-delay", "two-node-same-delay"),
  // node2's first level uses node1's device: the delay is per node (node1:25s;node2:0s).
  broken("two-node-no-delay", "level-device-not-for-node"),
  broken("timeout-unit-ignored", "timeout-unit-ignored"),
  broken("timeout-device", "timeout-device"),
  broken("timeout-level", "timeout-level"),
  broken("guest-no-migrate", "guest-no-migrate"),
  broken("guest-no-monitor", "guest-no-monitor"),
  broken("guest-stop-timeout", "guest-stop-timeout"),
  broken("guest-migrate-timeout", "guest-migrate-timeout"),
];

/**
 * Findings whose fix is words: what is right needs the admin (which device, which outlet, which
 * BMC), or there is nothing to run (no device at all: kvmha render makes them).
 */
const IN_WORDS: readonly string[] = [
  "no-fencing-devices",
  "node-unfenceable",
  "node-fenced-by-unlisted-device",
  "level-unknown-target",
  "level-device-not-for-node",
  "device-claims-unknown",
  "device-unknown-node",
  "duplicate-outlet",
  "duplicate-bmc",
  "rules-not-evaluated",
  // corosync.conf, not the CIB: which tie-breaker (a quorum device needs a qnetd host) is the admin's
  "quorum-no-tie-breaker",
  // where the secret goes (a root-only file, cibsecret) and its value are the admin's
  "secret-in-cib",
  // what replaces a removed feature depends on what it was for
  "pacemaker3-unsupported",
  "pacemaker3-upgrade",
];

function check(xml: string): Finding[] {
  return runRules(contextOf(parseCib(xml)));
}

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
}

/** The findings whose fixes were run, per tool and generation ("pcs debian12"…). */
const proven = new Map<string, Set<string>>();

for (const gen of labGenerations()) {
  describe(`kvmha check's fixes, run (${gen.title})`, () => {
    let tmp = "";
    let sbin = "";
    let ocf = "";

    /**
     * Runs `program` in the generation, with kvmha's agents overlaid on its /usr/sbin and
     * /usr/lib/ocf/resource.d in a mount namespace of its own.
     */
    function withAgents(
      program: string,
      args: readonly string[],
      env: NodeJS.ProcessEnv,
    ): Promise<RunResult> {
      const inner = gen.enter(program, args);
      const overlay = (lower: string, upper: string): string =>
        `mount -t overlay kvmha-agents -o lowerdir=${lower},upperdir=${upper}/up,workdir=${upper}/work ${lower}`;
      const mounts = [
        overlay(gen.hostPath("/usr/sbin"), sbin),
        overlay(gen.hostPath("/usr/lib/ocf/resource.d"), ocf),
      ].join(" && ");
      const c = inPrivateMounts(`${mounts} && exec "$@"`, [inner.program, ...inner.args]);
      return run(c.program, c.args, { env, killAfterMs: 120_000 });
    }

    before(() => {
      for (const p of ["pcs", "crm", "crm_verify"] as const) gen.requireProgram(p);
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), `kvmha-check-fixes-${gen.name}-`));
      sbin = path.join(tmp, "sbin");
      ocf = path.join(tmp, "ocf");
      for (const d of [sbin, ocf])
        for (const sub of ["up", "work"]) fs.mkdirSync(path.join(d, sub), { recursive: true });
      for (const agent of ["fence_ipmi", "fence_pdu"])
        fs.symlinkSync(agentPath(agent), path.join(sbin, "up", agent));
      fs.mkdirSync(path.join(ocf, "up", "kvmha"));
      fs.symlinkSync(agentPath("VirtualDomain"), path.join(ocf, "up", "kvmha", "VirtualDomain"));
      // `pcs` in a printed fix means the live cluster; here it means the test's CIB file.
      const bin = path.join(tmp, "bin");
      fs.mkdirSync(bin);
      fs.writeFileSync(
        path.join(bin, "pcs"),
        `#!/bin/sh\nexec ${gen.requireProgram("pcs")} -f "$KVMHA_CIB" "$@"\n`,
        { mode: 0o755 },
      );
    });
    after(() => {
      if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true });
    });

    for (const c of CASES) {
      // The fix as this CIB's finding gives it (parsing is synchronous: known when tests are made).
      const found = check(c.cib()).filter((f) => f.id === c.finding);
      const commands: FixCommands | undefined = found[0]?.commands;
      const tools = (["pcs", "crmsh"] as const).filter(
        (tool) => tool === "pcs" || commands?.crmsh !== undefined,
      );
      for (const tool of tools) {
        it(`${c.finding} (${c.name}): the ${tool} fix`, async () => {
          assert.ok(found.length > 0, `${c.name} does not give ${c.finding}`);
          assert.ok(commands !== undefined, `${c.finding}: its fix has no commands`);
          const lines = (tool === "pcs" ? commands.pcs : commands.crmsh) ?? [];
          for (const name of Object.keys(commands.placeholders ?? {}))
            assert.ok(c.placeholders?.[name] !== undefined, `${c.name}: no value for ${name}`);
          const file = path.join(tmp, `${c.name.replace(/\W+/g, "-")}-${tool}.xml`);
          fs.writeFileSync(file, c.cib());
          const env = {
            PATH: `${path.join(tmp, "bin")}:${PATH}`,
            LC_ALL: "C",
            HOME: tmp,
            KVMHA_CIB: file,
            ...(tool === "crmsh" ? { CIB_file: file } : {}),
          };
          for (const printed of lines) {
            let line = printed;
            for (const [name, value] of Object.entries(c.placeholders ?? {}))
              line = line.replaceAll(name, value);
            const r = await withAgents("/bin/sh", ["-c", line], env);
            ok(r, line);
            assert.doesNotMatch(r.stdout + r.stderr, /deprecat|error/i, `${line}:\n${r.stderr}`);
          }
          const verify = await gen.run(gen.requireProgram("crm_verify"), ["--xml-file", file], {
            env: { PATH, LC_ALL: "C" },
            killAfterMs: 60_000,
          });
          ok(verify, `crm_verify after: ${lines.join("; ")}`);
          const after = check(fs.readFileSync(file, "utf8")).filter((f) => f.id === c.finding);
          assert.deepEqual(
            after.map((f) => f.message),
            [],
            `still reported after: ${lines.join("; ")}`,
          );
          const key = `${tool} ${gen.name}`;
          proven.set(key, (proven.get(key) ?? new Set()).add(c.finding));
        });
      }
    }
  });
}

describe("every fix in commands is proven", () => {
  it("each finding's fix is run with pcs in both generations, or is listed as words", () => {
    const commanded = RULE_FINDING_IDS.filter((id) => !IN_WORDS.includes(id));
    for (const gen of labGenerations()) {
      const done = proven.get(`pcs ${gen.name}`) ?? new Set();
      assert.deepEqual(
        commanded.filter((id) => !done.has(id)),
        [],
        `fixes not proven with ${gen.title}'s pcs`,
      );
    }
    // The fixes in words really have no commands where a fixture shows them.
    for (const id of IN_WORDS) {
      const file = path.join(CIBS, "broken", `${id}.xml`);
      if (!fs.existsSync(file)) continue;
      for (const f of check(fs.readFileSync(file, "utf8")).filter((x) => x.id === id))
        assert.equal(f.commands, undefined, `${id}: ${f.hint}`);
    }
  });
});
