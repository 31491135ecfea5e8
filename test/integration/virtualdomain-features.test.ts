// Why one file: every feature here is tested against the one libvirtd (test driver) it starts once.
// ocf:kvmha:VirtualDomain's newer features against the lab's libvirtd with the test driver:
// utilization written only on change (a fake crm_resource on PATH logs its calls), persistent
// definitions kept across start/stop, validate-all's environment checks (OCF_CHECK_LEVEL=10),
// reload-agent, save_config, start_resources, snapshot, backingfile (QEMU guests:
// virtualdomain-qemu.test.ts).
// Run: node --import tsx --test test/integration/virtualdomain-features.test.ts

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { execFileSync } from "node:child_process";
import { startLibvirt, type Libvirt } from "../lab/libvirt-daemon.js";
import {
  logLines,
  runVirtualDomain,
  showRun,
  standInCrmResource,
  testResource,
} from "../lab/libvirt-ocf.js";

const agent = runVirtualDomain;
const show = showRun;

const testXml = (
  name: string,
  o: { vcpu?: number; memMib?: number; uuid?: string; extra?: string } = {},
): string =>
  `<domain type='test'>\n  <name>${name}</name>\n${o.uuid === undefined ? "" : `  <uuid>${o.uuid}</uuid>\n`}  <memory unit='MiB'>${o.memMib ?? 64}</memory>\n  <vcpu>${o.vcpu ?? 1}</vcpu>\n  <os><type>hvm</type></os>\n${o.extra ?? ""}</domain>\n`;

