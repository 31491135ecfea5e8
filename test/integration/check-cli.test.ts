/**
 * `kvmha check` as a command: exit codes (0 clean or warnings only, 1 problems, 2 could not
 * check), one-line errors and never a stack trace, the --json document's shape, the live path
 * through cibadmin (a stand-in cibadmin on PATH: one that prints a CIB, one that hangs), and the
 * built executable.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { DIST_BIN } from "../lab/agents.js";
import { type RunResult, run } from "../lab/clients.js";
import { assertBounded } from "../lab/bounds.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = path.join(ROOT, "test/fixtures/cib");
const ENTRY = path.join(ROOT, "lib/cli/entry.ts");

/** kvmha from sources (the built executable is tested once, at the end). */
function kvmha(
  args: readonly string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return run(process.execPath, ["--import", "tsx", ENTRY, ...args], {
    killAfterMs: 60_000,
    env: { ...process.env, ...opts.env },
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
}

function assertOneLineError(r: RunResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0] as string, /^kvmha check: ERROR: /);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stderr, /\bat .*\.(ts|js):\d+/, "no stack trace");
  assert.equal(r.stdout, "");
}

describe("kvmha check: the command", () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-check-cli-"));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("a correct CIB: exit 0, a header and an OK line", async () => {
    const r = await kvmha(["check", "--cib", path.join(FIXTURES, "two-node.xml")]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(
      lines[0] as string,
      /two-node\.xml: 2 nodes, 4 fencing devices, 4 fencing levels, 1 guest$/,
    );
    assert.equal(lines.at(-1), "OK: no problem found");
    assert.equal(r.stderr, "");
  });

  it("errors: exit 1, one line per finding starting with its severity, a fix line, a summary", async () => {
    const r = await kvmha(["check", "--cib", path.join(FIXTURES, "broken/pdu-split-levels.xml")]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.trim().split("\n");
    const findings = lines.filter((l) => /^(ERROR|WARNING) /.test(l));
    assert.equal(findings.length, 2);
    for (const l of findings)
      assert.match(l, /^ERROR {3}node node1 {2}pdu-level-incomplete: level [23] of node1/);
    assert.equal(lines.filter((l) => /^\s+fix: /.test(l)).length, 2);
    assert.equal(lines.at(-1), "FAILED: 2 errors, 0 warnings");
  });

  it("warnings alone: exit 0; --strict: exit 1", async () => {
    const file = path.join(FIXTURES, "broken/device-on-own-target.xml");
    let r = await kvmha(["check", "--cib", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^WARNING device fence-ipmi-node2 {2}device-on-own-target: /m);
    assert.match(r.stdout, /OK with warnings: 0 errors, 1 warning\n$/);
    r = await kvmha(["check", "--strict", "--cib", file]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAILED: 0 errors, 1 warning\n$/);
  });

  it("--json: one document of the documented shape, same exit code", async () => {
    const r = await kvmha([
      "check",
      "--json",
      `--cib=${path.join(FIXTURES, "broken/duplicate-bmc.xml")}`,
    ]);
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), [
      "format",
      "source",
      "ok",
      "exit_code",
      "summary",
      "checked",
      "findings",
      "waived",
      "probe",
    ]);
    assert.equal(doc.format, 1);
    assert.deepEqual(doc.source, {
      kind: "file",
      path: path.join(FIXTURES, "broken/duplicate-bmc.xml"),
    });
    assert.equal(doc.ok, false);
    assert.equal(doc.exit_code, 1);
    assert.deepEqual(doc.summary, { errors: 1, warnings: 0, waived: 0 });
    assert.equal(doc.probe, null);
    const checked = doc.checked as Record<string, unknown>;
    assert.deepEqual(checked.nodes, ["node1", "node2"]);
    assert.equal(checked.nodes_from, "cib");
    assert.deepEqual((checked.devices as unknown[])[0], {
      id: "fence-ipmi-node1",
      agent: "fence_ipmi",
      family: "ipmi",
      host_check: "static",
    });
    assert.deepEqual((checked.levels as unknown[])[1], {
      id: "fl-node1-2",
      index: 2,
      target: { kind: "node", node: "node1" },
      devices: ["fence-pdu-pdu-a", "fence-pdu-pdu-b"],
    });
    assert.deepEqual(checked.guests, ["vm1"]);
    const findings = doc.findings as Record<string, unknown>[];
    assert.equal(findings.length, 1);
    assert.deepEqual(Object.keys(findings[0] as object), [
      "id",
      "severity",
      "subject",
      "message",
      "hint",
      "commands",
    ]);
    assert.equal(findings[0]?.id, "duplicate-bmc");
    assert.equal(findings[0]?.commands, null, "a fix in words has no commands");
    assert.deepEqual(findings[0]?.subject, { kind: "device", id: "fence-ipmi-node1" });
    const clean = await kvmha(["check", "--json", "--cib", path.join(FIXTURES, "two-node.xml")]);
    assert.equal(clean.code, 0);
    const cleanDoc = JSON.parse(clean.stdout) as Record<string, unknown>;
    assert.equal(cleanDoc.ok, true);
    assert.deepEqual(cleanDoc.findings, []);
  });

  it("--corosync-conf: quorum from the file given; one that cannot be read is exit 2", async () => {
    const conf = path.join(tmp, "corosync.conf");
    const nodes = [1, 2, 3, 4]
      .map((i) => `  node {\n    ring0_addr: 10.0.0.${i}\n    nodeid: ${i}\n  }\n`)
      .join("");
    fs.writeFileSync(conf, `nodelist {\n${nodes}}\nquorum {\n  provider: corosync_votequorum\n}\n`);
    const cib = path.join(FIXTURES, "two-node.xml");
    const r = await kvmha(["check", "--json", "--cib", cib, "--corosync-conf", conf]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      checked: { corosync: string };
      findings: { id: string; severity: string }[];
    };
    assert.equal(doc.checked.corosync, conf);
    assert.deepEqual(
      doc.findings.map((f) => [f.id, f.severity]),
      [["quorum-no-tie-breaker", "warning"]],
    );
    // A CIB file alone: the local corosync.conf is not this cluster's, and is not read.
    const alone = JSON.parse((await kvmha(["check", "--json", "--cib", cib])).stdout) as {
      checked: { corosync: unknown };
    };
    assert.equal(alone.checked.corosync, null);
    assertOneLineError(
      await kvmha(["check", "--cib", cib, "--corosync-conf", path.join(tmp, "nope.conf")]),
      2,
      /cannot read .*nope\.conf: ENOENT/,
    );
  });

  it("waivers: a waived warning is shown as WAIVED and counts for nothing, --strict included", async () => {
    const waived = fs
      .readFileSync(path.join(FIXTURES, "broken/guest-no-migrate.xml"), "utf8")
      .replace(
        'name="resource-stickiness" value="100"/>',
        'name="resource-stickiness" value="100"/><nvpair id="w" name="kvmha-waive" value="guest-no-migrate"/>',
      );
    const file = path.join(tmp, "waived.xml");
    fs.writeFileSync(file, waived);
    const r = await kvmha(["check", "--strict", "--cib", file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^WAIVED {2}resource vm1 {2}guest-no-migrate: .* \(accepted by rsc_defaults kvmha-waive\)$/m,
    );
    assert.match(r.stdout, /\nOK: no problem found \(1 waived\)\n$/);
    const json = JSON.parse(
      (await kvmha(["check", "--json", "--strict", "--cib", file])).stdout,
    ) as { ok: boolean; summary: unknown; waived: { id: string; waived_by: string }[] };
    assert.equal(json.ok, true);
    assert.deepEqual(json.summary, { errors: 0, warnings: 0, waived: 1 });
    assert.deepEqual(
      json.waived.map((w) => [w.id, w.waived_by]),
      [["guest-no-migrate", "rsc_defaults kvmha-waive"]],
    );
  });

  it("the CIB on stdin with --cib -", async () => {
    const r = await kvmha(["check", "--cib", "-"], {
      input: fs.readFileSync(path.join(FIXTURES, "broken/guest-no-monitor.xml"), "utf8"),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^ERROR {3}resource vm1 {2}guest-no-monitor: /m);
  });

  it("could not check: exit 2 with one line, never a stack trace", async () => {
    assertOneLineError(await kvmha(["check", "--bogus"]), 2, /unknown option --bogus/);
    assertOneLineError(await kvmha(["check", "extra"]), 2, /unexpected argument 'extra'/);
    assertOneLineError(await kvmha(["check", "--cib"]), 2, /--cib needs a value/);
    assertOneLineError(await kvmha(["check", "--live", "--cib", "x"]), 2, /exclude each other/);
    assertOneLineError(
      await kvmha(["check", "--run-scripts", "--cib", "x"]),
      2,
      /--run-scripts is for --probe/,
    );
    assertOneLineError(await kvmha(["check", "--json=1"]), 2, /--json takes no value/);
    assertOneLineError(
      await kvmha(["check", "--timeout", "soon"]),
      2,
      /--timeout needs a positive number/,
    );
    assertOneLineError(
      await kvmha(["check", "--cib", path.join(tmp, "missing.xml")]),
      2,
      /cannot read .*missing\.xml: no such file/,
    );
    assertOneLineError(await kvmha(["check", "--cib", tmp]), 2, /is a directory/);
    fs.writeFileSync(path.join(tmp, "bad.xml"), "<cib><configuration><nodes>");
    assertOneLineError(
      await kvmha(["check", "--cib", path.join(tmp, "bad.xml")]),
      2,
      /bad\.xml: not well-formed XML/,
    );
    fs.writeFileSync(path.join(tmp, "domain.xml"), "<domain type='kvm'><name>vm</name></domain>");
    assertOneLineError(
      await kvmha(["check", "--cib", path.join(tmp, "domain.xml")]),
      2,
      /the root element is <domain>, not <cib>/,
    );
    fs.writeFileSync(
      path.join(tmp, "level.xml"),
      "<cib><configuration><fencing-topology><fencing-level id='l' index='12' target='n' devices='d'/></fencing-topology></configuration></cib>",
    );
    assertOneLineError(
      await kvmha(["check", "--cib", path.join(tmp, "level.xml")]),
      2,
      /index '12' \(1 to 9\)/,
    );
    fs.writeFileSync(path.join(tmp, "binary.xml"), Buffer.from([0, 1, 2, 0xff, 0xfe]));
    assertOneLineError(
      await kvmha(["check", "--cib", path.join(tmp, "binary.xml")]),
      2,
      /not well-formed XML/,
    );
  });

  it("--help: usage on stdout, exit 0", async () => {
    const r = await kvmha(["check", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: kvmha check /);
    assert.match(r.stdout, /^exit status:\n {2}0 {3}no problem found/m);
    assert.match(r.stdout, /^ {2}2 {3}the check could not run/m);
    for (const line of r.stdout.split("\n")) assert.ok(line.length <= 80, line);
  });

  it("--version, unique prefixes, and empty values refused: as the agents do", async () => {
    const v = await kvmha(["check", "--version"]);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^kvmha \d+\.\d+\.\d+/);
    assertOneLineError(await kvmha(["check", "--agent-dir="]), 2, /--agent-dir needs a value/);
    assertOneLineError(
      await kvmha(["check", "--probe-t", "x"]),
      2,
      /--probe-timeout needs a positive number/,
    );
    assertOneLineError(await kvmha(["check", "--pro"]), 2, /--pro is ambiguous/);
    const bogus = await kvmha(["bogus"]);
    assert.equal(bogus.code, 2);
    assert.equal(
      bogus.stderr,
      "kvmha: ERROR: unknown command 'bogus' (kvmha --help lists the commands)\n",
    );
  });

  it("live: reads cibadmin -Q's output; a cibadmin that fails or hangs gives exit 2, bounded", async () => {
    const bin = path.join(tmp, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const cibadmin = path.join(bin, "cibadmin");
    const fixture = path.join(FIXTURES, "broken/stonith-disabled.xml");
    fs.writeFileSync(cibadmin, `#!/bin/sh\n[ "$1" = "-Q" ] || exit 64\nexec cat '${fixture}'\n`, {
      mode: 0o755,
    });
    const env = { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` };
    let r = await kvmha(["check", "--json"], { env });
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout) as { source: unknown; findings: { id: string }[] };
    assert.deepEqual(doc.source, { kind: "live", command: "cibadmin -Q" });
    assert.deepEqual(
      doc.findings.map((f) => f.id),
      ["stonith-disabled"],
    );

    fs.writeFileSync(
      cibadmin,
      "#!/bin/sh\necho 'Could not connect to the CIB: Transport endpoint is not connected' >&2\nexit 102\n",
      { mode: 0o755 },
    );
    assertOneLineError(
      await kvmha(["check", "--live"], { env }),
      2,
      /cibadmin -Q failed: Could not connect to the CIB/,
    );

    fs.writeFileSync(cibadmin, "#!/bin/sh\nexec sleep 60\n", { mode: 0o755 });
    const started = Date.now();
    r = await kvmha(["check", "--timeout", "1"], { env });
    assertOneLineError(r, 2, /cibadmin -Q did not answer within 1 s/);
    assertBounded(Date.now() - started, 1000, "cibadmin -Q is bounded by --timeout 1");
  });

  it("the built executable runs it (dist/bin/kvmha check)", async () => {
    const exe = path.join(DIST_BIN, "kvmha");
    assert.ok(
      fs.existsSync(exe),
      `${exe} is missing: run 'npm run build' (npm test does it first)`,
    );
    const r = await run(
      exe,
      ["check", "--json", "--cib", path.join(FIXTURES, "broken/guest-no-migrate.xml")],
      { killAfterMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { findings: { id: string; severity: string }[] };
    assert.deepEqual(
      doc.findings.map((f) => [f.id, f.severity]),
      [["guest-no-migrate", "warning"]],
    );
  });
});
