// kvmha apply's push with Pacemaker's real tools on CIB files (no cluster): crm_verify first,
// crm_diff + cibadmin --patch against the CIB read, a CIB changed meanwhile refuses the patch and
// nothing is pushed, a second apply is empty. In each lab generation: Pacemaker 2.1's tools on the
// host, Pacemaker 3.0's from the Debian 13 root (first on PATH, as small scripts entering the
// root). The same against the lab cluster: cluster-apply.test.ts. Needs pacemaker-cli-utils
// (scripts/lab-deps.sh) and the root (scripts/lab-root.sh).
// Run: node --import tsx --test test/integration/apply-cib.test.ts

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { main as apply } from "../../commands/apply.js";
import { ApplyError, planCib } from "../../topology/apply/diff.js";
import { applyPlan, readCib } from "../../topology/apply/push.js";
import { Deadline } from "../../lib/deadline.js";
import { loadForRender, renderFormat } from "../../topology/render/render.js";
import { labGenerations } from "../lab/generation.js";

/** Pacemaker's command-line tools apply and these tests run. */
const SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
const TOOLS = ["cibadmin", "crm_verify", "crm_diff", "crm_simulate", "crm_resource"] as const;

const SAMPLE = "test/fixtures/inventories/three-node.yaml";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-apply-cib-"));
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function emptyCib(name: string): string {
  const r = spawnSync("cibadmin", ["--empty"], { encoding: "utf8" });
  assert.equal(r.status, 0, `cibadmin --empty (package pacemaker-cli-utils): ${r.stderr}`);
  const file = path.join(dir, name);
  fs.writeFileSync(file, r.stdout);
  return file;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await apply(args, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

for (const gen of labGenerations()) {
  const g = gen.name === "debian12" ? 2 : 3;
  describe(`kvmha apply on CIB files (${gen.title})`, () => {
    const hostPath = process.env.PATH;
    before(() => {
      if (gen.name === "debian12") return;
      const bin = fs.mkdtempSync(path.join(dir, "bin-"));
      for (const tool of TOOLS) {
        gen.requireProgram(tool);
        // In the root, PATH is the system's: this directory (under the bound /tmp) must not be.
        const inner = gen.command(tool, []);
        const words = [inner.program, ...inner.args].map((w) => `'${w}'`).join(" ");
        fs.writeFileSync(
          path.join(bin, tool),
          `#!/bin/sh\nPATH=${SYSTEM_PATH} exec ${words} "$@"\n`,
          { mode: 0o755 },
        );
      }
      process.env.PATH = `${bin}:${hostPath ?? ""}`;
    });
    after(() => {
      process.env.PATH = hostPath;
    });

    test("an empty CIB: one verified patch, crm_verify clean, a second apply is empty", async () => {
      const cib = emptyCib("one.xml");
      const first = await cli([SAMPLE, "--pacemaker", String(g), "--cib", cib]);
      assert.equal(first.code, 0, first.err);
      assert.match(first.out, /^applied: 22 to add, 0 to change, 0 to remove$/m);
      const v = spawnSync("crm_verify", ["--xml-file", cib], { encoding: "utf8" });
      assert.equal(v.status, 0, v.stderr);
      assert.match(fs.readFileSync(cib, "utf8"), /<tag id="kvmha-managed">/);
      // Without --pacemaker, the file says its generation (its schema here: no dc-version).
      const second = await cli([SAMPLE, "--cib", cib, "--json"]);
      assert.equal(second.code, 0, second.err);
      assert.match(
        second.err,
        new RegExp(
          `for Pacemaker ${g} .*, from \\S*one\\.xml \\(validate-with pacemaker-${g + 1}\\.\\d+\\)`,
        ),
      );
      const doc = JSON.parse(second.out) as { changes: unknown[]; applied: boolean };
      assert.deepEqual(doc.changes, []);
      assert.equal(doc.applied, false);
    });

    test("a CIB changed after it was read refuses the patch: nothing pushed", async () => {
      const cib = emptyCib("race.xml");
      const loaded = await loadForRender(SAMPLE);
      const [rendered] = await renderFormat(loaded.inventory, "cib", undefined, SAMPLE, {
        pacemaker: g,
      });
      const desired = rendered!.text;
      const source = { kind: "file", path: cib } as const;
      const read = await readCib(source, Deadline.in(30_000));
      const plan = planCib(read, desired);
      // Another admin's change lands between the read and the push.
      const other = spawnSync(
        "cibadmin",
        [
          "--create",
          "--scope",
          "resources",
          "--xml-text",
          '<primitive id="other" class="ocf" provider="heartbeat" type="Dummy"/>',
        ],
        { encoding: "utf8", env: { ...process.env, CIB_file: cib } },
      );
      assert.equal(other.status, 0, other.stderr);
      const changed = fs.readFileSync(cib, "utf8");
      await assert.rejects(
        applyPlan(source, desired, { plan, cib: read }, Deadline.in(60_000)),
        (e: unknown) =>
          e instanceof ApplyError &&
          /the CIB changed since it was read \(configuration 0\.\d+ → 0\.\d+\), nothing pushed: run kvmha plan again/.test(
            e.message,
          ),
      );
      assert.equal(fs.readFileSync(cib, "utf8"), changed);
    });

    test("a planned CIB crm_verify refuses: nothing pushed, one line", async () => {
      const cib = emptyCib("bad.xml");
      const before = fs.readFileSync(cib, "utf8");
      // remote.yaml's guests are ordered after clones this CIB does not have.
      const r = await cli([
        "test/fixtures/inventories/remote.yaml",
        "--pacemaker",
        String(g),
        "--cib",
        cib,
      ]);
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /^kvmha apply: ERROR: crm_verify refuses the planned CIB, nothing pushed: /m,
      );
      assert.equal(
        r.err
          .trim()
          .split("\n")
          .filter((l) => /ERROR/.test(l)).length,
        1,
      );
      assert.equal(fs.readFileSync(cib, "utf8"), before);
    });
  });
}
