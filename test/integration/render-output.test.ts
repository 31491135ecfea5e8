/**
 * Where `kvmha render --output DIR` writes, and what its scripts leave in /tmp, proven against the
 * attacks and accidents that matter when root renders: another user's directory (or one anyone
 * can write) with a symbolic link planted under a file's name, a directory swapped for a link, a
 * disk that fills up in the middle of a render, a link planted next to pcs.sh's copy of the CIB;
 * and the built executable rendering alone, with no template file anywhere it can see.
 *
 * Needs root (another user's files: `nobody`, uid 65534; a tmpfs in a private mount namespace).
 * Nothing outside the test's temporary directory is touched.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { agentPath, assertBuiltAfter } from "../lab/agents.js";
import { type RunResult, inPrivateMounts, run } from "../lab/clients.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ENTRY = path.join(ROOT, "lib/cli/entry.ts");
const INVENTORY = path.join(ROOT, "test/fixtures/inventories/two-node.yaml");
const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
const NOBODY = 65534;
const FILES = ["cib-apply.sh", "cib.xml", "crmsh-apply.sh", "crmsh.crm", "pcs.sh"];

/** `kvmha render ARGS` from the sources. */
function render(args: readonly string[]): Promise<RunResult> {
  return run(process.execPath, ["--import", "tsx", ENTRY, "render", ...args], {
    env: { PATH, LC_ALL: "C" },
    killAfterMs: 60_000,
  });
}

function refused(r: RunResult, why: RegExp): void {
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, why);
}

