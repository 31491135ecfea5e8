// Why one file: each describe renders the same fixture inventories; split, each part would reload
// them.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseStringPromise } from "xml2js";
import { main } from "../../commands/render.js";
import {
  checkInventoryText,
  InventoryError,
  loadInventory,
} from "../../topology/inventory/load.js";
import { crmshValue, shellWord, xmlCommentText } from "../../topology/render/escape.js";
import { hostMapFor } from "../../topology/render/generation.js";
import { generatedIds } from "../../topology/render/ids.js";
import { hostMap, planCluster } from "../../topology/render/plan.js";
import { planOrError, renderFormat } from "../../topology/render/render.js";
import { fill, fragment, parseTemplate, TemplateError } from "../../topology/render/template.js";
import { TEMPLATE_FILES } from "../../topology/render/templates.js";
import { KvmhaError } from "../../lib/errors.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = path.join(ROOT, "test/fixtures/inventories");
const TEMPLATES = path.join(ROOT, "crm-templates");

describe("render: the template scheme", () => {
  const t = parseTemplate(
    "t.tmpl",
    [
      "notes are not output",
      "#% begin a",
      "x={{x}}",
      "#% end",
      "#% piece p",
      " \\",
      "  {{y}}",
      "#% end",
      "#% inline i: <{{z}}>",
      "more notes",
    ].join("\n"),
  );
  it("block sections end in a newline, pieces do not, inline pieces are one line", () => {
    assert.equal(fill(t, "a", { x: fragment("1") }), "x=1\n");
    assert.equal(fill(t, "p", { y: fragment("2") }), " \\\n  2");
    assert.equal(fill(t, "i", { z: fragment("3") }), "<3>");
  });
  it("a placeholder without a value, or a value without a placeholder, is an error", () => {
    assert.throws(
      () => fill(t, "a", {}),
      /section 'a' uses \{\{x\}\}, which the renderer does not provide/,
    );
    assert.throws(
      () => fill(t, "a", { x: fragment("1"), w: fragment("2") }),
      /section 'a' does not use \{\{w\}\}/,
    );
    assert.throws(() => fill(t, "nope", {}), /no section 'nope'/);
  });
  it("malformed templates are refused with their line", () => {
    assert.throws(
      () => parseTemplate("b.tmpl", "#% begin a\nx\n"),
      (e: unknown) =>
        e instanceof TemplateError && /b\.tmpl:1: section 'a' has no '#% end'/.test(e.message),
    );
    assert.throws(
      () => parseTemplate("b.tmpl", "#% end\n"),
      /b\.tmpl:1: '#% end' without '#% begin'/,
    );
    assert.throws(
      () => parseTemplate("b.tmpl", "#% begin a\n#% begin b\n"),
      /b\.tmpl:2: '#% begin' inside section 'a'/,
    );
    assert.throws(
      () => parseTemplate("b.tmpl", "#% begin A\n#% end\n"),
      /b\.tmpl:1: expected '#% begin NAME'/,
    );
    assert.throws(
      () => parseTemplate("b.tmpl", "#% inline a: x\n#% inline a: y\n"),
      /b\.tmpl:2: section 'a' is defined twice/,
    );
  });
  it("the shipped templates parse", () => {
    for (const file of Object.values(TEMPLATE_FILES))
      parseTemplate(file, fs.readFileSync(path.join(TEMPLATES, file), "utf8"));
  });
});

describe("render: escaping", () => {
  it("shell words survive sh unchanged", () => {
    for (const v of [
      "plain",
      "/bin/cat /etc/x",
      "it's",
      'a"b',
      "$HOME `x` \\ ; & | * ?",
      "tab\tin",
      "-x",
    ]) {
      const out = execFileSync("/bin/sh", ["-c", `printf %s ${shellWord(v)}`], {
        encoding: "utf8",
      });
      assert.equal(out, v);
    }
    assert.equal(shellWord("qemu:///system"), "qemu:///system");
  });
  it('crmsh values are double-quoted with \\ and " escaped', () => {
    assert.equal(crmshValue('a "b" \\c'), '"a \\"b\\" \\\\c"');
  });
  it("XML comments never contain --, nor a character XML cannot carry", () => {
    assert.doesNotMatch(xmlCommentText("a--b---c-"), /--/);
    assert.equal(xmlCommentText("inv\u0001\uffff\ud800.yaml\u{1F512}"), "inv???.yaml\u{1F512}");
  });
});

