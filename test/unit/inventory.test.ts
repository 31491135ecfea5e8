// Why one file: the field table's behaviour, section by section, against the same sample
// inventories.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { fencePdu } from "../../fence/fence_pdu.js";
import { agentOptions } from "../../lib/fence/run.js";
import {
  pduDevices,
  SNMP_AUTH_PROTOCOLS,
  SNMP_PRIV_PROTOCOLS,
} from "../../topology/inventory/fields.js";
import { inventorySchema } from "../../topology/inventory/schema.js";
import { WAIVABLE_FINDING_IDS } from "../../topology/check/findings.js";
import {
  checkInventoryText,
  InventoryError,
  loadInventory,
} from "../../topology/inventory/load.js";
import { didYouMean, isAddress } from "../../topology/inventory/validate.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = path.join(ROOT, "test/fixtures/inventories");
const SCHEMA = path.join(ROOT, "crm-templates/inventory.schema.json");

/** The formatted error lines for inventory text (the test fails when it is accepted). */
function errorsOf(text: string): string[] {
  try {
    checkInventoryText("inv.yaml", text);
  } catch (err) {
    assert.ok(err instanceof InventoryError, String(err));
    assert.equal(err.exitCode, 1);
    return [...err.lines];
  }
  assert.fail("the inventory was accepted");
}

/** A valid two-node inventory whose lines the bad cases edit. */
const GOOD = `cluster:
  name: c1
nodes:
  - name: hv1
    bmc: { address: 10.0.0.1, user: fence, password_file: /etc/kvmha/hv1.pw }
    power:
      - { pdu: pdu-a, outlets: [1] }
      - { pdu: pdu-b, outlets: [1] }
  - name: hv2
    bmc: { address: 10.0.0.2, user: fence, password_file: /etc/kvmha/hv2.pw }
    power:
      - { pdu: pdu-a, outlets: [2] }
      - { pdu: pdu-b, outlets: [2] }
pdus:
  - { name: pdu-a, address: 10.0.0.201, snmp_version: 2c, community_file: /etc/kvmha/a.community }
  - { name: pdu-b, address: 10.0.0.202, snmp_version: 2c, community_file: /etc/kvmha/b.community }
guests:
  - { name: vm1, config: /srv/vm/vm1.xml }
`;

function edit(from: string, to: string): string {
  assert.ok(GOOD.includes(from), from);
  return GOOD.replace(from, to);
}

describe("inventory: the sample inventories", () => {
  for (const file of fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml"))) {
    it(`${file} is valid`, async () => {
      const { inventory } = await loadInventory(path.join(FIXTURES, file));
      assert.ok(inventory.nodes.length >= 2);
    });
  }

  it("two-node.yaml: defaults, references, two_node", async () => {
    const { inventory } = await loadInventory(path.join(FIXTURES, "two-node.yaml"));
    assert.deepEqual(inventory.cluster.twoNode, {
      preferred: "hv1",
      delay: 15,
      strategy: "preferred",
    });
    const hv2 = inventory.nodes[1];
    assert.deepEqual(hv2?.bmc?.password, {
      kind: "script",
      command: "/usr/local/sbin/kvmha-secret bmc-hv2",
    });
    assert.equal(hv2?.bmc?.loginTimeout, 5);
    assert.deepEqual(hv2?.power, [
      { pdu: "pdu-a", outlets: ["2"] },
      { pdu: "pdu-b", outlets: ["2"] },
    ]);
    const db1 = inventory.guests[1];
    assert.equal(db1?.timeouts.stop, 180);
    assert.equal(db1?.timeouts.start, 90);
    assert.equal(inventory.pdus[1]?.snmpVersion, "3");
  });

  it("no-pdu.yaml warns that a node without power cannot be fenced", async () => {
    const { warnings } = await loadInventory(path.join(FIXTURES, "no-pdu.yaml"));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /no-pdu\.yaml:3:3: warning: no PDUs and no SBD/);
  });

  it("GOOD is valid (the base of the bad cases)", () => {
    assert.equal(checkInventoryText("inv.yaml", GOOD).warnings.length, 0);
  });
});

