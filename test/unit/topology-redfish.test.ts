/**
 * A Redfish BMC through the topology tool: the inventory's `bmc.protocol: redfish` and its keys,
 * render's fence_redfish device as level 1 before the PDU level (pcs, crmsh, CIB; Pacemaker 2 and
 * 3), and check counting fence_redfish (ours under fence-agents' name) as a node's BMC level.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseCib } from "../../topology/check/cib.js";
import { contextOf } from "../../topology/check/context.js";
import { claimOf, endpointOf, familyOf } from "../../topology/check/devices.js";
import { runRules } from "../../topology/check/rules.js";
import { InventoryError, checkInventoryText } from "../../topology/inventory/load.js";
import { generatedIds } from "../../topology/render/ids.js";
import { planCluster } from "../../topology/render/plan.js";
import { renderFormat } from "../../topology/render/render.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SAMPLE = path.join(ROOT, "test/fixtures/inventories/redfish.yaml");
const sample = fs.readFileSync(SAMPLE, "utf8");

/** The two-node inventory around one BMC mapping (YAML flow style). */
function withBmc(bmc: string): string {
  return [
    "cluster: { name: c }",
    "nodes:",
    `  - { name: hv1, bmc: ${bmc}, power: [{ pdu: p, outlets: [1] }] }`,
    "  - { name: hv2, bmc: { address: 10.0.0.2, user: u, password_file: /etc/pw }, power: [{ pdu: p, outlets: [2] }] }",
    "pdus: [{ name: p, address: 10.0.0.9, snmp_version: 2c, community_file: /etc/c }]",
    "",
  ].join("\n");
}

function errors(text: string): string[] {
  try {
    checkInventoryText("inv.yaml", text);
  } catch (err) {
    if (err instanceof InventoryError) return [...err.lines];
    throw err;
  }
  return [];
}

describe("inventory: bmc.protocol redfish", () => {
  it("reads the protocol and its keys; ipmi stays the default", () => {
    const { inventory } = checkInventoryText("redfish.yaml", sample);
    const [hv1, hv2, hv3] = inventory.nodes;
    assert.equal(hv1?.bmc?.protocol, "redfish");
    assert.equal(hv1?.bmc?.systemsUri, "/redfish/v1/Systems/System.Embedded.1");
    assert.equal(hv2?.bmc?.protocol, "ipmi");
    assert.equal(hv3?.bmc?.requestTimeout, 15);
    assert.equal(hv3?.bmc?.port, 8443);
  });

  it("refuses another protocol's keys, a contradictory trust, a bad fingerprint or protocol", () => {
    const base = "protocol: redfish, address: 10.0.0.1, user: u, password_file: /etc/pw";
    assert.match(
      errors(withBmc(`{ ${base}, cipher: 17 }`)).join("\n"),
      /inv\.yaml:3:\d+: nodes\.hv1\.bmc\.cipher: cipher is for protocol ipmi, and this BMC's protocol is redfish/,
    );
    assert.match(
      errors(
        withBmc("{ address: 10.0.0.1, user: u, password_file: /etc/pw, ssl_insecure: true }"),
      ).join("\n"),
      /ssl_insecure is for protocol redfish, and this BMC's protocol is ipmi/,
    );
    assert.match(
      errors(withBmc(`{ ${base}, ssl_insecure: true, ssl_cacert: /etc/ca.pem }`)).join("\n"),
      /ssl_insecure turns off the certificate check that ssl_cacert and ssl_fingerprint ask for/,
    );
    assert.match(
      errors(withBmc(`{ ${base}, ssl_fingerprint: "12:34" }`)).join("\n"),
      /ssl_fingerprint.*expected SHA-256 fingerprints/,
    );
    assert.match(
      errors(withBmc("{ protocol: amt, address: 10.0.0.1 }")).join("\n"),
      /protocol.*ipmi, redfish/,
    );
    assert.deepEqual(errors(withBmc(`{ ${base} }`)), []);
  });

  it("one BMC twice is refused by its protocol's port (443 for redfish)", () => {
    const text = withBmc(
      "{ protocol: redfish, address: 10.0.0.2, port: 443, user: u, password_file: /etc/pw }",
    ).replace(
      "{ address: 10.0.0.2, user: u, password_file: /etc/pw }",
      "{ protocol: redfish, address: 10.0.0.2, user: u, password_file: /etc/pw }",
    );
    assert.match(errors(text).join("\n"), /port 443 is already node 'hv1's BMC/);
  });
});