describe("kvmha render --output: the directory and its files", () => {
  let tmp = "";
  /** A root-only file an attacker would like root to overwrite. */
  let victim = "";
  const victimText = "root-only\n";

  before(() => {
    assert.equal(process.geteuid?.(), 0, "this test needs root (another user's files, a tmpfs)");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-render-output-"));
    fs.chmodSync(tmp, 0o755);
    victim = path.join(tmp, "victim");
    fs.writeFileSync(victim, victimText, { mode: 0o600 });
  });
  after(() => {
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true });
  });

  function victimIntact(): void {
    assert.equal(fs.readFileSync(victim, "utf8"), victimText);
    assert.equal(fs.statSync(victim).mode & 0o777, 0o600);
  }

  it("another user's directory, with a link to a root-only file planted as pcs.sh: refused, nothing written", async () => {
    const dir = path.join(tmp, "theirs");
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.symlinkSync(victim, path.join(dir, "pcs.sh"));
    fs.lchownSync(path.join(dir, "pcs.sh"), NOBODY, NOBODY);
    fs.chownSync(dir, NOBODY, NOBODY);
    refused(await render([INVENTORY, "--output", dir]), /owned by uid 65534, not by root or you/);
    victimIntact();
    assert.deepEqual(fs.readdirSync(dir), ["pcs.sh"]);
  });

  it("a directory anyone (or a group) may write, or a link to a directory: refused", async () => {
    for (const mode of [0o777, 0o1777, 0o775]) {
      const dir = path.join(tmp, `open-${mode.toString(8)}`);
      fs.mkdirSync(dir);
      fs.chmodSync(dir, mode);
      refused(await render([INVENTORY, "--output", dir]), /writable by (everyone|its group)/);
      assert.deepEqual(fs.readdirSync(dir), []);
    }
    const target = path.join(tmp, "target");
    fs.mkdirSync(target, { mode: 0o755 });
    fs.symlinkSync(target, path.join(tmp, "link"));
    refused(await render([INVENTORY, "--output", path.join(tmp, "link")]), /a symbolic link/);
    assert.deepEqual(fs.readdirSync(target), []);
    fs.writeFileSync(path.join(tmp, "plain"), "x");
    refused(await render([INVENTORY, "--output", path.join(tmp, "plain")]), /not a directory/);
  });

  it("a new directory under one that others may change (not sticky): refused, not created", async () => {
    const open = path.join(tmp, "shared");
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    refused(
      await render([INVENTORY, "--output", path.join(open, "out")]),
      /shared above it is writable by everyone/,
    );
    assert.deepEqual(fs.readdirSync(open), []);
    // Under a sticky one (as /tmp), others cannot rename what is ours: a new directory is fine.
    fs.chmodSync(open, 0o1777);
    const ok = await render([INVENTORY, "--output", path.join(open, "out")]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(fs.readdirSync(path.join(open, "out")).sort(), FILES);
  });

  it("root's own directory with a link planted as pcs.sh: the link is replaced, never followed", async () => {
    const dir = path.join(tmp, "mine");
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.symlinkSync(victim, path.join(dir, "pcs.sh"));
    fs.symlinkSync(victim, path.join(dir, "cib.xml"));
    const r = await render([INVENTORY, "--output", dir]);
    assert.equal(r.code, 0, r.stderr);
    victimIntact();
    assert.deepEqual(fs.readdirSync(dir).sort(), FILES, "no temporary file is left");
    for (const f of FILES) {
      const st = fs.lstatSync(path.join(dir, f));
      assert.ok(st.isFile(), f);
      assert.equal(st.mode & 0o777, f.endsWith(".sh") ? 0o755 : 0o644, f);
    }
    assert.match(fs.readFileSync(path.join(dir, "pcs.sh"), "utf8"), /^#!\/bin\/sh\n/);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700, "an existing directory keeps its mode");
    // A new one is made 0755, not recursively.
    const fresh = path.join(tmp, "fresh");
    assert.equal((await render([INVENTORY, "--output", fresh])).code, 0);
    assert.equal(fs.statSync(fresh).mode & 0o777, 0o755);
  });

  it("a disk that fills up during a render: the previous files stay whole, no empty script, no temporary file", async () => {
    const mnt = path.join(tmp, "small");
    fs.mkdirSync(mnt);
    const out = path.join(mnt, "out");
    const changed = path.join(tmp, "changed.yaml");
    // More guests: every file grows, so the second render needs more room than the first took.
    const more = Array.from(
      { length: 40 },
      (_, i) => `  - { name: more${i}, config: /srv/vm/more${i}.xml }\n`,
    ).join("");
    fs.writeFileSync(
      changed,
      fs.readFileSync(INVENTORY, "utf8").replace(/\nguests:\n/, `\nguests:\n${more}`),
    );
    // In a private mount namespace: a 1 MiB tmpfs, a first render, the disk filled, a second render.
    const script = [
      "set -u",
      `mount -t tmpfs -o size=1m,mode=0755 kvmha-test "${mnt}"`,
      `"$@" render "${INVENTORY}" --output "${out}" 2>/dev/null || exit 90`,
      `mkdir "${out}.first" && cp -p "${out}"/* "${out}.first"/`,
      `dd if=/dev/zero of="${mnt}/fill" bs=4k 2>/dev/null`,
      `"$@" render "${changed}" --output "${out}"; echo "second render: $?"`,
      `for f in "${out}".first/*; do cmp -s "$f" "${out}/$(basename "$f")" || echo "changed: $f"; done`,
      `ls -A "${out}"`,
      `find "${out}" -size 0`,
    ].join("\n");
    const mounted = inPrivateMounts(script, [process.execPath, "--import", "tsx", ENTRY]);
    const r = await run(mounted.program, mounted.args, {
      env: { PATH, LC_ALL: "C" },
      killAfterMs: 120_000,
    });
    assert.notEqual(r.code, 90, `the first render failed:\n${r.stdout}${r.stderr}`);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines[0], "second render: 1", r.stdout + r.stderr);
    assert.match(r.stderr, /^kvmha render: ERROR: cannot write \S+: ENOSPC\n$/m, r.stderr);
    assert.deepEqual(lines.slice(1), FILES, "every previous file is there, unchanged, none empty");
  });
});