describe("inventory: bad inventories give FILE:LINE:COL errors", () => {
  it("missing fields", () => {
    assert.deepEqual(errorsOf(edit("address: 10.0.0.1, ", "")), [
      "inv.yaml:5:10: nodes.hv1.bmc.address is missing; expected the BMC's IPv4/IPv6 address or host name",
    ]);
    assert.deepEqual(errorsOf(edit("  name: c1\n", "  stonith_timeout: 60\n")), [
      "inv.yaml:2:3: cluster.name is missing; expected a cluster name (letters, digits, ._-)",
    ]);
    assert.deepEqual(errorsOf(edit(", password_file: /etc/kvmha/hv2.pw", "")), [
      "inv.yaml:10:10: nodes.hv2.bmc: the BMC password is missing; expected password_file (a root-only file) or password_script (a command printing it)",
    ]);
    assert.deepEqual(errorsOf(edit(", community_file: /etc/kvmha/b.community", "")), [
      "inv.yaml:16:5: pdus.pdu-b: the SNMP v2c community is missing; expected community_file (a root-only file holding it) or community_script (a command printing it)",
    ]);
    assert.deepEqual(errorsOf("nodes: []\n"), [
      "inv.yaml:1:1: cluster is missing; expected a mapping with keys name, stonith_timeout, placement_strategy, two_node, sbd, pacemaker, resource_stickiness, waive",
      "inv.yaml:1:8: nodes: the list is empty; expected at least two nodes",
    ]);
    assert.deepEqual(errorsOf(""), [
      "inv.yaml:1:1: the inventory is empty; expected a mapping with keys cluster, nodes, pdus, guests, dependencies, guest_defaults",
    ]);
  });

  it("wrong types", () => {
    assert.deepEqual(
      errorsOf(
        edit("outlets: [2] }\n      - { pdu: pdu-b", "outlets: { a: 1 } }\n      - { pdu: pdu-b"),
      ),
      [
        "inv.yaml:12:32: nodes.hv2.power[0].outlets: a mapping is not an outlet; expected an outlet number, unit:outlet, or an outlet name",
      ],
    );
    assert.deepEqual(errorsOf(edit("  name: c1\n", "  name: c1\n  stonith_timeout: soon\n")), [
      "inv.yaml:3:20: cluster.stonith_timeout: the text 'soon', expected an integer from 10 to 3600 seconds",
    ]);
    assert.deepEqual(errorsOf(edit("nodes:\n", "nodes: 3\nx:\n")).slice(0, 1), [
      "inv.yaml:3:8: nodes: the number 3, expected a list of nodes (name, bmc, power)",
    ]);
    assert.deepEqual(
      errorsOf(
        edit(
          "{ name: vm1, config: /srv/vm/vm1.xml }",
          "{ name: vm1, config: /srv/vm/vm1.xml, allow_migrate: yes }",
        ),
      ),
      ["inv.yaml:18:58: guests.vm1.allow_migrate: the text 'yes', expected true or false"],
    );
    assert.deepEqual(
      errorsOf(edit("bmc: { address: 10.0.0.2,", "bmc: { port: 70000, address: 10.0.0.2,")),
      [
        "inv.yaml:10:18: nodes.hv2.bmc.port: 70000 is out of range, expected an integer from 1 to 65535",
      ],
    );
  });

  it("unknown keys, with a did-you-mean", () => {
    assert.deepEqual(
      errorsOf(
        edit(
          "user: fence, password_file: /etc/kvmha/hv1.pw",
          "user: fence, pasword_file: /etc/kvmha/hv1.pw, password_file: /x",
        ),
      ),
      [
        "inv.yaml:5:44: unknown key 'pasword_file' in nodes.hv1.bmc (did you mean 'password_file'?); expected one of protocol, address, port, user, password_file, password_script, cipher, lanplus, privlvl, login_timeout, power_timeout, ipmitool_timeout, method, hexadecimal_kg_file, hexadecimal_kg_script, ssl_insecure, ssl_cacert, ssl_fingerprint, systems_uri, shell_timeout",
      ],
    );
    assert.deepEqual(errorsOf(`${GOOD}gests: []\n`), [
      "inv.yaml:19:1: unknown key 'gests' (did you mean 'guests'?); expected one of cluster, nodes, pdus, guests, dependencies, guest_defaults",
    ]);
  });

  it("an outlet used twice on one PDU, and by two nodes", () => {
    assert.deepEqual(
      errorsOf(edit("{ pdu: pdu-a, outlets: [2] }", "{ pdu: pdu-a, outlets: [1] }")),
      [
        "inv.yaml:12:33: nodes.hv2: outlet 1 of PDU 'pdu-a' is already used by node 'hv1'; expected each outlet on one node only",
      ],
    );
    assert.deepEqual(
      errorsOf(edit("{ pdu: pdu-a, outlets: [2] }", "{ pdu: pdu-a, outlets: [2, 3, 2] }")),
      [
        "inv.yaml:12:39: nodes.hv2.power[0].outlets[2]: outlet 2 is listed twice for this supply; expected each outlet once",
      ],
    );
    assert.deepEqual(
      errorsOf(edit("{ pdu: pdu-b, outlets: [2] }", "{ pdu: pdu-a, outlets: [4] }")),
      [
        "inv.yaml:13:16: nodes.hv2: two supplies on PDU 'pdu-a'; expected each supply on its own PDU (list several outlets in one entry if both are on it)",
      ],
    );
  });

  it("names referenced but undefined", () => {
    assert.deepEqual(
      errorsOf(edit("{ pdu: pdu-b, outlets: [2] }", "{ pdu: pdu-c, outlets: [2] }")),
      [
        "inv.yaml:13:16: nodes.hv2: PDU 'pdu-c' is not defined (did you mean 'pdu-a'?); expected one of the names under pdus: pdu-a, pdu-b",
      ],
    );
    assert.deepEqual(
      errorsOf(edit("  name: c1\n", "  name: c1\n  two_node: { preferred: hv3 }\n")),
      [
        "inv.yaml:3:26: cluster.two_node.preferred: node 'hv3' is not defined (did you mean 'hv1'?); expected one of hv1, hv2",
      ],
    );
    assert.deepEqual(errorsOf(edit("  - name: hv2", "  - name: hv1")), [
      "inv.yaml:9:11: nodes.hv1.name: 'hv1' is already used at line 4; expected unique names",
    ]);
    assert.deepEqual(errorsOf(`${GOOD}  - { name: vm2, config: /srv/vm/vm1.xml }\n`), [
      "inv.yaml:19:13: guests.vm2: config /srv/vm/vm1.xml is already the config of guest 'vm1'; expected one guest per domain XML",
    ]);
  });

  it("bad addresses and values", () => {
    assert.deepEqual(errorsOf(edit("address: 10.0.0.1,", "address: 10.0.0.256,")), [
      "inv.yaml:5:21: nodes.hv1.bmc.address: '10.0.0.256' is not valid, expected the BMC's IPv4/IPv6 address or host name",
    ]);
    assert.deepEqual(errorsOf(edit("address: 10.0.0.202,", "address: pdu_b.example,")), [
      "inv.yaml:16:29: pdus.pdu-b.address: 'pdu_b.example' is not valid, expected the PDU's IPv4/IPv6 address or host name",
    ]);
    assert.deepEqual(
      errorsOf(
        edit(
          "snmp_version: 2c, community_file: /etc/kvmha/b.community",
          "snmp_version: 2, community_file: /etc/kvmha/b.community",
        ),
      ),
      [
        "inv.yaml:16:55: pdus.pdu-b.snmp_version: '2' is not valid (did you mean '2c'?); expected one of 1, 2c, 3",
      ],
    );
    assert.deepEqual(
      errorsOf(edit("password_file: /etc/kvmha/hv1.pw", "password_file: etc/kvmha/hv1.pw")),
      [
        "inv.yaml:5:59: nodes.hv1.bmc.password_file: 'etc/kvmha/hv1.pw' is not valid, expected an absolute path of a root-only file (letters, digits, ._/+@%:=-)",
      ],
    );
  });

  it("SNMP versions and their credentials", () => {
    assert.deepEqual(
      errorsOf(
        edit(
          "snmp_version: 2c, community_file: /etc/kvmha/b.community",
          "snmp_version: 3, community_file: /etc/kvmha/b.community",
        ),
      ),
      [
        "inv.yaml:16:5: pdus.pdu-b.user is missing; expected the SNMPv3 user name (snmp_version is 3)",
        "inv.yaml:16:74: pdus.pdu-b.community_file: SNMPv3 has no community; expected user with auth_password_file/auth_password_script",
        "inv.yaml:16:5: warning: pdus.pdu-b: SNMPv3 without authentication (noAuthNoPriv); anyone on the network can switch this PDU's outlets",
      ],
    );
    assert.deepEqual(
      errorsOf(
        edit(
          "community_file: /etc/kvmha/b.community",
          "community_file: /etc/kvmha/b.community, user: fence",
        ),
      ),
      [
        "inv.yaml:16:105: pdus.pdu-b.user: only for snmp_version 3 (this PDU uses 2c); expected community_file or community_script",
      ],
    );
    // The community by command instead of by file; one of the two, never both.
    const bycommand = checkInventoryText(
      "inv.yaml",
      edit(
        "community_file: /etc/kvmha/b.community",
        "community_script: /usr/local/sbin/kvmha-secret pdu-b",
      ),
    );
    assert.deepEqual(bycommand.inventory.pdus[1]?.community, {
      kind: "script",
      command: "/usr/local/sbin/kvmha-secret pdu-b",
    });
    assert.deepEqual(
      errorsOf(
        edit(
          "community_file: /etc/kvmha/b.community",
          "community_file: /etc/kvmha/b.community, community_script: /bin/echo x",
        ),
      ),
      [
        "inv.yaml:16:117: pdus.pdu-b.community_script: give either community_file or community_script for the SNMP community, not both",
      ],
    );
    assert.deepEqual(
      errorsOf(
        edit(
          "snmp_version: 2c, community_file: /etc/kvmha/b.community",
          "snmp_version: 3, user: fence, community_script: /bin/echo x",
        ),
      ),
      [
        "inv.yaml:16:89: pdus.pdu-b.community_script: SNMPv3 has no community; expected user with auth_password_file/auth_password_script",
        "inv.yaml:16:5: warning: pdus.pdu-b: SNMPv3 without authentication (noAuthNoPriv); anyone on the network can switch this PDU's outlets",
      ],
    );
  });

  it("every error at once, sorted by line, exit code 1", () => {
    const bad = edit("address: 10.0.0.1,", "adress: 10.0.0.1,").replace(
      "outlets: [2] }\n      - { pdu: pdu-b",
      "outlets: [1] }\n      - { pdu: pdu-b",
    );
    const lines = errorsOf(bad);
    assert.equal(lines.length, 3, lines.join("\n"));
    assert.match(lines[0] ?? "", /^inv\.yaml:5:10: nodes\.hv1\.bmc\.address is missing/);
    assert.match(lines[1] ?? "", /^inv\.yaml:5:12: unknown key 'adress'/);
    assert.match(lines[2] ?? "", /^inv\.yaml:12:33: .*outlet 1 of PDU 'pdu-a' is already used/);
  });

  it("YAML syntax errors and duplicate keys point at their place", () => {
    assert.deepEqual(errorsOf("cluster:\n  name: a\n  name: b\nnodes: []\n"), [
      "inv.yaml:3:3: cluster: key 'name' is given twice (first at line 2); expected each key once",
      "inv.yaml:4:8: nodes: the list is empty; expected at least two nodes",
    ]);
    const lines = errorsOf("cluster: [\n");
    assert.match(lines[0] ?? "", /^inv\.yaml:\d+:\d+: .*; expected well-formed YAML$/);
  });

  it("a missing file is one line, exit code 1", async () => {
    await assert.rejects(
      loadInventory("/nonexistent/inv.yaml"),
      (err: unknown) =>
        err instanceof InventoryError &&
        err.message === "/nonexistent/inv.yaml: cannot read the inventory: no such file",
    );
  });
});