describe("render: the plan", () => {
  it("two-node: IPMI first, both PDUs as one level, the delay only for the preferred node", async () => {
    const { inventory } = await loadInventory(path.join(FIXTURES, "two-node.yaml"));
    const plan = planCluster(inventory);
    assert.deepEqual(
      plan.levels.map((l) => `${l.target} ${l.index} ${l.devices.join(",")}`),
      [
        "hv1 1 fence-ipmi-hv1",
        "hv1 2 fence-pdu-pdu-a,fence-pdu-pdu-b",
        "hv2 1 fence-ipmi-hv2",
        "hv2 2 fence-pdu-pdu-a,fence-pdu-pdu-b",
      ],
    );
    const param = (id: string, name: string): string | undefined =>
      plan.devices.find((d) => d.id === id)?.params.find(([n]) => n === name)?.[1];
    assert.equal(param("fence-ipmi-hv1", "pcmk_delay_base"), "15s");
    assert.equal(param("fence-ipmi-hv2", "pcmk_delay_base"), undefined);
    assert.equal(param("fence-ipmi-hv1", "pcmk_host_list"), "hv1");
    assert.equal(param("fence-pdu-pdu-a", "pcmk_host_map"), "hv1:1;hv2:2");
    assert.equal(param("fence-ipmi-hv1", "password_script"), "/bin/cat /etc/kvmha/hv1-bmc.pw");
    assert.equal(
      param("fence-pdu-pdu-b", "snmp_priv_passwd_script"),
      "/bin/cat /etc/kvmha/pdu-b.priv",
    );
    // The v2c community by reference too: community_file F becomes community_script=/bin/cat F.
    assert.equal(param("fence-pdu-pdu-a", "community"), undefined);
    assert.equal(
      param("fence-pdu-pdu-a", "community_script"),
      "/bin/cat /etc/kvmha/pdu-a.community",
    );
    assert.equal(
      param("fence-pdu-pdu-b", "community_script"),
      undefined,
      "SNMPv3 has no community",
    );
    assert.deepEqual(
      plan.devices.filter((d) => d.avoids !== undefined).map((d) => `${d.id}!${d.avoids}`),
      ["fence-ipmi-hv1!hv1", "fence-ipmi-hv2!hv2"],
    );
  });

  it("timeouts: each device covers its agent's own timeouts, stonith-timeout the sum of a node's levels + 20%", async () => {
    const { inventory } = await loadInventory(path.join(FIXTURES, "two-node.yaml"));
    const plan = planCluster(inventory);
    const t = (id: string, name: string): number =>
      Number.parseInt(
        plan.devices.find((d) => d.id === id)?.params.find(([n]) => n === name)?.[1] ?? "",
        10,
      );
    // The agents wait the whole power_timeout for the off, and again for the on: a reboot is two
    // power changes. fence_ipmi: fixed = start 5 + password_script 5 + login 5 + status, close
    // 2 x 2 = 19; a change = power_timeout 20 + switch and the last read 2 x 2 = 24.
    // off = 19 + 24 = 43 -> 45; reboot = 19 + 2 x 24 = 67 -> 70; hv1 (preferred) + delay 15.
    assert.equal(t("fence-ipmi-hv2", "pcmk_off_timeout"), 45);
    assert.equal(t("fence-ipmi-hv2", "pcmk_reboot_timeout"), 70);
    assert.equal(t("fence-ipmi-hv1", "pcmk_off_timeout"), 60);
    assert.equal(t("fence-ipmi-hv1", "pcmk_reboot_timeout"), 85);
    // fence_pdu v2c (community_script): fixed = start 5 + script 5 + login 5 + status 1 x 3 = 18;
    // a change = power_timeout 20 + switch and last read 2 x 1 x 3 = 26. off or on (one try,
    // retry_on=1) = 44 -> 45; reboot = 18 + 2 x 26 = 70. v3 with two scripts: 23 + 26 = 49 -> 50,
    // 23 + 52 = 75. off and reboot + the preferred node's delay of 15 s, on without.
    assert.equal(t("fence-pdu-pdu-a", "pcmk_off_timeout"), 60);
    assert.equal(t("fence-pdu-pdu-a", "pcmk_on_timeout"), 45);
    assert.equal(t("fence-pdu-pdu-a", "pcmk_reboot_timeout"), 85);
    assert.equal(t("fence-pdu-pdu-b", "pcmk_off_timeout"), 65);
    assert.equal(t("fence-pdu-pdu-b", "pcmk_on_timeout"), 50);
    assert.equal(t("fence-pdu-pdu-b", "pcmk_reboot_timeout"), 90);
    assert.equal(
      plan.devices
        .find((d) => d.id === "fence-pdu-pdu-a")
        ?.params.find(([n]) => n === "pcmk_delay_base")?.[1],
      "hv1:15s;hv2:0s",
    );
    // hv1: level 1 alone is a reboot, 85; level 2 (two PDUs) an off of each, then an on of each:
    // (45 + 45 + 15) + (50 + 50 + 15) = 220; 85 + 220 = 305, + 20% = 366 -> 370
    assert.equal(
      plan.stonithTimeout.sum,
      "IPMI reboot 85 + pdu-a off 45 + on 45 + delay 15 + pdu-b off 50 + on 50 + delay 15 = 305 s",
    );
    assert.deepEqual(plan.properties, [
      ["stonith-enabled", "true"],
      ["stonith-timeout", "370s"],
    ]);
    for (const d of plan.devices) assert.ok(t(d.id, "pcmk_reboot_timeout") <= 370, d.id);
  });

  it("timeouts: a PDU alone in a node's level is timed for the reboot the fencer asks of it", async () => {
    // Each node fed by pdu-a only: level 2 is that one device, asked for a reboot (off, then on).
    const single = fs
      .readFileSync(path.join(FIXTURES, "two-node.yaml"), "utf8")
      .replace(/\n\s*- \{ pdu: pdu-b, outlets: \[\d\] \}/g, "");
    const plan = planCluster(checkInventoryText("single.yaml", single).inventory);
    assert.deepEqual(plan.levels.find((l) => l.target === "hv2" && l.index === 2)?.devices, [
      "fence-pdu-pdu-a",
    ]);
    // hv1: IPMI reboot 85 + pdu-a reboot 70 + delay 15 = 170, + 20% = 204 -> 210 (not off 45 + on 70)
    assert.equal(plan.stonithTimeout.sum, "IPMI reboot 85 + pdu-a reboot 70 + delay 15 = 170 s");
    assert.equal(plan.stonithTimeout.seconds, 210);
    const pduA = plan.devices.find((d) => d.id === "fence-pdu-pdu-a");
    assert.equal(pduA?.params.find(([n]) => n === "pcmk_reboot_timeout")?.[1], "85s");
    assert.match(pduA?.budget ?? "", /reboot \(off, then on\) = 18 \+ 2 x 26 = 70 -> 70 s/);
  });

  it("more outlets per node mean a longer PDU timeout; unit:outlet is escaped for pcmk_host_map", async () => {
    const { inventory } = await loadInventory(path.join(FIXTURES, "multi-outlet.yaml"));
    const plan = planCluster(inventory);
    const left = plan.devices.find((d) => d.id === "fence-pdu-left");
    // fixed = start 5 + script 5 + login 5 + status 3 x 3 = 24; a change = power 30 + 2 x 3 x 3 = 48
    // off = 72 -> 75; on and reboot = 24 + 2 x 48 = 120
    assert.equal(left?.params.find(([n]) => n === "pcmk_off_timeout")?.[1], "75s");
    assert.equal(left?.params.find(([n]) => n === "pcmk_reboot_timeout")?.[1], "120s");
    assert.equal(
      left?.params.find(([n]) => n === "pcmk_host_map")?.[1],
      "node-1:1\\:3,1\\:4;node-2:1\\:5,1\\:6;node-3:2\\:1,2\\:2,2\\:3",
    );
    assert.equal(hostMap([{ node: "a", outlets: ["1", "2"] }]), "a:1,2");
    // community_script is passed as is
    assert.equal(
      plan.devices
        .find((d) => d.id === "fence-pdu-right")
        ?.params.find(([n]) => n === "community_script")?.[1],
      "/usr/local/sbin/kvmha-secret pdu-right",
    );
  });

  it("SBD and no-PDU variants: levels without gaps", async () => {
    const sbd = planCluster((await loadInventory(path.join(FIXTURES, "sbd.yaml"))).inventory);
    assert.deepEqual(
      sbd.levels.filter((l) => l.target === "hv2").map((l) => `${l.index} ${l.devices.join(",")}`),
      ["1 fence-ipmi-hv2", "2 fence-sbd"],
    );
    assert.equal(
      sbd.devices
        .find((d) => d.id === "fence-sbd")
        ?.params.find(([n]) => n === "pcmk_host_list")?.[1],
      "hv1,hv2,hv3",
    );
    // SBD in addition to the PDUs: the third level.
    const both = fs
      .readFileSync(path.join(FIXTURES, "two-node.yaml"), "utf8")
      .replace(
        "  two_node:\n",
        "  sbd: { devices: [/dev/disk/by-id/wwn-0x1-part1] }\n  two_node:\n",
      );
    const withSbd = planCluster(checkInventoryText("both.yaml", both).inventory);
    assert.deepEqual(
      withSbd.levels
        .filter((l) => l.target === "hv2")
        .map((l) => `${l.index} ${l.devices.join(",")}`),
      ["1 fence-ipmi-hv2", "2 fence-pdu-pdu-a,fence-pdu-pdu-b", "3 fence-sbd"],
    );
    const noPdu = planCluster((await loadInventory(path.join(FIXTURES, "no-pdu.yaml"))).inventory);
    assert.deepEqual(
      noPdu.levels.map((l) => l.index),
      [1, 1],
    );
  });

  it("capacities give node and guest utilization and placement-strategy", async () => {
    const plan = planCluster(
      (await loadInventory(path.join(FIXTURES, "three-node.yaml"))).inventory,
    );
    assert.deepEqual(
      plan.properties.find(([n]) => n === "placement-strategy"),
      ["placement-strategy", "balanced"],
    );
    assert.deepEqual(plan.nodeUtilization[2], {
      node: "hv3",
      remote: false,
      attributes: [
        ["cpu", "16"],
        ["memory", "131072"],
      ],
    });
    assert.deepEqual(plan.guests[2]?.utilization, [
      ["cpu", "8"],
      ["memory", "65536"],
    ]);
    assert.deepEqual(
      plan.guests[2]?.ops.find((o) => o.name === "stop"),
      { name: "stop", interval: 0, timeout: 300 },
    );
  });

  it("IPMI devices are tried once per fencing action; every device's failures expire", async () => {
    for (const file of ["two-node.yaml", "sbd.yaml"]) {
      const { inventory } = await loadInventory(path.join(FIXTURES, file));
      const plan = planCluster(inventory);
      for (const d of plan.devices) {
        const param = (name: string): string | undefined => d.params.find(([n]) => n === name)?.[1];
        // A BMC that did not answer within login_timeout will not answer a retry; the PDUs keep
        // Pacemaker's default (2), a busy PDU may answer the second try.
        assert.equal(
          param("pcmk_off_retries"),
          d.agent === "fence_ipmi" ? "1" : undefined,
          `${file} ${d.id}`,
        );
        assert.equal(
          param("pcmk_reboot_retries"),
          d.agent === "fence_ipmi" ? "1" : undefined,
          `${file} ${d.id}`,
        );
        assert.equal(param("pcmk_on_retries"), undefined, `${file} ${d.id}`);
        assert.deepEqual(d.meta, [["failure-timeout", "120s"]], `${file} ${d.id}`);
      }
    }
    // and all three formats write them
    const { inventory } = await loadInventory(path.join(FIXTURES, "two-node.yaml"));
    const pcs = (await renderFormat(inventory, "pcs", TEMPLATES, "two-node.yaml"))[0]?.text ?? "";
    const crmsh =
      (await renderFormat(inventory, "crmsh", TEMPLATES, "two-node.yaml"))[0]?.text ?? "";
    const cib = (await renderFormat(inventory, "cib", TEMPLATES, "two-node.yaml"))[0]?.text ?? "";
    assert.match(
      pcs,
      /pcs_f stonith create fence-ipmi-hv2 fence_ipmi \\\n(?: {4}[^\n]+ \\\n)*? {4}pcmk_off_retries=1 \\\n {4}pcmk_reboot_retries=1 \\\n {4}op monitor interval=60s \\\n {4}meta failure-timeout=120s\n/,
    );
    assert.match(
      pcs,
      /pcs_f stonith create fence-pdu-pdu-a fence_pdu [^]*?op monitor interval=60s \\\n {4}meta failure-timeout=120s\n/,
    );
    assert.equal(pcs.match(/retries/g)?.length, 4);
    assert.match(
      crmsh,
      /primitive fence-ipmi-hv2 stonith:fence_ipmi \\\n {4}params[^]*? {4}pcmk_reboot_retries="1" \\\n {4}meta failure-timeout="120s" \\\n {4}op monitor interval=60s\n/,
    );
    assert.equal(crmsh.match(/meta failure-timeout="120s"/g)?.length, 4);
    assert.match(
      cib,
      /<nvpair id="fence-ipmi-hv2-instance_attributes-pcmk_off_retries" name="pcmk_off_retries" value="1"\/>/,
    );
    assert.match(
      cib,
      /<meta_attributes id="fence-pdu-pdu-b-meta_attributes">\n {8}<nvpair id="fence-pdu-pdu-b-meta_attributes-failure-timeout" name="failure-timeout" value="120s"\/>\n {6}<\/meta_attributes>\n {6}<operations>/,
    );
  });

  it("a stonith_timeout below what fencing can take is refused at its line", async () => {
    const text = fs
      .readFileSync(path.join(FIXTURES, "two-node.yaml"), "utf8")
      .replace("  name: kvm-pair\n", "  name: kvm-pair\n  stonith_timeout: 60\n");
    const { inventory } = checkInventoryText("two.yaml", text);
    assert.throws(
      () => planOrError(inventory, "two.yaml"),
      (e: unknown) =>
        e instanceof InventoryError &&
        e.message ===
          "two.yaml:4:20: cluster.stonith_timeout: 60 s is shorter than fencing hv1 can take (IPMI reboot 85 + pdu-a off 45 + on 45 + delay 15 + pdu-b off 50 + on 50 + delay 15 = 305 s, + 20% = 370 s); expected at least 370, or leave it out",
    );
  });
});