describe("kvmha render to a pipe", () => {
  it("a script larger than a pipe holds arrives whole", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-render-pipe-"));
    try {
      const guests = Array.from(
        { length: 1000 },
        (_, i) => `  - { name: guest${i}, config: /srv/vm/guest${i}.xml }\n`,
      ).join("");
      const big = path.join(tmp, "big.yaml");
      fs.writeFileSync(
        big,
        fs.readFileSync(INVENTORY, "utf8").replace(/\nguests:\n/, `\nguests:\n${guests}`),
      );
      const piped = await render([big]);
      assert.equal(piped.code, 0, piped.stderr);
      const out = path.join(tmp, "out");
      assert.equal((await render([big, "--output", out])).code, 0);
      const whole = fs.readFileSync(path.join(out, "pcs.sh"), "utf8");
      assert.ok(whole.length > 4 * 65536, `${whole.length} bytes`);
      assert.equal(piped.stdout.length, whole.length);
      assert.equal(piped.stdout, whole);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe("pcs.sh: its temporary files", () => {
  let tmp = "";
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-pcs-sh-"));
  });
  after(() => {
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("the CIB's copy is made with mktemp: a link planted beside the CIB's temporary file is not followed", async () => {
    const out = path.join(tmp, "out");
    assert.equal((await render([INVENTORY, "--output", out])).code, 0);
    const victim = path.join(tmp, "victim");
    fs.writeFileSync(victim, "root-only\n", { mode: 0o600 });
    const bin = path.join(tmp, "bin");
    fs.mkdirSync(bin);
    // A stand-in pcs: `pcs cluster cib FILE` writes a CIB, and (playing another user) plants a
    // link where the old script put its copy, FILE.orig; `pcs cluster cib-push` records its args.
    fs.writeFileSync(
      path.join(bin, "pcs"),
      [
        "#!/bin/sh",
        'if [ "$1" = cluster ] && [ "$2" = cib ]; then',
        '  echo "<cib/>" > "$3"',
        `  ln -s "${victim}" "$3.orig"`,
        `  echo "$3" >> "${tmp}/temporaries"`,
        "fi",
        `if [ "$1" = cluster ] && [ "$2" = cib-push ]; then echo "$4" >> "${tmp}/temporaries"; fi`,
        "exit 0",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(bin, "crm_verify"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const r = await run("/bin/sh", [path.join(out, "pcs.sh")], {
      env: { PATH: `${bin}:${PATH}`, LC_ALL: "C" },
      killAfterMs: 60_000,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(fs.readFileSync(victim, "utf8"), "root-only\n");
    const [cib = "", push = ""] = fs
      .readFileSync(path.join(tmp, "temporaries"), "utf8")
      .split("\n");
    const orig = push.replace(/^diff-against=/, "");
    assert.match(cib, /^\/tmp\/kvmha-cib\.\w{6}$/);
    assert.match(orig, /^\/tmp\/kvmha-cib-orig\.\w{6}$/);
    assert.ok(!fs.existsSync(cib) && !fs.existsSync(orig), "both are removed at exit");
    fs.rmSync(`${cib}.orig`, { force: true });
  });
});

describe("the built executable renders alone", () => {
  let tmp = "";
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-render-lone-"));
  });
  after(() => {
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("from an empty directory, with the sources hidden: the built-in templates, as the sources render", async () => {
    const exe = agentPath("kvmha");
    assertBuiltAfter(exe, ["crm-templates", "topology", "commands", "lib"]);
    const lone = path.join(tmp, "lone");
    const cwd = path.join(tmp, "empty");
    fs.mkdirSync(lone);
    fs.mkdirSync(cwd);
    fs.copyFileSync(exe, path.join(lone, "kvmha"));
    fs.chmodSync(path.join(lone, "kvmha"), 0o755);
    const inventory = path.join(tmp, "cluster.yaml");
    fs.copyFileSync(INVENTORY, inventory);
    // The checkout (and so crm-templates/) is covered by an empty tmpfs; dist/ with it.
    const script = `mount -t tmpfs -o size=1m kvmha-hide "${ROOT}" && cd "${cwd}" && exec "${lone}/kvmha" render "${inventory}" "$@"`;
    const lonely = (args: readonly string[]): Promise<RunResult> => {
      const hidden = inPrivateMounts(script, args);
      return run(hidden.program, hidden.args, { env: { PATH, LC_ALL: "C" }, killAfterMs: 60_000 });
    };
    for (const format of ["pcs", "crmsh", "cib"]) {
      const mine = await lonely(["--format", format]);
      assert.equal(mine.code, 0, mine.stderr);
      const sources = await render([inventory, "--format", format]);
      assert.equal(sources.code, 0, sources.stderr);
      assert.equal(mine.stdout, sources.stdout, format);
    }
    const out = path.join(tmp, "out");
    const all = await lonely(["--output", out]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(fs.readdirSync(out).sort(), FILES);
    assert.deepEqual(fs.readdirSync(cwd), [], "nothing is written where it runs");

    // An adapted copy given with --templates still wins.
    const adapted = path.join(tmp, "adapted");
    fs.cpSync(path.join(ROOT, "crm-templates"), adapted, { recursive: true });
    const pcs = path.join(adapted, "pcs.sh.tmpl");
    fs.writeFileSync(
      pcs,
      fs.readFileSync(pcs, "utf8").replace("#!/bin/sh\n", "#!/bin/sh\n# adapted here\n"),
    );
    const own = await lonely(["--templates", adapted]);
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, /^#!\/bin\/sh\n# adapted here\n/);
  });
});