describe("inventory: policy, dependencies, remote nodes, generation", () => {
  it("remote.yaml: remote nodes, dependencies, guest defaults and meta, BMC keys", async () => {
    const { inventory, warnings } = await loadInventory(path.join(FIXTURES, "remote.yaml"));
    assert.deepEqual(warnings, []);
    const byName = new Map(inventory.nodes.map((n) => [n.name, n]));
    assert.deepEqual(byName.get("hv4")?.remote, {
      address: "10.4.1.14",
      port: undefined,
      reconnectInterval: 60,
    });
    assert.equal(byName.get("hv5")?.remote?.reconnectInterval, 30);
    assert.equal(byName.get("hv1")?.remote, undefined);
    assert.equal(byName.get("hv1")?.bmc?.requestTimeout, 3);
    assert.deepEqual(byName.get("hv2")?.bmc?.kg, { kind: "file", path: "/etc/kvmha/hv2.kg" });
    assert.equal(byName.get("hv3")?.bmc?.method, "onoff");
    assert.deepEqual(inventory.dependencies, {
      storage: ["vm-storage-clone"],
      libvirt: "libvirtd-clone",
    });
    assert.equal(inventory.cluster.resourceStickiness, 100);
    const g = new Map(inventory.guests.map((x) => [x.name, x]));
    assert.deepEqual(g.get("web1")?.requires, ["vm-storage-clone", "libvirtd-clone"]);
    assert.equal(g.get("web1")?.migrationThreshold, 2);
    assert.equal(g.get("web1")?.failureTimeout, 300);
    assert.equal(g.get("web1")?.priority, 10);
    assert.equal(g.get("web1")?.migration.port, 49200);
    assert.equal(g.get("web2")?.migration.uri, "tcp://%n-mig:49201");
    assert.equal(g.get("db1")?.migrationThreshold, 1);
    assert.equal(g.get("db1")?.allowMigrate, false);
    assert.equal(g.get("batch1")?.targetRole, "Stopped");
  });

  it("defaults: stickiness 100, guests move after 3 failures forgotten after 10 min, no generation", () => {
    const { inventory } = checkInventoryText("inv.yaml", GOOD);
    assert.equal(inventory.cluster.resourceStickiness, 100);
    assert.equal(inventory.cluster.pacemaker, undefined);
    assert.deepEqual(inventory.cluster.waive, []);
    assert.equal(inventory.guests[0]?.migrationThreshold, 3);
    assert.equal(inventory.guests[0]?.failureTimeout, 600);
    assert.deepEqual(inventory.guests[0]?.requires, []);
    const three = checkInventoryText(
      "inv.yaml",
      edit(
        "  name: c1\n",
        "  name: c1\n  pacemaker: 3\n  resource_stickiness: 0\n  waive: [no-stickiness]\n",
      ),
    ).inventory.cluster;
    assert.deepEqual(
      [three.pacemaker, three.resourceStickiness, three.waive],
      [3, 0, ["no-stickiness"]],
    );
  });

  it("two nodes on one BMC, or two PDUs on one address, are refused (kvmha check calls them errors)", () => {
    assert.deepEqual(errorsOf(edit("address: 10.0.0.2,", "address: 10.0.0.1,")), [
      "inv.yaml:9:11: nodes.hv2.bmc: address 10.0.0.1 port 623 is already node 'hv1's BMC; expected each node's own BMC (a BMC powers one machine)",
    ]);
    // Another port is another BMC (a lab, a chassis manager with one port per blade).
    assert.equal(
      checkInventoryText("inv.yaml", edit("address: 10.0.0.2,", "address: 10.0.0.1, port: 624,"))
        .warnings.length,
      0,
    );
    assert.deepEqual(errorsOf(edit("address: 10.0.0.202,", "address: 10.0.0.201,")), [
      "inv.yaml:16:13: pdus.pdu-b: address 10.0.0.201 port 161 is already PDU 'pdu-a'; expected one entry per PDU (list all of its outlets under it)",
    ]);
  });

  it("dependencies: declared once, required by name, never a kvmha id", () => {
    const deps = "dependencies:\n  storage: [gfs2-clone]\n  libvirt: libvirtd-clone\n";
    assert.deepEqual(
      errorsOf(
        `${GOOD}${deps}`.replace(
          "{ name: vm1, config: /srv/vm/vm1.xml }",
          "{ name: vm1, config: /srv/vm/vm1.xml, requires: [gfs-clone] }",
        ),
      ),
      [
        "inv.yaml:18:53: guests.vm1.requires[0]: 'gfs-clone' is not declared under dependencies (did you mean 'gfs2-clone'?); expected one of gfs2-clone, libvirtd-clone",
      ],
    );
    assert.deepEqual(errorsOf(`${GOOD}dependencies:\n  storage: [vm1, vm1]\n  libvirt: vm1\n`), [
      "inv.yaml:20:3: dependencies: 'vm1' is the id of a guest kvmha creates; expected the id of a clone created outside kvmha",
      "inv.yaml:20:18: dependencies.storage[1]: 'vm1' is listed twice; expected each once",
      "inv.yaml:21:12: dependencies.libvirt: 'vm1' is also listed under dependencies.storage; expected the libvirt daemon's own clone",
    ]);
    const { inventory } = checkInventoryText(
      "inv.yaml",
      `${GOOD}${deps}`.replace(
        "config: /srv/vm/vm1.xml }",
        "config: /srv/vm/vm1.xml, requires: [libvirtd-clone] }",
      ),
    );
    assert.deepEqual(inventory.guests[0]?.requires, ["libvirtd-clone"]);
  });

  it("waivers: warnings only, by their ids", () => {
    assert.deepEqual(
      errorsOf(
        edit(
          "{ name: vm1, config: /srv/vm/vm1.xml }",
          "{ name: vm1, config: /srv/vm/vm1.xml, waive: [guest-no-migrat, stonith-disabled] }",
        ),
      ),
      [
        `inv.yaml:18:51: guests.vm1.waive[0]: 'guest-no-migrat' is not valid (did you mean 'guest-no-migrate'?); expected a kvmha check warning id: one of ${WAIVABLE_FINDING_IDS.join(", ")}`,
        `inv.yaml:18:68: guests.vm1.waive[1]: 'stonith-disabled' is not valid; expected a kvmha check warning id: one of ${WAIVABLE_FINDING_IDS.join(", ")}`,
      ],
    );
    assert.ok(!WAIVABLE_FINDING_IDS.includes("stonith-disabled"));
    assert.ok(WAIVABLE_FINDING_IDS.includes("guest-no-migrate"));
  });

  it("two-node strategies: preferred, random, priority (which needs guest priorities)", () => {
    const race = (two: string, guest = "{ name: vm1, config: /srv/vm/vm1.xml }"): string =>
      edit("  name: c1\n", `  name: c1\n  two_node: ${two}\n`).replace(
        "{ name: vm1, config: /srv/vm/vm1.xml }",
        guest,
      );
    assert.deepEqual(
      checkInventoryText("inv.yaml", race("{ strategy: random, delay: 10 }")).inventory.cluster
        .twoNode,
      { preferred: "hv1", delay: 10, strategy: "random" },
    );
    assert.deepEqual(errorsOf(race("{ strategy: random, preferred: hv2 }")), [
      "inv.yaml:3:44: cluster.two_node.preferred: only with strategy preferred (this cluster's is random); expected no preferred node",
    ]);
    assert.deepEqual(errorsOf(race("{ strategy: priority }")), [
      "inv.yaml:3:25: cluster.two_node.strategy: priority needs guests with a priority (priority-fencing-delay delays fencing the node whose resources have the higher priority; with none, both nodes fence each other at once); expected priority on the guests that matter most",
    ]);
    assert.equal(
      checkInventoryText(
        "inv.yaml",
        race("{ strategy: priority }", "{ name: vm1, config: /srv/vm/vm1.xml, priority: 5 }"),
      ).inventory.cluster.twoNode?.strategy,
      "priority",
    );
  });

  it("remote nodes: at least two members, names that are resource ids, method cycle warned", () => {
    const remote = edit("  - name: hv2\n", "  - name: hv2\n    remote: {}\n");
    assert.deepEqual(errorsOf(remote), [
      "inv.yaml:4:3: nodes: only one node is a cluster member (the others are remote); expected at least two members, which fence the remote nodes and one another",
    ]);
    const three = `${GOOD}`.replace(
      "nodes:\n",
      "nodes:\n  - name: 9rack\n    remote: { address: 10.0.9.9 }\n    bmc: { address: 10.0.9.1, user: fence, password_file: /etc/kvmha/9.pw }\n    power: [{ pdu: pdu-a, outlets: [9] }]\n",
    );
    assert.deepEqual(errorsOf(three), [
      "inv.yaml:4:11: nodes.9rack.name: '9rack' cannot be a remote node's name (it is the id of its connection resource); expected a letter or _ first",
    ]);
    const cycle = checkInventoryText(
      "inv.yaml",
      edit(
        "password_file: /etc/kvmha/hv1.pw }",
        "password_file: /etc/kvmha/hv1.pw, method: cycle }",
      ),
    );
    assert.match(
      cycle.warnings[0] ?? "",
      /nodes\.hv1\.bmc\.method: cycle asks the BMC for a power cycle, which fence_ipmi cannot read back/,
    );
  });

  it("pacemaker: 2 or 3", () => {
    assert.deepEqual(errorsOf(edit("  name: c1\n", "  name: c1\n  pacemaker: 4\n")), [
      "inv.yaml:3:14: cluster.pacemaker: '4' is not valid (did you mean '2'?); expected one of 2, 3",
    ]);
  });
});