describe("render: a Redfish node", () => {
  const { inventory } = checkInventoryText("redfish.yaml", sample);

  it("fence_redfish as level 1, then the PDU level; its options and budget, both generations", () => {
    for (const generation of [2, 3] as const) {
      const plan = planCluster(inventory, generation);
      const hv1 = plan.devices.find((d) => d.id === "fence-redfish-hv1");
      assert.equal(hv1?.agent, "fence_redfish");
      assert.deepEqual(hv1?.params.slice(0, 4), [
        ["ip", "10.4.0.11"],
        ["username", "fence"],
        ["password_script", "/bin/cat /etc/kvmha/hv1-bmc.pw"],
        ["systems_uri", "/redfish/v1/Systems/System.Embedded.1"],
      ]);
      assert.equal(hv1?.avoids, "hv1");
      const hv3 = plan.devices.find((d) => d.id === "fence-redfish-hv3");
      const p3 = new Map(hv3?.params);
      assert.equal(p3.get("ipport"), "8443");
      assert.equal(p3.get("login_timeout"), "10");
      assert.equal(p3.get("shell_timeout"), "15");
      assert.equal(p3.has("ipmitool_timeout"), false);
      // fixed 5 + 5 + 10 + 2 x 15 = 50; a change 20 + 2 x 15 = 50; reboot 150 s.
      assert.equal(p3.get("pcmk_reboot_timeout"), "150s");
      assert.match(hv3?.budget ?? "", /close 2 x shell_timeout 15/);
      const levels = (node: string) =>
        plan.levels.filter((l) => l.target === node).map((l) => l.devices.join(","));
      assert.deepEqual(levels("hv1"), ["fence-redfish-hv1", "fence-pdu-pdu-a"]);
      assert.deepEqual(levels("hv2"), ["fence-ipmi-hv2", "fence-pdu-pdu-a"]);
      assert.ok(generatedIds(plan, inventory).some((i) => i.id === "fence-redfish-hv3"));
    }
  });

  it("each TLS trust becomes fence_redfish's option of the same name", () => {
    const trust = (keys: string) =>
      new Map(
        planCluster(
          checkInventoryText(
            "inv.yaml",
            withBmc(
              `{ protocol: redfish, address: 10.0.0.1, user: u, password_file: /etc/pw, ${keys} }`,
            ),
          ).inventory,
        ).devices.find((d) => d.id === "fence-redfish-hv1")?.params,
      );
    assert.equal(trust("ssl_insecure: true").get("ssl_insecure"), "1");
    assert.equal(
      trust("ssl_cacert: /etc/kvmha/bmc-ca.pem").get("ssl_cacert"),
      "/etc/kvmha/bmc-ca.pem",
    );
    const pin = "AB:".repeat(31) + "AB";
    assert.equal(trust(`ssl_fingerprint: "${pin}"`).get("ssl_fingerprint"), pin);
  });

  it("pcs, crmsh and CIB XML create it and its level", async () => {
    for (const generation of [2, 3] as const) {
      const files = [
        ...(await renderFormat(inventory, "pcs", undefined, "redfish.yaml", {
          pacemaker: generation,
        })),
        ...(await renderFormat(inventory, "crmsh", undefined, "redfish.yaml", {
          pacemaker: generation,
        })),
        ...(await renderFormat(inventory, "cib", undefined, "redfish.yaml", {
          pacemaker: generation,
        })),
      ];
      const text = (name: string) => files.find((f) => f.name === name)?.text ?? "";
      assert.match(text("pcs.sh"), /stonith create fence-redfish-hv1 fence_redfish \\/);
      assert.match(text("pcs.sh"), /stonith level add 1 hv1 fence-redfish-hv1\b/);
      assert.match(text("crmsh.crm"), /^primitive fence-redfish-hv1 stonith:fence_redfish \\/m);
      assert.match(text("crmsh.crm"), /hv1: fence-redfish-hv1 fence-pdu-pdu-a/);
      assert.match(
        text("cib.xml"),
        /<primitive id="fence-redfish-hv1" class="stonith" type="fence_redfish">/,
      );
      assert.match(
        text("cib.xml"),
        /<fencing-level id="fl-hv1-1" target="hv1" index="1" devices="fence-redfish-hv1"\/>/,
      );
    }
  });
});

describe("check: fence_redfish is a node's BMC level", () => {
  const twoNode = fs.readFileSync(path.join(ROOT, "test/fixtures/cib/two-node.xml"), "utf8");

  it("recognised as the Redfish family, a BMC: claims and endpoint as an IPMI device's", () => {
    assert.equal(familyOf("fence_redfish"), "redfish");
    const cib = parseCib(twoNode.replaceAll('type="fence_ipmi"', 'type="fence_redfish"'));
    const d = cib.primitives.find((p) => p.id === "fence-ipmi-node1");
    assert.ok(d !== undefined);
    assert.equal(endpointOf(d), "10.0.0.101:443");
    assert.equal(claimOf({ ...d, instance: new Map() }).kind, "all");
  });

  it("a clean CIB stays clean with fence_redfish in the BMC's place; findings name it Redfish", () => {
    assert.deepEqual(runRules(contextOf(parseCib(twoNode))), []);
    const redfish = twoNode.replaceAll('type="fence_ipmi"', 'type="fence_redfish"');
    assert.deepEqual(runRules(contextOf(parseCib(redfish))), []);
    const inCib = redfish.replace(
      'name="password_script" value="/etc/kvmha/ipmi-node1.pw"',
      'name="password" value="secret"',
    );
    const found = runRules(contextOf(parseCib(inCib)));
    assert.deepEqual(
      found.map((f) => f.id),
      ["secret-in-cib"],
    );
    assert.match(
      found[0]?.message ?? "",
      /password is written in the CIB \(a Redfish credential\)/,
    );
  });
});
