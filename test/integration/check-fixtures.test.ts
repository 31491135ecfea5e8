/**
 * The CIB fixtures against Pacemaker's own checker: the correct ones are `crm_verify -x` clean
 * (so "no finding" is said of valid CIBs), and of the one-mistake ones crm_verify accepts all but
 * the two it cannot miss (no device at all, a node nobody can fence): what kvmha check adds.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { before, describe, it } from "node:test";
import { parseCib } from "../../topology/check/cib.js";
import { contextOf } from "../../topology/check/context.js";
import { runRules } from "../../topology/check/rules.js";
import { requireProgram } from "../lab/bins.js";
import { run } from "../lab/clients.js";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/cib");
const GOOD = ["two-node.xml", "two-node-forms.xml", "sbd-device.xml", "sbd-watchdog.xml"];
/** The mistakes crm_verify itself reports. */
const CRM_VERIFY_SEES = new Set(["no-fencing-devices.xml", "node-unfenceable.xml"]);

describe("CIB fixtures and crm_verify", () => {
  let crmVerify: string;
  before(() => {
    crmVerify = requireProgram("crm_verify");
  });

  for (const file of GOOD) {
    it(`${file}: crm_verify -x clean`, async () => {
      const r = await run(crmVerify, ["-V", "-x", path.join(FIXTURES, file)], {
        killAfterMs: 30_000,
      });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(r.stderr.trim(), "");
    });
  }

  it("crm_verify accepts every one-mistake fixture but two; kvmha check finds each", async () => {
    const broken = fs
      .readdirSync(path.join(FIXTURES, "broken"))
      .filter((f) => f.endsWith(".xml"))
      .sort();
    const accepted: string[] = [];
    for (const file of broken) {
      const full = path.join(FIXTURES, "broken", file);
      const r = await run(crmVerify, ["-x", full], { killAfterMs: 30_000 });
      if (r.code === 0) accepted.push(file);
      const findings = runRules(contextOf(parseCib(fs.readFileSync(full, "utf8"))));
      assert.ok(findings.length > 0, `${file}: kvmha check finds nothing`);
    }
    assert.deepEqual(
      accepted,
      broken.filter((f) => !CRM_VERIFY_SEES.has(f)),
    );
  });
});