describe("inventory: what an admin reads about a bad inventory", () => {
  it("a TAB in the indentation is one error, at its place, not the parser's confusion after it", () => {
    assert.deepEqual(errorsOf(GOOD.replace("  - name: hv2", "\t- name: hv2")), [
      "inv.yaml:9:1: a TAB in the indentation; expected spaces (YAML indents with spaces only)",
    ]);
    assert.deepEqual(
      errorsOf(
        GOOD.replace(
          "      - { pdu: pdu-a, outlets: [2] }",
          "\t    - { pdu: pdu-a, outlets: [2] }",
        ),
      ),
      ["inv.yaml:12:1: a TAB in the indentation; expected spaces (YAML indents with spaces only)"],
    );
  });

  it("a key given twice is named, with where it was first", () => {
    assert.deepEqual(
      errorsOf(edit("bmc: { address: 10.0.0.2,", "bmc: { address: 10.0.0.2, address: 10.0.0.9,")),
      [
        "inv.yaml:10:31: nodes.hv2.bmc: key 'address' is given twice (first at line 10); expected each key once",
      ],
    );
    assert.deepEqual(errorsOf(`${GOOD}cluster:\n  name: c2\n`), [
      "inv.yaml:19:1: the inventory: key 'cluster' is given twice (first at line 1); expected each key once",
    ]);
  });

  it("subjects are named by their names; by their place only where the name is missing or wrong", () => {
    assert.deepEqual(
      errorsOf(edit("bmc: { address: 10.0.0.2,", "bmc: { port: 0, address: 10.0.0.2,")),
      [
        "inv.yaml:10:18: nodes.hv2.bmc.port: 0 is out of range, expected an integer from 1 to 65535",
      ],
    );
    const unnamed = errorsOf(edit("  - name: hv2\n", "  - name: -hv2\n"));
    assert.ok(
      unnamed.includes(
        "inv.yaml:9:11: nodes[1].name: '-hv2' is not valid, expected a node name as Pacemaker knows it (letters, digits, ._-)",
      ),
      unnamed.join("\n"),
    );
    assert.deepEqual(
      errorsOf(
        edit("{ name: vm1, config: /srv/vm/vm1.xml }", "{ name: vm1, config: srv/vm1.xml }"),
      ),
      [
        "inv.yaml:18:26: guests.vm1.config: 'srv/vm1.xml' is not valid, expected the absolute path of the domain XML on shared storage",
      ],
    );
  });

  it("XML given as an inventory: one error saying so", () => {
    const cib = fs.readFileSync(path.join(ROOT, "test/fixtures/cib/two-node.xml"), "utf8");
    assert.deepEqual(errorsOf(cib), [
      "inv.yaml:1:1: this is XML, not a YAML inventory; expected the inventory kvmha render reads (docs/templates.md), or give a CIB to kvmha check --cib FILE",
    ]);
    assert.deepEqual(errorsOf("\n  <domain type='kvm'><name>a</name></domain>\n"), [
      "inv.yaml:2:3: this is XML, not a YAML inventory; expected the inventory kvmha render reads (docs/templates.md), or give a CIB to kvmha check --cib FILE",
    ]);
  });
});

