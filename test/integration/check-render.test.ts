/**
 * `kvmha check` passes what `kvmha render` makes: every sample inventory, rendered as CIB XML for
 * each Pacemaker generation, checks clean with --strict (no error, no warning; a deliberate choice
 * the inventory states, such as allow_migrate: false, is waived, shown and not counted). The two
 * commands must agree on what a correct topology is.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { run } from "../lab/clients.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ENTRY = path.join(ROOT, "lib/cli/entry.ts");
const INVENTORIES = path.join(ROOT, "test/fixtures/inventories");

describe("kvmha check on kvmha render's output", () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-check-render-"));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const samples = fs
    .readdirSync(INVENTORIES)
    .filter((f) => f.endsWith(".yaml"))
    .sort();
  it("there are sample inventories", () => {
    assert.ok(samples.length >= 5, samples.join(" "));
  });
  for (const sample of samples)
    for (const pacemaker of ["2", "3"]) {
      it(`${sample}: rendered CIB for Pacemaker ${pacemaker} checks clean with --strict`, async () => {
        const rendered = await run(
          process.execPath,
          [
            "--import",
            "tsx",
            ENTRY,
            "render",
            path.join(INVENTORIES, sample),
            "--format",
            "cib",
            "--pacemaker",
            pacemaker,
          ],
          { killAfterMs: 60_000 },
        );
        assert.equal(rendered.code, 0, rendered.stderr);
        const file = path.join(tmp, sample.replace(/\.yaml$/, `-${pacemaker}.xml`));
        fs.writeFileSync(file, rendered.stdout);
        const r = await run(
          process.execPath,
          ["--import", "tsx", ENTRY, "check", "--strict", "--cib", file],
          { killAfterMs: 60_000 },
        );
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /OK: no problem found( \(\d+ waived\))?\n$/);
        // What an inventory states on purpose is waived, by name, never silently.
        const inventory = fs.readFileSync(path.join(INVENTORIES, sample), "utf8");
        assert.equal(
          (r.stdout.match(/^WAIVED /gm) ?? []).length,
          (inventory.match(/allow_migrate: false/g) ?? []).length,
          r.stdout,
        );
      });
    }
});
