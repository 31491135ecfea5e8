/**
 * Generated meta-data against resource-agents' own DTD (xmllint), and the example agent under
 * resource-agents' ocf-tester. Both tools come from the lab's packages (scripts/lab-deps.sh):
 * when one is missing the test fails and names the package, it never skips.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { OcfAgent } from "../../lib/ocf/agent.js";
import { callerSpeaksOcf11, metadataXml } from "../../lib/ocf/metadata.js";
import { runOcfAgent } from "../../lib/ocf/run.js";
import { dummy } from "./ocf-dummy.js";

const DTD = "/usr/share/resource-agents/ra-api-1.dtd";
const OCF_TESTER = "/usr/sbin/ocf-tester";
const PCS_RNG = "/usr/share/pcs/data/ocf-1.1.rng";
const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

function need(path: string, pkg: string): void {
  assert.ok(
    existsSync(path),
    `${path} is missing: install the Debian package ${pkg} (scripts/lab-deps.sh)`,
  );
}

function xmllint(xml: string, ...args: string[]): { status: number | null; stderr: string } {
  need("/usr/bin/xmllint", "libxml2-utils");
  const r = spawnSync("xmllint", [...args, "--noout", "-"], { input: xml, encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}

function validate(xml: string): void {
  need(DTD, "resource-agents");
  const r = xmllint(xml, "--dtdvalid", DTD);
  assert.equal(r.status, 0, `not valid against ra-api-1.dtd:\n${r.stderr}\n${xml}`);
}

const awkward: OcfAgent = {
  ...dummy,
  name: "Awkward",
  longdesc: 'Quotes " & <angles> and\nseveral lines.',
  parameters: [
    {
      name: "config",
      type: "string",
      required: true,
      unique: true,
      shortdesc: "a & b",
      longdesc: "<x>",
    },
    { name: "count", type: "integer", default: "3", shortdesc: "n", longdesc: "n" },
    { name: "force", type: "boolean", default: "false", shortdesc: "f", longdesc: "f" },
    { name: "wait", type: "time", default: "90s", shortdesc: "w", longdesc: "w" },
  ],
  actions: {
    ...dummy.actions,
    status: { timeout: "30s", interval: "10s", depth: 0, run: async () => undefined },
    notify: { timeout: "20s", run: async () => undefined },
    promote: { timeout: "20s", run: async () => undefined },
    demote: { timeout: "20s", run: async () => undefined },
    reload: { timeout: "20s", run: async () => undefined },
  },
};

describe("OCF meta-data", () => {
  it("the example agent's meta-data is valid against ra-api-1.dtd", () => {
    validate(metadataXml(dummy));
  });

  it("every content type, escaping and every action of the 1.0 list stay valid", () => {
    const xml = metadataXml(awkward);
    validate(xml);
    assert.match(xml, /<parameter name="config" unique="1" required="1">/);
    assert.match(xml, /<content type="time" default="90s" \/>/);
    assert.match(xml, /Quotes &quot; &amp; &lt;angles&gt; and\nseveral lines\./);
    assert.match(xml, /<action name="status" timeout="30s" interval="10s" depth="0" \/>/);
  });

  it("OCF 1.0 by default, with the agent's own version as the attribute", () => {
    const xml = metadataXml(dummy);
    assert.match(
      xml,
      /^<\?xml version="1\.0"\?>\n<!DOCTYPE resource-agent SYSTEM "ra-api-1\.dtd">\n<resource-agent name="Dummy" version="1\.0">\n<version>1\.0<\/version>\n/,
    );
    assert.doesNotMatch(xml, /reloadable/);
    assert.match(xml, /<action name="monitor" timeout="20s" interval="10s" depth="0" \/>/);
    assert.match(
      xml,
      /<action name="meta-data" timeout="5s" \/>\n<action name="validate-all" timeout="20s" \/>\n<\/actions>/,
    );
  });

  it("reload-agent makes it OCF 1.1: version 1.1, reloadable parameters, well-formed", () => {
    const agent: OcfAgent = {
      ...dummy,
      actions: { ...dummy.actions, "reload-agent": { timeout: "20s", run: async () => undefined } },
    };
    const xml = metadataXml(agent);
    assert.match(xml, /<version>1\.1<\/version>/);
    assert.match(xml, /<parameter name="fake" unique="0" required="0" reloadable="1">/);
    assert.match(xml, /<action name="reload-agent" timeout="20s" \/>/);
    assert.equal(xmllint(xml).status, 0);
    need(PCS_RNG, "pcs");
    const r = xmllint(xml, "--relaxng", PCS_RNG);
    assert.equal(r.status, 0, `not valid against pcs's ocf-1.1.rng:\n${r.stderr}`);
  });

  it("an agent with reload-agent gives the 1.1 form only to a caller that speaks OCF 1.1 (Pacemaker), else valid 1.0", async () => {
    const agent: OcfAgent = {
      ...dummy,
      actions: { ...dummy.actions, "reload-agent": { timeout: "20s", run: async () => undefined } },
    };
    const asked = async (env: Record<string, string>): Promise<string> => {
      let out = "";
      const io = {
        out: (t: string) => (out += t),
        err: () => undefined,
        stderrIsTty: () => false,
        syslog: () => undefined,
        startedAt: () => Date.now(),
        pid: 1,
      };
      assert.equal(await runOcfAgent(agent, ["meta-data"], env, io), 0);
      return out;
    };
    const plain = await asked({});
    validate(plain);
    assert.doesNotMatch(plain, /reload-agent|reloadable/);
    assert.equal(metadataXml(agent, { ocf11: false }), plain);
    assert.equal(await asked({ OCF_RA_VERSION_MAJOR: "1", OCF_RA_VERSION_MINOR: "0" }), plain);
    const pacemaker = await asked({ OCF_RA_VERSION_MAJOR: "1", OCF_RA_VERSION_MINOR: "1" });
    assert.match(pacemaker, /<version>1\.1<\/version>/);
    assert.match(pacemaker, /<action name="reload-agent" timeout="20s" \/>/);
    assert.equal(await asked({ OCF_RA_VERSION_MAJOR: "2", OCF_RA_VERSION_MINOR: "0" }), pacemaker);
    assert.equal(callerSpeaksOcf11({ OCF_RA_VERSION_MAJOR: "1" }), false);
  });
});

describe("ocf-tester", () => {
  it("passes the example agent run as a program", () => {
    need(OCF_TESTER, "resource-agents");
    const dir = mkdtempSync(join(tmpdir(), "ocf-tester-"));
    // ocf-tester also runs the agent as an unprivileged user, so the directory must be readable.
    chmodSync(dir, 0o755);
    const wrapper = join(dir, "Dummy");
    // ocf-tester runs an agent by path: a shell wrapper starts the example agent from sources.
    const loader = `file://${join(ROOT, "node_modules/tsx/dist/loader.mjs")}`;
    writeFileSync(
      wrapper,
      `#!/bin/sh\nexec node --import ${loader} ${join(ROOT, "test/unit/ocf-dummy.ts")} "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const r = spawnSync(
      OCF_TESTER,
      ["-n", "dummy1", "-o", `state=${join(dir, "dummy1.state")}`, wrapper],
      {
        encoding: "utf8",
        cwd: dir,
        env: { ...process.env, HA_RSCTMP: dir },
        timeout: 120_000,
      },
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /passed all tests/);
  });
});