describe("inventory: what no CIB can hold, and absurd sizes", () => {
  it("U+FFFE, U+FFFF, a lone surrogate and control characters are refused at their line", () => {
    for (const [escape, code] of [
      ["\\uFFFE", "U+FFFE"],
      ["\\uFFFF", "U+FFFF"],
      ["\\uD800", "U+D800"],
      ["\\u0001", "U+0001"],
    ] as const) {
      assert.deepEqual(
        errorsOf(
          edit(
            "user: fence, password_file: /etc/kvmha/hv2.pw",
            `user: "fe${escape}nce", password_file: /etc/kvmha/hv2.pw`,
          ),
        ),
        [
          `inv.yaml:10:37: nodes.hv2.bmc.user: 'fe?nce' holds the character ${code}, which a CIB cannot hold; expected the BMC user name`,
        ],
        escape,
      );
    }
    // The same characters written as they are (not escaped) in a command.
    assert.deepEqual(
      errorsOf(
        edit("password_file: /etc/kvmha/hv1.pw", "password_script: /usr/local/bin/secret \uFFFF"),
      ),
      [
        "inv.yaml:5:61: nodes.hv1.bmc.password_script: '/usr/local/bin/secret ?' holds the character U+FFFF, which a CIB cannot hold; expected a shell command that prints the secret on its first line",
      ],
    );
    // A character outside the BMP (a valid surrogate pair) is fine where any text is.
    checkInventoryText(
      "inv.yaml",
      edit(
        "user: fence, password_file: /etc/kvmha/hv2.pw",
        'user: "fence\u{1F512}", password_file: /etc/kvmha/hv2.pw',
      ),
    );
  });
  it("texts, lists and outlets have limits", () => {
    const long = `/srv/vm/${"x".repeat(1020)}.xml`;
    assert.deepEqual(errorsOf(edit("config: /srv/vm/vm1.xml", `config: ${long}`)), [
      `inv.yaml:18:26: guests.vm1.config: ${long.length} characters long; expected at most 1024: the absolute path of the domain XML on shared storage`,
    ]);
    const outlets = Array.from({ length: 25 }, (_, i) => i + 101).join(", ");
    assert.deepEqual(
      errorsOf(edit("{ pdu: pdu-a, outlets: [1] }", `{ pdu: pdu-a, outlets: [${outlets}] }`)),
      ["inv.yaml:7:32: nodes.hv1.power[0].outlets: 25 outlets; expected at most 24 for one supply"],
    );
    const guests = Array.from(
      { length: 10_001 },
      (_, i) => `  - { name: g${i}, config: /srv/vm/g${i}.xml }\n`,
    ).join("");
    assert.deepEqual(errorsOf(GOOD.replace(/guests:\n.*\n$/, `guests:\n${guests}`)), [
      "inv.yaml:18:3: guests: 10001 items; expected at most 10000 guests (name, config, …)",
    ]);
  });
  it("a file larger than 1 MiB, or one that never ends, is one line", async () => {
    await assert.rejects(
      loadInventory("/dev/zero"),
      (err: unknown) =>
        err instanceof InventoryError &&
        /^\/dev\/zero: the inventory is larger than 1024 KiB; expected one cluster's description/.test(
          err.message,
        ),
    );
  });
});