describe("VirtualDomain features with the test driver", { timeout: 180_000 }, () => {
  let lv: Libvirt;
  let dir: string;
  let n = 0;
  const resource = (
    xml: (name: string) => string = (nm) => testXml(nm),
    extra: Record<string, string> = {},
  ) => {
    n++;
    return testResource(dir, `vd-f${n}`, `f${n}`, lv.testUri, xml, extra);
  };
  const fakeCrmResource = (code = 0) => standInCrmResource(dir, code);
  const calls = logLines;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "vd-feat-"));
    lv = await startLibvirt();
    await lv.holdTestDriver();
  });
  after(async () => {
    await lv?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("utilization: written on the first monitor, not again, again when the XML changes; unset deletes once", async () => {
    const { env, config, name } = resource((nm) => testXml(nm, { vcpu: 2, memMib: 96 }));
    const crm = fakeCrmResource();
    const e = { ...env, PATH: crm.PATH, OCF_RESKEY_CRM_meta_interval: "10000" };
    let r = await agent("start", e);
    assert.equal(r.code, 0, show(r));
    const inst = env.OCF_RESOURCE_INSTANCE;
    assert.deepEqual(calls(crm.log), [
      `--resource ${inst} --utilization --set-parameter cpu --parameter-value 2`,
      `--resource ${inst} --utilization --set-parameter hv_memory --parameter-value 96`,
      `--resource ${inst} --utilization --set-parameter host_memory --parameter-value 96`,
    ]);
    fs.writeFileSync(crm.log, "");
    for (let i = 0; i < 2; i++) {
      r = await agent("monitor", e);
      assert.equal(r.code, 0, show(r));
    }
    assert.deepEqual(calls(crm.log), [], "a steady-state monitor writes nothing");
    fs.writeFileSync(config, testXml(name, { vcpu: 3, memMib: 96 }));
    r = await agent("monitor", e);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(calls(crm.log), [
      `--resource ${inst} --utilization --set-parameter cpu --parameter-value 3`,
    ]);
    fs.writeFileSync(crm.log, "");
    const off = {
      ...e,
      OCF_RESKEY_autoset_utilization_cpu: "false",
      OCF_RESKEY_unset_utilization_cpu: "true",
      OCF_RESKEY_autoset_utilization_hv_memory: "false",
    };
    r = await agent("monitor", off);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(calls(crm.log), [`--resource ${inst} --utilization --delete-parameter cpu`]);
    r = await agent("monitor", off);
    assert.deepEqual(
      calls(crm.log),
      [`--resource ${inst} --utilization --delete-parameter cpu`],
      "deleted once",
    );
    // Autoset again: written again.
    r = await agent("monitor", e);
    assert.equal(
      calls(crm.log).at(-1),
      `--resource ${inst} --utilization --set-parameter cpu --parameter-value 3`,
    );
    // A new start writes every value again (a value changed by hand in the CIB is set right).
    assert.equal((await agent("stop", e)).code, 0);
    fs.writeFileSync(crm.log, "");
    r = await agent("start", e);
    assert.equal(r.code, 0, show(r));
    assert.equal(calls(crm.log).length, 3);
    assert.equal((await agent("stop", e)).code, 0);
  });

  test("utilization with the real crm_resource on a CIB file (CIB_file): the attributes land in the resource", async () => {
    const { env, name } = resource((nm) => testXml(nm, { vcpu: 2, memMib: 96 }));
    const cib = path.join(dir, `cib-${name}.xml`);
    fs.writeFileSync(
      cib,
      execFileSync("cibadmin", ["--empty"], { encoding: "utf8", timeout: 20_000 }),
    );
    const inst = env.OCF_RESOURCE_INSTANCE!;
    execFileSync(
      "cibadmin",
      [
        "-C",
        "-o",
        "resources",
        "-X",
        `<primitive id="${inst}" class="ocf" provider="kvmha" type="VirtualDomain"/>`,
      ],
      { env: { ...process.env, CIB_file: cib }, timeout: 20_000 },
    );
    // The real crm_resource (Pacemaker's), pointed at the file: no live CIB is touched.
    const e = {
      ...env,
      PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      CIB_file: cib,
      OCF_RESKEY_CRM_meta_interval: "10000",
    };
    const utilization = (): string[] =>
      [
        ...fs
          .readFileSync(cib, "utf8")
          .matchAll(/<nvpair id="[^"]*-utilization-[^"]*" name="([^"]+)" value="([^"]+)"\/>/g),
      ]
        .map((m) => `${m[1]}=${m[2]}`)
        .sort();
    let r = await agent("start", e);
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.err, /WARNING/);
    assert.deepEqual(utilization(), ["cpu=2", "host_memory=96", "hv_memory=96"]);
    r = await agent("monitor", {
      ...e,
      OCF_RESKEY_autoset_utilization_cpu: "false",
      OCF_RESKEY_unset_utilization_cpu: "true",
    });
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(utilization(), ["host_memory=96", "hv_memory=96"]);
    assert.equal((await agent("stop", e)).code, 0);
  });

  test("utilization: a failing crm_resource is a warning, one call, then held back", async () => {
    const { env } = resource((nm) => testXml(nm, { vcpu: 2 }));
    const crm = fakeCrmResource(1);
    const e = { ...env, PATH: crm.PATH, OCF_RESKEY_CRM_meta_interval: "10000" };
    let r = await agent("start", e);
    assert.equal(r.code, 0, show(r));
    assert.match(
      r.err,
      /WARNING: crm_resource failed to set utilization attribute cpu to 2: exit 1: Could not connect to the CIB; retrying in 60 s/,
    );
    assert.equal(calls(crm.log).length, 1);
    r = await agent("monitor", e);
    assert.equal(r.code, 0, show(r));
    assert.equal(calls(crm.log).length, 1, "held back after a failure");
    // No crm_resource at all: still a warning only.
    r = await agent("monitor", {
      ...e,
      PATH: "/usr/bin:/bin",
      HA_RSCTMP: path.join(dir, "rsctmp-nocrm"),
    });
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /crm_resource failed .*cannot run \(ENOENT\)/);
    assert.equal((await agent("stop", e)).code, 0);
  });

  test("persistent definition with the same UUID: start runs the file, stop leaves the definition unchanged", async () => {
    const uuid = "0e3a59b4-6a0c-4a51-9d5c-5b0d1f0a7c01";
    const { env, name } = resource(
      (nm) =>
        testXml(nm, {
          uuid,
          vcpu: 2,
          extra: "  <description>from the config file</description>\n",
        }),
      { HA_VARLIB: path.join(dir, "varlib-same") },
    );
    const persistentFile = path.join(dir, `${name}-persistent.xml`);
    fs.writeFileSync(
      persistentFile,
      testXml(name, { uuid, vcpu: 1, extra: "  <description>the admin's own</description>\n" }),
    );
    await lv.virshOk(["define", persistentFile], { uri: lv.testUri });
    await lv.virshOk(["autostart", name], { uri: lv.testUri });
    const before = await lv.virshOk(["dumpxml", "--inactive", name], { uri: lv.testUri });
    let r = await agent("validate-all", { ...env, OCF_CHECK_LEVEL: "10" });
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /WARNING: domain .* is defined here with autostart on/);
    r = await agent("start", env);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /persistent definition stays/);
    // A kept definition must not autostart: libvirtd would start the guest behind Pacemaker's back.
    assert.match(r.err, /WARNING: domain .* was set to autostart: turned off/);
    assert.match(await lv.virshOk(["dominfo", name], { uri: lv.testUri }), /Autostart:\s+disable/);
    assert.doesNotMatch(r.err, /undefine/);
    // The file's XML is what runs; the persistent definition is still there.
    assert.match(await lv.virshOk(["dumpxml", name], { uri: lv.testUri }), /from the config file/);
    assert.match(
      await lv.virshOk(["dominfo", name], { uri: lv.testUri }),
      /CPU\(s\):\s+2[\s\S]*Persistent:\s+yes/,
    );
    assert.equal(
      (await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "10000" })).code,
      0,
    );
    r = await agent("stop", env);
    assert.equal(r.code, 0, show(r));
    assert.match(
      await lv.virshOk(["list", "--all", "--persistent", "--name"], { uri: lv.testUri }),
      new RegExp(`^${name}$`, "m"),
    );
    assert.equal(await lv.virshOk(["dumpxml", "--inactive", name], { uri: lv.testUri }), before);
    // Defined without autostart now: validate-all at depth 10 still says a second copy can start.
    r = await agent("validate-all", { ...env, OCF_CHECK_LEVEL: "10" });
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /WARNING: domain .* is defined persistently here: virsh start/);
    assert.equal((await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "0" })).code, 7);
    assert.equal(
      fs.existsSync(path.join(dir, "varlib-same", "VirtualDomain")),
      false,
      "nothing set aside",
    );
    await lv.virshOk(["undefine", name], { uri: lv.testUri });
  });

  test("persistent definition with another UUID: saved, undefined, defined again by stop; unchanged", async () => {
    const varlib = path.join(dir, "varlib-other");
    const { env, name, config } = resource(
      (nm) => testXml(nm, { uuid: "0e3a59b4-6a0c-4a51-9d5c-5b0d1f0a7c02" }),
      { HA_VARLIB: varlib },
    );
    const persistentFile = path.join(dir, `${name}-persistent.xml`);
    fs.writeFileSync(
      persistentFile,
      testXml(name, {
        uuid: "0e3a59b4-6a0c-4a51-9d5c-5b0d1f0a7c03",
        extra: "  <description>keep me</description>\n",
      }),
    );
    await lv.virshOk(["define", persistentFile], { uri: lv.testUri });
    const before = await lv.virshOk(["dumpxml", "--inactive", name], { uri: lv.testUri });
    let r = await agent("start", env);
    assert.equal(r.code, 0, show(r));
    assert.match(
      r.err,
      /WARNING: domain .* with another UUID than .*: its definition is saved in .* and is defined again on stop/,
    );
    const saved = path.join(varlib, "VirtualDomain", `${env.OCF_RESOURCE_INSTANCE}.persistent.xml`);
    assert.match(fs.readFileSync(saved, "utf8"), /keep me/);
    assert.match(await lv.virshOk(["domuuid", name], { uri: lv.testUri }), /7c02/);
    r = await agent("stop", env);
    assert.equal(r.code, 0, show(r));
    assert.equal(await lv.virshOk(["dumpxml", "--inactive", name], { uri: lv.testUri }), before);
    assert.equal(fs.existsSync(saved), false);
    await lv.virshOk(["undefine", name], { uri: lv.testUri });
    assert.ok(config);
  });

  test("reload-agent: applies a changed utilization flag, leaves the domain running", async () => {
    const { env, name } = resource((nm) => testXml(nm, { vcpu: 2 }));
    const crm = fakeCrmResource();
    const e = { ...env, PATH: crm.PATH };
    let r = await agent("start", e);
    assert.equal(r.code, 0, show(r));
    const id = (await lv.virshOk(["domid", name], { uri: lv.testUri })).trim();
    fs.writeFileSync(crm.log, "");
    r = await agent("reload-agent", {
      ...e,
      OCF_RESKEY_autoset_utilization_cpu: "false",
      OCF_RESKEY_unset_utilization_cpu: "true",
    });
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(calls(crm.log), [
      `--resource ${env.OCF_RESOURCE_INSTANCE} --utilization --delete-parameter cpu`,
    ]);
    assert.equal(
      (await lv.virshOk(["domid", name], { uri: lv.testUri })).trim(),
      id,
      "the same domain runs (not restarted)",
    );
    assert.equal((await agent("stop", e)).code, 0);
    // Nothing runs: reload-agent succeeds and does nothing.
    fs.writeFileSync(crm.log, "");
    r = await agent("reload-agent", { ...e, OCF_RESKEY_autoset_utilization_cpu: "true" });
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(calls(crm.log), []);
  });

  test("save_config_on_stop: the running configuration back into the file on stop, mode kept; sync_config_on_stop runs csync2 -x", async () => {
    const { env, config, name } = resource();
    fs.chmodSync(config, 0o640);
    const original = fs.readFileSync(config, "utf8");
    const e = { ...env, OCF_RESKEY_save_config_on_stop: "true" };
    assert.equal((await agent("validate-all", e)).code, 0);
    let r = await agent("start", e);
    assert.equal(r.code, 0, show(r));
    const uuid = (await lv.virshOk(["domuuid", name], { uri: lv.testUri })).trim();
    r = await agent("stop", e);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /saved domain vd-f\d+'s configuration to /);
    const saved = fs.readFileSync(config, "utf8");
    assert.notEqual(saved, original);
    assert.match(saved, new RegExp(`<uuid>${uuid}</uuid>`));
    assert.doesNotMatch(saved, /<domain[^>]* id=/);
    assert.equal(fs.statSync(config).mode & 0o777, 0o640);
    assert.deepEqual(
      fs.readdirSync(path.dirname(config)).filter((f) => f.endsWith(".tmp")),
      [],
      "no temporary file left",
    );
    // Saved once, the same configuration again: nothing written.
    r = await agent("start", e);
    assert.equal(r.code, 0, show(r));
    const crm = fakeCrmResource();
    const csync = path.join(path.dirname(crm.log), "csync2");
    fs.writeFileSync(csync, `#!/bin/sh\necho "csync2 $*" >> '${crm.log}'\n`, { mode: 0o755 });
    r = await agent("stop", {
      ...e,
      PATH: crm.PATH,
      OCF_RESKEY_sync_config_on_stop: "true",
      OCF_RESKEY_save_config_on_stop: "false",
    });
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.err, /saved domain/);
    assert.equal(fs.readFileSync(config, "utf8"), saved);
    assert.deepEqual(
      calls(crm.log).filter((l) => l.startsWith("csync2")),
      [],
    );
    // A change to the running domain (here: a new file with another description) is saved and synced.
    fs.writeFileSync(
      config,
      testXml(name, { uuid, extra: "  <description>changed</description>\n" }),
    );
    r = await agent("start", { ...e, PATH: crm.PATH });
    assert.equal(r.code, 0, show(r));
    fs.writeFileSync(config, saved);
    r = await agent("stop", { ...e, PATH: crm.PATH, OCF_RESKEY_sync_config_on_stop: "true" });
    assert.equal(r.code, 0, show(r));
    assert.match(fs.readFileSync(config, "utf8"), /<description>changed<\/description>/);
    assert.deepEqual(
      calls(crm.log).filter((l) => l.startsWith("csync2")),
      [`csync2 -x ${config}`],
    );
    // Without csync2: sync_config_on_stop is refused where it would be needed.
    r = await agent("validate-all", {
      ...e,
      PATH: "/usr/bin:/bin",
      OCF_RESKEY_sync_config_on_stop: "true",
    });
    assert.equal(r.code, 5, show(r));
    assert.match(r.err, /ocf-exit-reason:csync2: required binary not installed/);
  });

  test("start_resources: inactive pool and network started before the domain; a missing one fails start with the reason", async () => {
    const poolDir = fs.mkdtempSync(path.join(dir, "pool-"));
    await lv.virshOk(["pool-define-as", "vd-pool", "dir", "--target", poolDir], {
      uri: lv.testUri,
    });
    const netXml = path.join(dir, "vd-net.xml");
    fs.writeFileSync(netXml, "<network><name>vd-net</name><bridge name='vdnet0'/></network>\n");
    await lv.virshOk(["net-define", netXml], { uri: lv.testUri });
    const devices =
      "  <devices>\n    <disk type='volume' device='disk'><source pool='vd-pool' volume='v1'/><target dev='vda'/></disk>\n    <interface type='network'><source network='vd-net'/></interface>\n  </devices>\n";
    const { env, name } = resource((nm) => testXml(nm, { extra: devices }), {
      OCF_RESKEY_start_resources: "true",
    });
    const active = async (): Promise<string> =>
      `${/State:\s+(\S+)/.exec(await lv.virshOk(["pool-info", "vd-pool"], { uri: lv.testUri }))?.[1]} ${/Active:\s+(\S+)/.exec(await lv.virshOk(["net-info", "vd-net"], { uri: lv.testUri }))?.[1]}`;
    assert.equal(await active(), "inactive no");
    let r = await agent("start", env);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /started storage pool vd-pool for domain vd-f\d+/);
    assert.match(r.err, /started virtual network vd-net for domain vd-f\d+/);
    assert.equal(await active(), "running yes");
    assert.equal(
      await lv.virshOk(["domstate", name], { uri: lv.testUri }).then((x) => x.trim()),
      "running",
    );
    assert.equal((await agent("stop", env)).code, 0);
    // Started already: nothing to start (the pool is refreshed).
    r = await agent("start", env);
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.err, /started (storage pool|virtual network)/);
    assert.equal((await agent("stop", env)).code, 0);
    // A network libvirt does not know: start fails before creating the domain.
    const other = resource(
      (nm) =>
        testXml(nm, {
          extra:
            "  <devices><interface type='network'><source network='vd-nonet'/></interface></devices>\n",
        }),
      { OCF_RESKEY_start_resources: "true" },
    );
    r = await agent("start", other.env);
    assert.equal(r.code, 1, show(r));
    assert.match(
      r.err,
      /^ocf-exit-reason:virtual network vd-nonet required by domain vd-f\d+: .*/m,
    );
    assert.match(
      await lv.virsh(["domstate", other.name], { uri: lv.testUri }).then((x) => x.stderr),
      /not found|failed to get domain/i,
    );
  });

  test("snapshot: stop saves the state, start restores it and removes the file; a failed save falls back to shutdown; a failed restore fails start", async () => {
    const snap = fs.mkdtempSync(path.join(dir, "snap-"));
    const { env, name } = resource(undefined, { OCF_RESKEY_snapshot: snap });
    const state = path.join(snap, `${name}.state`);
    let r = await agent("start", env);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /created from/);
    const uuid = (await lv.virshOk(["domuuid", name], { uri: lv.testUri })).trim();
    r = await agent("stop", env);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, new RegExp(`domain ${name} saved to ${state} and stopped`));
    assert.doesNotMatch(r.err, /gracefully/);
    assert.ok(fs.existsSync(state));
    assert.equal((await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "0" })).code, 7);
    r = await agent("start", env);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, new RegExp(`domain ${name} restored from ${state}`));
    assert.equal(fs.existsSync(state), false);
    assert.equal(
      (await lv.virshOk(["domuuid", name], { uri: lv.testUri })).trim(),
      uuid,
      "the saved domain came back",
    );
    // No directory to save into: an error in the log, then the usual shutdown.
    r = await agent("stop", { ...env, OCF_RESKEY_snapshot: path.join(snap, "missing") });
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /ERROR: failed to save domain .*'s state to /);
    assert.match(r.err, /shut down gracefully/);
    // A state file that is not one: start fails with the reason and keeps the file.
    fs.writeFileSync(state, "not a saved domain");
    r = await agent("start", env);
    assert.equal(r.code, 1, show(r));
    assert.match(
      r.err,
      new RegExp(`^ocf-exit-reason:failed to restore domain ${name} from ${state}: `, "m"),
    );
    assert.ok(fs.existsSync(state));
    // force_stop and snapshot together are refused (as the reference).
    r = await agent("validate-all", { ...env, OCF_RESKEY_force_stop: "true" });
    assert.equal(r.code, 6, show(r));
  });

  test("backingfile: the qcow2 image is created on it, the domain defined and started; kept across starts, re-created with stateless; copyindirs", async () => {
    const base = path.join(dir, "base.raw");
    execFileSync("qemu-img", ["create", "-q", "-f", "raw", base, "8M"], { timeout: 20_000 });
    const vmDir = fs.mkdtempSync(path.join(dir, "cow-"));
    const { env, name } = resource(
      (nm) => testXml(nm, { uuid: "0e3a59b4-6a0c-4a51-9d5c-5b0d1f0a7c10" }),
      { OCF_RESKEY_backingfile: base },
    );
    // The config file in its own directory, with a dotted name: the image is NAME.qcow2 beside it.
    const config = path.join(vmDir, `${name}.domain.xml`);
    fs.renameSync(env.OCF_RESKEY_config!, config);
    const e = { ...env, OCF_RESKEY_config: config };
    const image = path.join(vmDir, `${name}.qcow2`);
    let r = await agent("start", e);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, new RegExp(`created ${image} on backing file ${base} \\(raw\\)`));
    const info = JSON.parse(
      execFileSync("qemu-img", ["info", "--output=json", "-U", image], {
        encoding: "utf8",
        timeout: 20_000,
      }),
    ) as { format: string; "backing-filename"?: string };
    assert.equal(info.format, "qcow2");
    assert.equal(info["backing-filename"], base);
    assert.match(
      await lv.virshOk(["dominfo", name], { uri: lv.testUri }),
      /State:\s+running[\s\S]*Persistent:\s+yes/,
    );
    r = await agent("stop", e);
    assert.equal(r.code, 0, show(r));
    assert.equal(
      (await lv.virshOk(["domstate", name], { uri: lv.testUri })).trim(),
      "shut off",
      "defined, as the reference leaves it",
    );
    assert.equal((await agent("monitor", { ...e, OCF_RESKEY_CRM_meta_interval: "0" })).code, 7);
    // Not stateless: the image (and what the guest wrote) is kept.
    fs.utimesSync(image, 0, 0);
    r = await agent("start", e);
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.err, /created /);
    assert.equal(fs.statSync(image).mtimeMs, 0);
    assert.equal((await agent("stop", e)).code, 0);
    // stateless: a fresh image at every start; copyindirs goes into it (virt-copy-in, here a
    // stand-in that logs its arguments: libguestfs is not in the lab).
    const crm = fakeCrmResource();
    fs.writeFileSync(
      path.join(path.dirname(crm.log), "virt-copy-in"),
      `#!/bin/sh\necho "virt-copy-in $*" >> '${crm.log}'\n`,
      { mode: 0o755 },
    );
    r = await agent("start", {
      ...e,
      PATH: crm.PATH,
      OCF_RESKEY_stateless: "true",
      OCF_RESKEY_copyindirs: "/srv/a /srv/b",
    });
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /, stateless/);
    assert.ok(fs.statSync(image).mtimeMs > 0);
    assert.deepEqual(
      calls(crm.log).filter((l) => l.startsWith("virt-copy-in")),
      [`virt-copy-in -d ${name} -c ${lv.testUri} /srv/a /srv/b /`],
    );
    assert.equal((await agent("stop", e)).code, 0);
    // Without virt-copy-in, copyindirs is refused where it would run.
    r = await agent("validate-all", {
      ...e,
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      OCF_RESKEY_copyindirs: "/srv/a",
    });
    assert.equal(r.code, 5, show(r));
    assert.match(r.err, /ocf-exit-reason:virt-copy-in: required binary not installed/);
    await lv.virshOk(["undefine", name], { uri: lv.testUri });
    // A backing file that is not there: not installed here.
    r = await agent("validate-all", {
      ...e,
      OCF_RESKEY_backingfile: path.join(dir, "no-base.raw"),
    });
    assert.equal(r.code, 5, show(r));
    assert.match(
      r.err,
      /ocf-exit-reason:backing file .*no-base\.raw does not exist or is not readable/,
    );
  });

  test("validate-all at OCF_CHECK_LEVEL=10: hypervisor reachable, emulator present", async () => {
    const { env, config, name } = resource();
    const deep = { ...env, OCF_CHECK_LEVEL: "10" };
    let r = await agent("validate-all", deep);
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.err, /lock manager/, "the test driver has no disks to lock");
    r = await agent("validate-all", {
      ...deep,
      OCF_RESKEY_hypervisor: `test+unix:///default?socket=${dir}/no-such-sock`,
    });
    assert.equal(r.code, 1, show(r));
    assert.match(
      r.err,
      /^ocf-exit-reason:hypervisor test\+unix:.* not reachable: .*[Ff]ailed to connect/m,
    );
    // At level 0 the hypervisor is not asked.
    r = await agent("validate-all", {
      ...env,
      OCF_RESKEY_hypervisor: `test+unix:///default?socket=${dir}/no-such-sock`,
    });
    assert.equal(r.code, 0, show(r));
    // An emulator that is not here: not installed, for validate-all (any level) and start.
    fs.writeFileSync(
      config,
      testXml(name, {
        extra: "  <devices><emulator>/nonexistent/qemu-system-x86_64</emulator></devices>\n",
      }),
    );
    for (const [action, e] of [
      ["validate-all", env],
      ["validate-all", deep],
      ["start", env],
    ] as const) {
      r = await agent(action, e);
      assert.equal(r.code, 5, `${action}: ${show(r)}`);
      assert.match(
        r.err,
        /^ocf-exit-reason:emulator \/nonexistent\/qemu-system-x86_64 of domain vd-f\d+ is missing on this node$/m,
      );
    }
    const notExec = path.join(dir, "not-executable");
    fs.writeFileSync(notExec, "", { mode: 0o644 });
    fs.writeFileSync(
      config,
      testXml(name, { extra: `  <devices><emulator>${notExec}</emulator></devices>\n` }),
    );
    r = await agent("validate-all", env);
    assert.equal(r.code, 5, show(r));
    assert.match(r.err, /is not executable \(EACCES\) on this node/);
  });
});