describe("render: outputs", () => {
  for (const file of fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml"))) {
    it(`${file}: every format renders, the XML parses, the scripts pass sh -n`, async () => {
      const { inventory } = await loadInventory(path.join(FIXTURES, file));
      const pcs = (await renderFormat(inventory, "pcs", TEMPLATES, file))[0]?.text ?? "";
      const crmsh = await renderFormat(inventory, "crmsh", TEMPLATES, file);
      const cib = await renderFormat(inventory, "cib", TEMPLATES, file);
      assert.match(pcs, /^#!\/bin\/sh\n/);
      assert.doesNotMatch(pcs, /\{\{|\}\}/);
      assert.deepEqual(
        crmsh.map((f) => f.name),
        ["crmsh.crm", "crmsh-apply.sh"],
      );
      assert.deepEqual(
        cib.map((f) => f.name),
        ["cib.xml", "cib-apply.sh"],
      );
      const xml = (await parseStringPromise(cib[0]?.text ?? "")) as { configuration?: unknown };
      assert.ok(xml.configuration !== undefined);
      // Shell syntax of the scripts (sh -n parses without running).
      for (const text of [pcs, crmsh[1]?.text ?? "", cib[1]?.text ?? ""])
        execFileSync("/bin/sh", ["-n"], { input: text });
    });
  }
});

describe("render: policy, dependencies, remote nodes", () => {
  const remote = async () => (await loadInventory(path.join(FIXTURES, "remote.yaml"))).inventory;

  it("stickiness on by default, and the guests' meta from guest_defaults and their own keys", async () => {
    const plan = planCluster(await remote());
    assert.deepEqual(plan.resourceDefaults, [["resource-stickiness", "100"]]);
    const meta = new Map(plan.guests.map((g) => [g.id, new Map(g.meta)]));
    assert.deepEqual(
      [...(meta.get("web1") ?? [])],
      [
        ["allow-migrate", "true"],
        ["migration-threshold", "2"],
        ["failure-timeout", "300s"],
        ["priority", "10"],
      ],
    );
    // allow_migrate: false is deliberate: its kvmha check warning is waived with it, by a tag.
    assert.deepEqual(plan.waivers, [{ tag: "kvmha-waive-guest-no-migrate", ids: ["db1"] }]);
    assert.equal(meta.get("db1")?.get("migration-threshold"), "1");
    assert.equal(meta.get("batch1")?.get("target-role"), "Stopped");
    const web = new Map(plan.guests.map((g) => [g.id, new Map(g.params)]));
    assert.equal(web.get("web1")?.get("migrateport"), "49200");
    assert.equal(web.get("web1")?.get("migration_network_suffix"), "-mig");
    assert.equal(web.get("web2")?.get("migrateuri"), "tcp://%n-mig:49201");
    const noFailback = checkInventoryText(
      "x.yaml",
      fs
        .readFileSync(path.join(FIXTURES, "remote.yaml"), "utf8")
        .replace(
          "  # resource_stickiness: 100",
          "  resource_stickiness: 0\n  waive: [rules-not-evaluated]",
        ),
    ).inventory;
    const plan0 = planCluster(noFailback);
    assert.deepEqual(plan0.resourceDefaults, []);
    // The cluster's waivers cover every resource kvmha creates.
    const created = [
      ...plan0.devices.map((d) => d.id),
      "hv4",
      "hv5",
      ...plan0.guests.map((g) => g.id),
    ];
    assert.deepEqual(plan0.waivers, [
      { tag: "kvmha-waive-rules-not-evaluated", ids: created },
      { tag: "kvmha-waive-no-stickiness", ids: created },
      { tag: "kvmha-waive-guest-no-migrate", ids: ["db1"] },
    ]);
    const crm = (await renderFormat(noFailback, "crmsh", TEMPLATES, "x"))[0]?.text ?? "";
    assert.match(crm, /^tag kvmha-waive-guest-no-migrate: db1$/m);
    const pcs = (await renderFormat(noFailback, "pcs", TEMPLATES, "x"))[0]?.text ?? "";
    assert.match(pcs, /^pcs_f tag create kvmha-waive-guest-no-migrate db1$/m);
  });

  it("every guest after and with the storage and libvirt clones it needs", async () => {
    const plan = planCluster(await remote());
    assert.equal(plan.dependencies.length, 8);
    assert.deepEqual(plan.dependencies.slice(0, 2), [
      {
        guest: "web1",
        clone: "vm-storage-clone",
        orderId: "web1-after-vm-storage-clone",
        colocationId: "web1-with-vm-storage-clone",
      },
      {
        guest: "web1",
        clone: "libvirtd-clone",
        orderId: "web1-after-libvirtd-clone",
        colocationId: "web1-with-libvirtd-clone",
      },
    ]);
    const pcs = (await renderFormat(await remote(), "pcs", TEMPLATES, "r.yaml"))[0]?.text ?? "";
    assert.match(
      pcs,
      /pcs_f constraint order start vm-storage-clone then start web1 kind=Mandatory id=web1-after-vm-storage-clone\n/,
    );
    const crm = (await renderFormat(await remote(), "crmsh", TEMPLATES, "r.yaml"))[0]?.text ?? "";
    assert.match(crm, /order web1-after-libvirtd-clone Mandatory: libvirtd-clone web1\n/);
    assert.match(crm, /colocation web1-with-libvirtd-clone inf: web1 libvirtd-clone\n/);
    assert.match(crm, /rsc_defaults rsc-options: resource-stickiness="100"\n/);
  });

  it("Pacemaker Remote nodes: a connection each, fenced by the same levels, their devices kept off nothing", async () => {
    const plan = planCluster(await remote());
    assert.deepEqual(plan.nodes, ["hv1", "hv2", "hv3", "hv4", "hv5"]);
    assert.deepEqual(
      plan.remotes.map((r) => [r.id, r.server, r.params]),
      [
        ["hv4", "10.4.1.14", [["reconnect_interval", "60s"]]],
        ["hv5", "hv5", [["reconnect_interval", "30s"]]],
      ],
    );
    assert.deepEqual(
      plan.levels.filter((l) => l.target === "hv4").map((l) => [l.index, l.devices.join(",")]),
      [
        [1, "fence-ipmi-hv4"],
        [2, "fence-pdu-pdu-a,fence-pdu-pdu-b"],
      ],
    );
    const ipmi = new Map(plan.devices.map((d) => [d.id, d]));
    assert.equal(ipmi.get("fence-ipmi-hv4")?.avoids, undefined);
    assert.equal(ipmi.get("fence-ipmi-hv1")?.avoids, "hv1");
    assert.deepEqual(
      plan.nodeUtilization.filter((n) => n.remote).map((n) => n.node),
      ["hv4", "hv5"],
    );
    const pcs = (await renderFormat(await remote(), "pcs", TEMPLATES, "r.yaml"))[0]?.text ?? "";
    // The connections exist before their levels: pcs checks that a level's node exists.
    assert.ok(
      pcs.indexOf("cluster node add-remote hv4 10.4.1.14") < pcs.indexOf("level add 1 hv4"),
    );
    const cib = (await renderFormat(await remote(), "cib", TEMPLATES, "r.yaml"))[0]?.text ?? "";
    assert.match(cib, /<node id="hv4" uname="hv4" type="remote">/);
    assert.match(cib, /<primitive id="hv5" class="ocf" provider="pacemaker" type="remote">/);
  });

  it("BMC keys: ipmitool_timeout (in the timeouts), method, the Kg key by reference", async () => {
    const plan = planCluster(await remote());
    const params = new Map(plan.devices.map((d) => [d.id, new Map(d.params)]));
    assert.equal(params.get("fence-ipmi-hv1")?.get("ipmitool_timeout"), "3");
    // 5 + 5 + 5 + 2 x 3 = 21 fixed, 20 + 2 x 3 = 26 per change: off 47 -> 50, reboot 73 -> 75.
    assert.equal(params.get("fence-ipmi-hv1")?.get("pcmk_reboot_timeout"), "75s");
    assert.equal(params.get("fence-ipmi-hv1")?.get("pcmk_off_timeout"), "50s");
    assert.equal(
      params.get("fence-ipmi-hv2")?.get("hexadecimal_kg_script"),
      "/bin/cat /etc/kvmha/hv2.kg",
    );
    assert.equal(params.get("fence-ipmi-hv3")?.get("method"), "onoff");
  });

  it("two-node fence races: pcmk_delay_base on the preferred node, pcmk_delay_max everywhere, or priority-fencing-delay", async () => {
    const two = fs.readFileSync(path.join(FIXTURES, "two-node.yaml"), "utf8");
    const race = (strategy: string): ReturnType<typeof planCluster> =>
      planCluster(
        checkInventoryText(
          "t.yaml",
          two
            .replace(
              "    preferred: hv1          # hv1 wins a fencing race: its IPMI device waits `delay` seconds\n",
              `    strategy: ${strategy}\n`,
            )
            .replace(
              "    config: /srv/vm/web1.xml\n",
              "    config: /srv/vm/web1.xml\n    priority: 10\n",
            ),
        ).inventory,
      );
    const param = (p: ReturnType<typeof planCluster>, id: string, name: string) =>
      new Map(p.devices.find((d) => d.id === id)?.params).get(name);
    const random = race("random");
    for (const id of ["fence-ipmi-hv1", "fence-ipmi-hv2", "fence-pdu-pdu-a", "fence-pdu-pdu-b"]) {
      assert.equal(param(random, id, "pcmk_delay_max"), "15s", id);
      assert.equal(param(random, id, "pcmk_delay_base"), undefined, id);
    }
    assert.equal(param(random, "fence-ipmi-hv2", "pcmk_reboot_timeout"), "85s");
    const priority = race("priority");
    assert.deepEqual(
      priority.properties.find(([n]) => n === "priority-fencing-delay"),
      ["priority-fencing-delay", "15s"],
    );
    for (const id of ["fence-ipmi-hv1", "fence-ipmi-hv2"]) {
      assert.equal(param(priority, id, "pcmk_delay_base"), undefined);
      assert.equal(param(priority, id, "pcmk_reboot_timeout"), "85s", "the delay comes first");
    }
    assert.match(priority.stonithTimeout.sum, /^priority-fencing-delay 15 \+ IPMI reboot 70 \+/);
    const preferred = race("preferred");
    assert.equal(param(preferred, "fence-ipmi-hv1", "pcmk_delay_base"), "15s");
    assert.equal(param(preferred, "fence-ipmi-hv2", "pcmk_delay_base"), undefined);
    const head =
      (await renderFormat(checkInventoryText("t.yaml", two).inventory, "pcs", TEMPLATES, "t"))[0]
        ?.text ?? "";
    assert.match(head, /# Fence race: fencing hv1 waits 15 s/);
  });
});

describe("render: for the Pacemaker generation", () => {
  it("pcs's score spelling: a bare score for pcs 0.11, score= for pcs 0.12", async () => {
    const { inventory } = await loadInventory(path.join(FIXTURES, "remote.yaml"));
    const two =
      (await renderFormat(inventory, "pcs", TEMPLATES, "r", { pacemaker: 2 }))[0]?.text ?? "";
    const three =
      (await renderFormat(inventory, "pcs", TEMPLATES, "r", { pacemaker: 3 }))[0]?.text ?? "";
    assert.match(two, /location add fence-ipmi-hv1-avoids-hv1 fence-ipmi-hv1 hv1 -- -INFINITY\n/);
    assert.match(
      three,
      /location add fence-ipmi-hv1-avoids-hv1 fence-ipmi-hv1 hv1 score=-INFINITY\n/,
    );
    assert.match(
      two,
      /colocation add web1 with libvirtd-clone INFINITY id=web1-with-libvirtd-clone\n/,
    );
    assert.match(
      three,
      /colocation add web1 with libvirtd-clone score=INFINITY id=web1-with-libvirtd-clone\n/,
    );
    assert.match(two, /^# for Pacemaker 2 \(pcs 0\.11, crmsh 4\.4\)\.$/m);
    assert.match(three, /^# for Pacemaker 3 \(pcs 0\.12, crmsh 5\)\.$/m);
    // Properties (placement-strategy) before any utilization: pcs 0.12 warns otherwise.
    assert.ok(three.indexOf("property set") < three.indexOf("utilization"));
  });

  it("the inventory's cluster.pacemaker, overridden by the command line's", async () => {
    const text = fs
      .readFileSync(path.join(FIXTURES, "two-node.yaml"), "utf8")
      .replace("  name: kvm-pair\n", "  name: kvm-pair\n  pacemaker: 3\n");
    const inv = checkInventoryText("t.yaml", text).inventory;
    assert.equal(planCluster(inv).pacemaker, 3);
    assert.equal(planCluster(inv, 2).pacemaker, 2);
    const withoutKey = (await loadInventory(path.join(FIXTURES, "two-node.yaml"))).inventory;
    assert.equal(planCluster(withoutKey).pacemaker, 2, "Pacemaker 2 when nothing says");
  });

  it("the host map is spelt by one function of the generation; both escape unit:outlet", async () => {
    const entries = [{ node: "node-1", outlets: ["1:3", "1:4"] }];
    assert.equal(hostMapFor(2, entries), "node-1:1\\:3,1\\:4");
    assert.equal(hostMapFor(3, entries), hostMapFor(2, entries));
    assert.equal(hostMap(entries), hostMapFor(2, entries));
    const { inventory } = await loadInventory(path.join(FIXTURES, "multi-outlet.yaml"));
    const map = (g: 2 | 3) =>
      new Map(planCluster(inventory, g).devices.find((d) => d.id === "fence-pdu-left")?.params).get(
        "pcmk_host_map",
      );
    assert.equal(map(3), "node-1:1\\:3,1\\:4;node-2:1\\:5,1\\:6;node-3:2\\:1,2\\:2,2\\:3");
    // crmsh and the CIB XML are the same for both, but for the generation they name.
    for (const format of ["crmsh", "cib"] as const) {
      const [a, b] = await Promise.all(
        ([2, 3] as const).map(async (g) =>
          (await renderFormat(inventory, format, TEMPLATES, "m", { pacemaker: g }))
            .map((f) => f.text)
            .join("")
            .replace(/Pacemaker [23] \(pcs 0\.1[12], crmsh [45](\.4)?\)/g, "GEN"),
        ),
      );
      assert.equal(a, b, format);
    }
  });
});

describe("render: ids", () => {
  for (const file of fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml"))) {
    it(`${file}: the ids checked before rendering are exactly the CIB XML's`, async () => {
      const { inventory } = await loadInventory(path.join(FIXTURES, file));
      const xml = (await renderFormat(inventory, "cib", undefined, file))[0]?.text ?? "";
      // A tag's obj_ref names what it lists, a remote node's entry is named after its connection:
      // neither is an id of its own.
      const inXml = [...xml.matchAll(/<(?!obj_ref |node )[a-z_-]+ id="([^"]*)"/g)]
        .map((m) => m[1])
        .sort();
      const listed = generatedIds(planCluster(inventory), inventory)
        .filter((g) => g.formats.includes("cib"))
        .map((g) => g.id)
        .sort();
      assert.deepEqual(listed, inXml);
      assert.equal(new Set(inXml).size, inXml.length, "no id twice");
    });
  }

  it("names whose ids collide, or that the cluster's tools use, are refused at their line", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-render-ids-"));
    try {
      const file = path.join(dir, "ids.yaml");
      fs.writeFileSync(
        file,
        [
          "cluster:",
          "  name: c",
          "nodes:",
          "  - name: a",
          "    bmc: { address: 10.0.0.1, password_file: /etc/p }",
          "    capacity: { cpu: 4 }",
          "  - name: a-avoids-a",
          "    bmc: { address: 10.0.0.2, password_file: /etc/p }",
          "    capacity: { cpu: 4 }",
          "guests:",
          "  - { name: cib-bootstrap-options, config: /srv/a.xml }",
          "  - { name: fencing-1, config: /srv/b.xml }",
          "  - { name: a-utilization, config: /srv/c.xml }",
          "  - { name: web, config: /srv/d.xml }",
          "  - { name: web-meta_attributes, config: /srv/e.xml }",
          "  - { name: nodes-1-utilization, config: /srv/f.xml }",
          "  - { name: web-monitor-10s, config: /srv/g.xml }",
          "",
        ].join("\n"),
      );
      const r = await cli([file]);
      assert.equal(r.code, 1);
      assert.equal(r.out, "");
      assert.deepEqual(r.err.trimEnd().split("\n"), [
        `${file}:7:11: nodes.a-avoids-a: the CIB id 'fence-ipmi-a-avoids-a' of the fencing device fence-ipmi-a-avoids-a is also the id of the constraint keeping fence-ipmi-a off a (nodes.a, line 4), and a CIB cannot hold both; expected names whose ids differ`,
        `${file}:11:13: guests.cib-bootstrap-options: the CIB id 'cib-bootstrap-options' of the guest cib-bootstrap-options is also the id of the cluster options set, and a CIB cannot hold both; expected names whose ids differ`,
        `${file}:12:13: guests.fencing-1: the CIB id 'fencing-1' (the guest fencing-1) is one the cluster's tools make for a fencing level as crmsh names it (fencing, fencing-0, …); expected another name`,
        `${file}:13:13: guests.a-utilization: the CIB id 'a-utilization' of the guest a-utilization is also the id of the utilization of node a (nodes.a, line 4), and a CIB cannot hold both; expected names whose ids differ`,
        `${file}:15:13: guests.web-meta_attributes: the CIB id 'web-meta_attributes' of the guest web-meta_attributes is also the id of the meta attribute set of web (guests.web, line 14), and a CIB cannot hold both; expected names whose ids differ`,
        `${file}:16:13: guests.nodes-1-utilization: the CIB id 'nodes-1-utilization' (the guest nodes-1-utilization) is one the cluster's tools make for a node's attribute sets (nodes-<node id>-…), as pcs and Pacemaker name them; expected another name`,
        `${file}:17:13: guests.web-monitor-10s: the CIB id 'web-monitor-10s' of the guest web-monitor-10s is also the id of web's monitor operation (guests.web, line 14), and a CIB cannot hold both; expected names whose ids differ`,
        `${file}:2:3: warning: no PDUs and no SBD: a node that loses all power (its BMC with it) cannot be fenced, and its guests stay down until an admin confirms it is off (stonith_admin --confirm)`,
        `kvmha render: ${file}: 7 errors, nothing rendered`,
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("render: what the files say about secrets", () => {
  it("no comment claims a secret is read or copied into the CIB; each says none is", async () => {
    const { inventory } = await loadInventory(path.join(FIXTURES, "two-node.yaml"));
    for (const format of ["pcs", "crmsh", "cib"] as const) {
      const files = await renderFormat(inventory, format, undefined, "two-node.yaml");
      const all = files.map((f) => f.text).join("\n");
      assert.doesNotMatch(all, /read from their (root-only )?files|copied into the CIB/i, format);
      assert.match(all, /No secret is (written|in this file)[^:]*: the agents read them/, format);
    }
  });
});

/** Runs `kvmha render` in-process with its output captured; a thrown KvmhaError gives its exit code. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io = { out: (s: string) => void (out += s), err: (s: string) => void (err += s) };
  try {
    return { code: await main(args, io), out, err };
  } catch (x) {
    assert.ok(x instanceof KvmhaError, String(x));
    return { code: x.exitCode, out, err: err + x.message };
  }
}

describe("render: the command line", () => {
  it("a stonith_timeout the plan refuses is said as every inventory error is: FILE:LINE:COL, then the count", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-render-st-"));
    try {
      const file = path.join(dir, "two.yaml");
      fs.writeFileSync(
        file,
        fs
          .readFileSync(path.join(FIXTURES, "two-node.yaml"), "utf8")
          .replace("  name: kvm-pair\n", "  name: kvm-pair\n  stonith_timeout: 60\n"),
      );
      const r = await cli([file]);
      assert.equal(r.code, 1);
      assert.equal(r.out, "");
      assert.deepEqual(r.err.trimEnd().split("\n"), [
        `${file}:4:20: cluster.stonith_timeout: 60 s is shorter than fencing hv1 can take (IPMI reboot 85 + pdu-a off 45 + on 45 + delay 15 + pdu-b off 50 + on 50 + delay 15 = 305 s, + 20% = 370 s); expected at least 370, or leave it out`,
        `kvmha render: ${file}: 1 error, nothing rendered`,
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prints the pcs script by default; writes every file with --output", async () => {
    const two = path.join(FIXTURES, "two-node.yaml");
    const r = await cli([two]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /pcs_f stonith create fence-ipmi-hv1 fence_ipmi/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-render-unit-"));
    try {
      const w = await cli([two, "--output", dir]);
      assert.equal(w.code, 0, w.err);
      assert.deepEqual(fs.readdirSync(dir).sort(), [
        "cib-apply.sh",
        "cib.xml",
        "crmsh-apply.sh",
        "crmsh.crm",
        "pcs.sh",
      ]);
      assert.equal(fs.statSync(path.join(dir, "pcs.sh")).mode & 0o777, 0o755);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it("an adapted template that does not fit, or an output that cannot be written, is one line and exit 1", async () => {
    const two = path.join(FIXTURES, "two-node.yaml");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-render-unit-"));
    try {
      for (const f of Object.values(TEMPLATE_FILES))
        fs.copyFileSync(path.join(TEMPLATES, f), path.join(dir, f));
      fs.writeFileSync(
        path.join(dir, "pcs.sh.tmpl"),
        fs.readFileSync(path.join(dir, "pcs.sh.tmpl"), "utf8").replace("{{budget}}", "{{budgt}}"),
      );
      const r = await cli([two, "--templates", dir]);
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /pcs\.sh\.tmpl: section 'device' uses \{\{budgt\}\}, which the renderer does not provide/,
      );
      // Node's recursive mkdir never returns under /proc: the output directory is made alone.
      const p = await cli([two, "--output", "/proc/kvmha-no/such"]);
      assert.equal(p.code, 1);
      assert.match(
        p.err,
        /cannot create \/proc\/kvmha-no\/such: ENOENT \(its parent directory must exist\)/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it("--pacemaker, else the inventory's, else the live cluster's, else this machine's pacemakerd's", async () => {
    const two = path.join(FIXTURES, "two-node.yaml");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-render-gen-"));
    const saved = process.env.PATH;
    const stand = (name: string, script: string): void =>
      fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    const cib = path.join(dir, "cib.xml");
    try {
      process.env.PATH = `${dir}:${saved ?? "/usr/bin:/bin"}`;
      // A live cluster: its DC's version wins (read-only: cibadmin --query).
      fs.writeFileSync(
        cib,
        '<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config><cluster_property_set id="cib-bootstrap-options"><nvpair id="v" name="dc-version" value="3.0.0-d8340737c4"/></cluster_property_set></crm_config><nodes/><resources/><constraints/></configuration><status/></cib>',
      );
      stand("cibadmin", `[ "$1" = --query ] || exit 64\nexec cat '${cib}'`);
      stand("pacemakerd", "echo 'Pacemaker 2.1.5'");
      let r = await cli([two]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /score=-INFINITY/);
      assert.match(
        r.err,
        /^kvmha render: for Pacemaker 3 \(pcs 0\.12, crmsh 5\), from the live cluster's CIB \(dc-version 3\.0\.0-d8340737c4\) \(--pacemaker 2\|3 or cluster\.pacemaker chooses\)$/m,
      );
      // The command line wins, silently.
      r = await cli([two, "--pacemaker", "2"]);
      assert.match(r.out, /-- -INFINITY/);
      assert.equal(r.err, "");
      // No cluster: this machine's Pacemaker.
      stand("cibadmin", "echo 'Could not connect to the CIB' >&2; exit 102");
      stand("pacemakerd", "echo 'Pacemaker 3.0.0'; echo 'Written by Andrew Beekhof'");
      r = await cli([two]);
      assert.match(r.out, /score=-INFINITY/);
      assert.match(r.err, /from pacemakerd --version on this machine \(Pacemaker 3\.0\.0\)/);
      // Neither: Pacemaker 2, said so.
      stand("pacemakerd", "exit 1");
      r = await cli([two]);
      assert.match(r.out, /-- -INFINITY/);
      assert.match(
        r.err,
        /for Pacemaker 2 .*from the default: no cluster answered and no pacemakerd here/,
      );
      assert.match((await cli([two, "--pacemaker", "4"])).err, /--pacemaker '4' is not 2 or 3/);
    } finally {
      process.env.PATH = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("usage errors exit 2", async () => {
    assert.equal((await cli([])).code, 2);
    assert.equal((await cli(["x.yaml", "--bogus"])).code, 2);
    assert.equal((await cli(["x.yaml", "--format", "xml"])).code, 2);
    assert.equal((await cli(["x.yaml", "--format", "all"])).code, 2);
    assert.equal((await cli(["--help"])).code, 0);
  });
  it("usage errors are one line naming --help, never the whole usage; --version; prefixes", async () => {
    for (const args of [
      [],
      ["x.yaml", "--bogus"],
      ["x.yaml", "-f", "xml"],
      ["x.yaml", "--output="],
      ["a", "b"],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, /^kvmha render: ERROR: .*\(kvmha render --help\)\n$/, args.join(" "));
    }
    const v = await cli(["--version"]);
    assert.equal(v.code, 0);
    assert.match(v.out, /^kvmha \d+\.\d+\.\d+/);
    // A unique prefix works as in the agents: --form is --format.
    assert.match((await cli(["x.yaml", "--form", "xml"])).err, /--format 'xml' is not one of/);
    const help = await cli(["--help"]);
    assert.match(help.out, /^ {2}-f, --format FORMAT /m);
    assert.match(help.out, /^ {2}-o, --output DIR /m);
    for (const line of help.out.split("\n")) assert.ok(line.length <= 80, line);
  });
  it("a bad inventory exits 1 with every error as FILE:LINE:COL", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-render-unit-"));
    try {
      const bad = path.join(dir, "bad.yaml");
      fs.writeFileSync(
        bad,
        "cluster:\n  nme: x\nnodes:\n  - name: a\n  - name: b\n    bmc: { address: 1.2.3.4.5 }\n",
      );
      const r = await cli([bad]);
      assert.equal(r.code, 1);
      assert.equal(r.out, "");
      const lines = r.err.trim().split("\n");
      assert.deepEqual(lines, [
        `${bad}:2:3: unknown key 'nme' in cluster (did you mean 'name'?); expected one of name, stonith_timeout, placement_strategy, two_node, sbd, pacemaker, resource_stickiness, waive`,
        `${bad}:2:3: cluster.name is missing; expected a cluster name (letters, digits, ._-)`,
        `${bad}:4:11: nodes.a: no way to fence this node; expected bmc, power or cluster.sbd`,
        `${bad}:6:10: nodes.b.bmc: the BMC password is missing; expected password_file (a root-only file) or password_script (a command printing it)`,
        `${bad}:6:21: nodes.b.bmc.address: '1.2.3.4.5' is not valid, expected the BMC's IPv4/IPv6 address or host name`,
        `kvmha render: ${bad}: 5 errors, nothing rendered`,
      ]);
      const missing = await cli([path.join(dir, "nope.yaml")]);
      assert.equal(missing.code, 1);
      assert.match(missing.err, /nope\.yaml: cannot read the inventory: no such file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
