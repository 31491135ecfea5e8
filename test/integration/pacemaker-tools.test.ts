/**
 * Pacemaker's own tools accept our fence agents as they accept fence-agents': stonith_admin reads
 * their metadata and runs their validation, in each lab generation (Pacemaker 2.1 and 3.0). stonith_admin looks agents up in /usr/sbin, so the
 * test links the built agents there for its duration, only where no such file exists, and removes
 * only the links it made.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, it } from "node:test";
import { agentPath } from "../lab/agents.js";
import { labGenerations } from "../lab/generation.js";

const AGENTS = ["fence_ipmi", "fence_pdu"] as const;

for (const gen of labGenerations()) {
  describe(`${gen.title}: stonith_admin with kvmha's fence agents`, () => {
    const made: string[] = [];
    let stonithAdmin: string;
    before(() => {
      stonithAdmin = gen.requireProgram("stonith_admin");
      gen.requireProgram("fence_apc_snmp");
      for (const agent of AGENTS) {
        const link = gen.hostPath(`/usr/sbin/${agent}`);
        if (fs.existsSync(link)) continue;
        fs.symlinkSync(agentPath(agent), link);
        made.push(link);
      }
    });
    after(() => {
      for (const link of made) fs.rmSync(link, { force: true });
    });

    for (const agent of AGENTS) {
      it(`${agent}: stonith_admin --metadata reads it`, async () => {
        const r = await gen.run(stonithAdmin, ["--metadata", "-a", agent], { killAfterMs: 30_000 });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`<resource-agent name="${agent}"`));
        assert.match(r.stdout, /<parameter name="ip"/);
      });
    }

    it("stonith_admin --validate runs validate-all: good options pass, bad ones fail with the reason", async () => {
      let r = await gen.run(
        stonithAdmin,
        ["--validate", "-a", "fence_ipmi", "-o", "ip=192.0.2.1", "-o", "ipport=623"],
        { killAfterMs: 30_000 },
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      r = await gen.run(stonithAdmin, ["--validate", "-a", "fence_ipmi", "-o", "ipport=623"], {
        killAfterMs: 30_000,
      });
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /fence address/);
      r = await gen.run(
        stonithAdmin,
        ["--validate", "-a", "fence_pdu", "-o", "ip=192.0.2.1", "-o", "snmp_version=3"],
        { killAfterMs: 30_000 },
      );
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /needs username/);
    });
  });
}
