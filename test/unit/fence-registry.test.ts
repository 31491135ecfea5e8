/**
 * The agents' registrations (fence/registry.ts): every fence/fence_*.ts is found and registered
 * under its own name, and an agent added through the registration API is listed, dispatched and
 * packaged as the files' agents are (the recipe's temporary-copy proof is
 * test/integration/agent-recipe.test.ts).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, describe, it } from "node:test";
import {
  fenceAgentNames,
  fenceAgentsSync,
  loadFenceAgents,
  registerFenceAgent,
  unregisterFenceAgents,
} from "../../fence/registry.js";
import type { FenceRegistration } from "../../lib/fence/agent.js";
import { aliasTable, commandTable, main } from "../../lib/cli/main.js";
import { agentOptions } from "../../lib/fence/run.js";

const scratch: FenceRegistration<{ on: boolean }> = {
  agent: {
    docs: { name: "fence_scratch", shortdesc: "scratch", longdesc: "scratch", vendorUrl: "x" },
    aliases: [{ name: "fence_scratch_alias", shortdesc: "scratch alias" }],
    options: [],
    groups: ["snmp"],
    plugs: "none",
    required: [],
    needsPassword: false,
    device: {
      connect: async () => ({ on: true }),
      getPowerState: async (s) => (s.on ? "on" : "off"),
      setPowerState: async () => undefined,
      disconnect: async () => undefined,
    },
  },
  shipped: false,
  replaces: { agent: "fence_scratch_ref", package: "fence-agents-scratch" },
};

describe("fence/registry.ts", () => {
  after(unregisterFenceAgents);

  it("finds every agent file, each registered under its own name, loaded the same either way", async () => {
    // Every file's agent (a next agent's too: this test needs no change for it).
    const files = fs
      .readdirSync(new URL("../../fence/", import.meta.url))
      .filter((f) => /^fence_[a-z0-9_]+\.ts$/.test(f))
      .map((f) => f.slice(0, -3))
      .sort();
    assert.deepEqual(fenceAgentNames(), files);
    const loaded = await loadFenceAgents();
    const of = (name: string) => loaded.find((r) => r.agent.docs.name === name);
    assert.deepEqual(
      ["fence_ipmi", "fence_pdu", "fence_redfish"].map((n) => [
        of(n)?.replaces.agent,
        of(n)?.topology?.level,
      ]),
      [
        ["fence_ipmilan", "bmc"],
        ["fence_apc_snmp", "pdu"],
        ["fence_redfish", "bmc"],
      ],
    );
    assert.deepEqual(
      fenceAgentsSync().map((r) => r.agent.docs.name),
      loaded.map((r) => r.agent.docs.name),
    );
  });

  it("option groups: fence_pdu takes the snmp group's options, fence_redfish the ssl group's", async () => {
    const all = await loadFenceAgents();
    const pdu = all.find((r) => r.agent.docs.name === "fence_pdu");
    const redfish = all.find((r) => r.agent.docs.name === "fence_redfish");
    assert.ok(pdu !== undefined && redfish !== undefined);
    const names = (r: FenceRegistration) => agentOptions(r.agent).map((o) => o.name);
    for (const o of ["community", "snmp_version", "snmp_priv_passwd", "inet6_only"])
      assert.ok(names(pdu).includes(o), o);
    for (const o of ["ssl", "ssl_secure", "ssl_insecure", "ssl_cacert", "ssl_fingerprint"])
      assert.ok(names(redfish).includes(o), o);
    // An agent's own declaration wins over its group's: fence_redfish's ipport is 443.
    assert.equal(agentOptions(redfish.agent).find((o) => o.name === "ipport")?.default, "443");
    assert.equal(agentOptions(pdu.agent).find((o) => o.name === "ipport")?.default, "161");
  });

  it("an agent registered through the API is listed, dispatched and packaged as the files' are", async () => {
    registerFenceAgent(scratch);
    assert.throws(() => registerFenceAgent(scratch), /registered already/);
    assert.deepEqual(
      commandTable().find((c) => c.name === "fence_scratch"),
      { name: "fence_scratch", kind: "fence", shipped: false, package: "kvmha" },
    );
    assert.deepEqual(
      aliasTable().find((a) => a.name === "fence_scratch_alias"),
      undefined,
      "a command that is not shipped has no alias in the packages",
    );
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk: string) => {
      out.push(String(chunk));
      return true;
    };
    let code: number;
    try {
      code = await main("kvmha", ["fence_scratch_alias", "-o", "metadata"]);
    } finally {
      process.stdout.write = write;
    }
    assert.equal(code, 0);
    const md = out.join("");
    assert.match(md, /<resource-agent name="fence_scratch_alias" shortdesc="scratch alias" >/);
    assert.match(md, /<parameter name="snmp_version" /);
  });
});