describe("inventory: helpers", () => {
  it("isAddress", () => {
    for (const ok of [
      "10.0.0.1",
      "fd00::1",
      "::1",
      "2001:db8::10.0.0.1",
      "bmc-1.example.net",
      "localhost",
    ])
      assert.ok(isAddress(ok), ok);
    for (const bad of [
      "10.0.0.256",
      "10.0.0",
      "1.2.3.4.5",
      "a_b",
      "-x",
      "fd00:::1",
      "1:2:3:4:5:6:7:8:9",
      "",
    ])
      assert.ok(!isAddress(bad), bad);
  });
  it("didYouMean", () => {
    assert.equal(didYouMean("adress", ["address", "port"]), " (did you mean 'address'?)");
    assert.equal(didYouMean("zzz", ["address", "port"]), "");
  });
});

interface SchemaObject {
  properties?: Record<string, unknown>;
  additionalProperties?: boolean;
  enum?: unknown[];
}

describe("inventory: the JSON Schema and the validator agree", () => {
  const schema = JSON.parse(fs.readFileSync(SCHEMA, "utf8")) as {
    $defs: Record<string, SchemaObject>;
  };
  it("the shipped schema is the one generated from the field table (node --import tsx scripts/inventory-schema.ts)", () => {
    assert.deepEqual(schema, inventorySchema());
  });
  it("the schema's choices are fence_pdu's", () => {
    const pdu = schema.$defs.pdu?.properties as Record<string, SchemaObject>;
    assert.deepEqual(pdu.device?.enum, pduDevices());
    assert.deepEqual(pdu.auth_protocol?.enum, [...SNMP_AUTH_PROTOCOLS]);
    assert.deepEqual(pdu.priv_protocol?.enum, [...SNMP_PRIV_PROTOCOLS]);
    const choices = (name: string) => agentOptions(fencePdu).find((o) => o.name === name)?.choices;
    assert.deepEqual(choices("snmp_auth_prot"), [...SNMP_AUTH_PROTOCOLS]);
    assert.deepEqual(choices("snmp_priv_prot"), [...SNMP_PRIV_PROTOCOLS]);
  });
});
