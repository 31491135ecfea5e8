// ocf:kvmha:VirtualDomain against the lab's private libvirtd: the test driver (fast) for start,
// stop, monitor, probes, a missing config file, libvirtd unreachable or hung; real QEMU guests
// (TCG) for graceful shutdown (shutdown_mode) against destroy.
// Run: node --import tsx --test test/integration/virtualdomain.test.ts

import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { Deadline } from "../../lib/deadline.js";
import { localEndpoint, remoteDomainState } from "../../lib/libvirt/remote.js";
import { startLibvirt, type Libvirt } from "../lab/libvirt-daemon.js";
import { runVirtualDomain, showRun, testResource } from "../lab/libvirt-ocf.js";
import { labGenerations } from "../lab/generation.js";
import { defineGuest, guestKernel } from "../lab/libvirt-guest.js";
import { assertBefore } from "../lab/bounds.js";

const agent = runVirtualDomain;
const show = showRun;

const testXml = (name: string): string =>
  `<domain type='test'>\n  <name>${name}</name>\n  <memory unit='MiB'>64</memory>\n  <os><type>hvm</type></os>\n</domain>\n`;

describe("VirtualDomain with the test driver", { timeout: 120_000 }, () => {
  let lv: Libvirt;
  let dir: string;
  let n = 0;
  /** A fresh resource: its own config file, HA_RSCTMP and instance name. */
  function resource(extra: Record<string, string> = {}): {
    env: Record<string, string>;
    name: string;
    config: string;
  } {
    n++;
    const name = `vd-t${n}`;
    const config = path.join(dir, `${name}.xml`);
    fs.writeFileSync(config, testXml(name));
    const rsctmp = path.join(dir, `rsctmp-${n}`);
    return {
      name,
      config,
      env: {
        OCF_RESOURCE_INSTANCE: `r${n}`,
        HA_RSCTMP: rsctmp,
        OCF_RESKEY_config: config,
        OCF_RESKEY_hypervisor: lv.testUri,
        ...extra,
      },
    };
  }
  async function domstate(name: string): Promise<string> {
    const r = await lv.virsh(["domstate", name], { uri: lv.testUri });
    return r.code === 0 ? r.stdout.trim() : `error: ${r.stderr.trim()}`;
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "vd-test-"));
    lv = await startLibvirt();
    await lv.holdTestDriver();
  });
  after(async () => {
    await lv?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("probe, start, monitor, start again, stop, stop again, probe", async () => {
    const { env, name } = resource();
    const probe = { ...env, OCF_RESKEY_CRM_meta_interval: "0" };
    let r = await agent("monitor", probe);
    assert.equal(r.code, 7, show(r));
    r = await agent("start", env);
    assert.equal(r.code, 0, show(r));
    assert.equal(await domstate(name), "running");
    assert.ok(
      fs.existsSync(path.join(env.HA_RSCTMP!, "VirtualDomain-r1.domain")) ||
        fs.readdirSync(env.HA_RSCTMP!).some((f) => f.endsWith(".domain")),
    );
    r = await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "10000" });
    assert.equal(r.code, 0, show(r));
    r = await agent("status", env);
    assert.equal(r.code, 0, show(r));
    r = await agent("start", env);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /already running/);
    r = await agent("stop", env);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /shut down gracefully/);
    assert.match(await domstate(name), /error: .*(failed to get domain|not found)/i);
    r = await agent("stop", env);
    assert.equal(r.code, 0, show(r));
    r = await agent("monitor", probe);
    assert.equal(r.code, 7, show(r));
  });

  test("force_stop destroys at once; a paused guest is running; validate-all", async () => {
    const { env, name } = resource({ OCF_RESKEY_force_stop: "true" });
    assert.equal((await agent("validate-all", env)).code, 0);
    let r = await agent("start", env);
    assert.equal(r.code, 0, show(r));
    await lv.virshOk(["suspend", name], { uri: lv.testUri });
    r = await agent("monitor", env);
    assert.equal(r.code, 0, show(r));
    r = await agent("stop", env);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /destroying domain/);
    assert.doesNotMatch(r.err, /gracefully/);
    assert.match(await domstate(name), /^error:/);
  });

  test("a shutdown_mode the domain does not support: the request fails, stop destroys", async () => {
    // The test driver supports no --mode: virsh shutdown --mode acpi fails ("unsupported flags").
    const { env, name } = resource({ OCF_RESKEY_shutdown_mode: "acpi" });
    let r = await agent("start", env);
    assert.equal(r.code, 0, show(r));
    r = await agent("stop", env);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /mode acpi/);
    assert.match(r.err, /graceful shutdown request .* failed: .*unsupported flags/);
    assert.match(r.err, /destroying domain/);
    assert.match(await domstate(name), /^error:/);
  });

  test("config file gone: probe and stop still ask libvirt about the recorded domain", async () => {
    const { env, name, config } = resource();
    let r = await agent("start", env);
    assert.equal(r.code, 0, show(r));
    fs.rmSync(config);
    r = await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "0" });
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /recorded at start/);
    r = await agent("stop", env);
    assert.equal(r.code, 0, show(r));
    assert.match(await domstate(name), /^error:/);
    r = await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "0" });
    assert.equal(r.code, 7, show(r));
    // Start and validate-all need the file: not installed here.
    r = await agent("start", env);
    assert.equal(r.code, 5, show(r));
    assert.match(r.err, /ocf-exit-reason:configuration file .* does not exist or is not readable/);
    assert.equal((await agent("validate-all", env)).code, 5);
    // Neither config nor record: nothing this agent started can run here.
    const fresh = { ...env, HA_RSCTMP: path.join(dir, "empty-rsctmp") };
    assert.equal((await agent("monitor", { ...fresh, OCF_RESKEY_CRM_meta_interval: "0" })).code, 7);
    assert.equal((await agent("stop", fresh)).code, 0);
  });

  test("a defined, shut-off domain of the same name (no UUID in the file): set aside at start, defined again at stop", async () => {
    const { env, name, config } = resource({ HA_VARLIB: path.join(dir, "varlib-defined") });
    await lv.virshOk(["define", config], { uri: lv.testUri });
    const before = await lv.virshOk(["dumpxml", "--inactive", name], { uri: lv.testUri });
    assert.equal(await domstate(name), "shut off");
    assert.equal((await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "0" })).code, 7);
    let r = await agent("start", env);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /definition is saved in .* and is defined again on stop/);
    r = await agent("stop", env);
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /defined again from/);
    assert.equal(await domstate(name), "shut off");
    assert.equal(await lv.virshOk(["dumpxml", "--inactive", name], { uri: lv.testUri }), before);
    await lv.virshOk(["undefine", name], { uri: lv.testUri });
  });

  test("configuration errors: bad XML, conflicting options", async () => {
    const { env, config } = resource();
    fs.writeFileSync(config, '<domain type="test"><name>x</name>');
    let r = await agent("validate-all", env);
    assert.equal(r.code, 6, show(r));
    assert.match(r.err, /not well-formed XML/);
    fs.writeFileSync(config, testXml("vd-cfg"));
    // copyindirs without backingfile: ignored, as the reference does, with a warning.
    r = await agent("validate-all", { ...env, OCF_RESKEY_copyindirs: "/srv/files" });
    assert.equal(r.code, 0, show(r));
    assert.match(r.err, /WARNING: copyindirs is ignored without backingfile/);
    r = await agent("validate-all", {
      ...env,
      OCF_RESKEY_snapshot: "/x",
      OCF_RESKEY_force_stop: "1",
    });
    assert.equal(r.code, 6, show(r));
    assert.match(r.err, /force_stop' and 'snapshot'/);
    r = await agent("validate-all", { ...env, OCF_RESKEY_stateless: "true" });
    assert.equal(r.code, 6, show(r));
    r = await agent("validate-all", { ...env, OCF_RESKEY_config: "" });
    assert.equal(r.code, 6, show(r));
    // A stop never fails on configuration: it asks libvirt (nothing runs here).
    r = await agent("stop", { ...env, OCF_RESKEY_snapshot: "/x", OCF_RESKEY_force_stop: "1" });
    assert.equal(r.code, 0, show(r));
  });

  test("libvirtd asked over its socket answers as virsh does: running, paused, shut off, no such domain", async () => {
    await socketAgreesWithVirsh(lv, resource());
  });

  test('libvirtd unreachable: monitor and stop fail with a reason, never "stopped"', async () => {
    const { env } = resource({
      OCF_RESKEY_hypervisor: `test+unix:///default?socket=${dir}/no-such-sock`,
    });
    for (const action of ["monitor", "stop"]) {
      const r = await agent(action, { ...env, OCF_RESKEY_CRM_meta_timeout: "4000" });
      assert.equal(r.code, 1, `${action}: ${show(r)}`);
      assert.match(r.err, /ocf-exit-reason:.*(failed to connect|Failed to connect socket)/, action);
    }
  });

  test("libvirtd hung: the monitor says so before its op timeout", async () => {
    // A socket that accepts connections and never answers, as a hung libvirtd.
    const sock = path.join(dir, "hung-sock");
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const { env } = resource({ OCF_RESKEY_hypervisor: `test+unix:///default?socket=${sock}` });
      const r = await agent("monitor", {
        ...env,
        OCF_RESKEY_CRM_meta_timeout: "3000",
        OCF_RESKEY_CRM_meta_interval: "10000",
      });
      assert.equal(r.code, 1, show(r));
      assertBefore(r.ms, 3000, `the monitor ends before its op timeout: ${show(r)}`);
      assert.match(
        r.err,
        /ocf-exit-reason:state of domain vd-t\d+: virsh did not answer within .* \(libvirtd hung or unreachable/,
      );
      const s = await agent("stop", { ...env, OCF_RESKEY_CRM_meta_timeout: "3000" });
      assert.equal(s.code, 1, show(s));
      assertBefore(s.ms, 3000, `stop ends before its op timeout: ${show(s)}`);
    } finally {
      server.close();
    }
  });
});

describe("VirtualDomain with QEMU guests (TCG)", { timeout: 240_000 }, () => {
  let lv: Libvirt;
  before(async () => {
    guestKernel(); // fails first, naming the package, if the guest kernel is missing
    lv = await startLibvirt();
  });
  after(async () => {
    await lv?.stop();
  });

  test("shutdown_mode=acpi: a graceful shutdown; shutdown_mode=agent (no guest agent): destroy", async () => {
    const g = await defineGuest(lv, { name: "vd-g1", memoryMb: 128, define: false });
    const env = {
      OCF_RESOURCE_INSTANCE: "vm1",
      HA_RSCTMP: path.join(lv.dir, "rsctmp"),
      OCF_RESKEY_config: g.xmlFile,
      OCF_RESKEY_hypervisor: lv.uri,
      OCF_RESKEY_CRM_meta_timeout: "60000",
    };
    try {
      let r = await agent("start", { ...env, OCF_RESKEY_shutdown_mode: "acpi" });
      assert.equal(r.code, 0, show(r));
      assert.equal(await g.state(), "running");
      assert.equal(
        (await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "10000" })).code,
        0,
      );
      await g.waitForUptime(0, 60_000); // acpid runs: the power button is heard
      r = await agent("stop", { ...env, OCF_RESKEY_shutdown_mode: "acpi" });
      assert.equal(r.code, 0, show(r));
      assert.match(r.err, /shut down gracefully/);
      assert.match(await g.console(), /power button pressed, powering off/);
      assert.equal((await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "0" })).code, 7);

      r = await agent("start", env);
      assert.equal(r.code, 0, show(r));
      await g.waitForUptime(0, 60_000);
      r = await agent("stop", { ...env, OCF_RESKEY_shutdown_mode: "agent" });
      assert.equal(r.code, 0, show(r));
      assert.match(r.err, /graceful shutdown request for domain vd-g1 failed/);
      assert.match(r.err, /domain vd-g1 destroyed/);
      assert.doesNotMatch(await g.console(), /power button pressed/);
      assert.equal((await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "0" })).code, 7);
    } catch (err) {
      if (err instanceof Error)
        err.message += `\n--- console ---\n${(await g.console()).slice(-1500)}\n--- libvirtd (tail) ---\n${(await lv.output()).slice(-2000)}`;
      throw err;
    }
  });
});

/**
 * remoteDomainState() over libvirtd's socket and `virsh domstate --reason` (the generation's own
 * virsh) agree at every step of a test-driver domain's life: define, start, suspend, resume,
 * destroy, undefine.
 */
async function socketAgreesWithVirsh(
  lv: Libvirt,
  { config, name }: { config: string; name: string },
): Promise<void> {
  const endpoint = localEndpoint(lv.testUri, {
    exists: fs.existsSync,
    clientConf: () => "",
    euid: 0,
  });
  assert.ok(endpoint !== undefined, lv.testUri);
  const both = async (): Promise<[string, string]> => {
    const a = await remoteDomainState(endpoint, name, Deadline.in(5000));
    const r = await lv.virsh(["domstate", "--reason", name], { uri: lv.testUri });
    const viaVirsh =
      r.code === 0
        ? r.stdout.trim()
        : /failed to get domain/.test(r.stderr)
          ? "gone"
          : `error: ${r.stderr.trim()}`;
    return [
      a.kind === "state" ? a.line : a.kind === "gone" ? "gone" : `unavailable: ${a.why}`,
      viaVirsh,
    ];
  };
  const seen: string[] = [];
  const step = async (...virshArgs: string[]): Promise<void> => {
    if (virshArgs.length > 0) await lv.virshOk(virshArgs, { uri: lv.testUri });
    const [socket, virsh] = await both();
    assert.equal(socket, virsh, `after virsh ${virshArgs.join(" ")}`);
    seen.push(socket);
  };
  await step();
  await step("define", config);
  await step("start", name);
  await step("suspend", name);
  await step("resume", name);
  await step("destroy", name);
  await step("undefine", name);
  assert.deepEqual(seen, [
    "gone",
    "shut off (unknown)",
    "running (booted)",
    "paused (user)",
    "running (unpaused)",
    "shut off (destroyed)",
    "gone",
  ]);
}

// The generations beyond the host's (Debian 13: libvirt 11.3 in its root; the tests above run the
// host's 9.0): the socket client against that libvirtd and its virsh, and the agent's probe,
// start, monitor and stop through it. (Real QEMU guests of each generation, with migration:
// virtualdomain-migrate.test.ts.)
for (const gen of labGenerations().filter((g) => g.root !== "/")) {
  describe(`${gen.title}: VirtualDomain with libvirtd's test driver`, { timeout: 120_000 }, () => {
    let lv: Libvirt;
    let dir: string;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "vd-gen-"));
      lv = await startLibvirt({ generation: gen });
      await lv.holdTestDriver();
      const v = await lv.virshOk(["version", "--daemon"]);
      assert.match(v, /Running against daemon: 11\.3/);
    });
    after(async () => {
      await lv?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test("libvirtd 11 over its socket answers as its virsh does", async () => {
      await socketAgreesWithVirsh(lv, testResource(dir, "vd-g1", "g1", lv.testUri, testXml));
    });

    test("probe, start, monitor, stop, probe against libvirtd 11 (the in-process agent: virsh 9 acts, the socket answers)", async () => {
      const { env, name } = testResource(dir, "vd-g2", "g2", lv.testUri, testXml);
      const probe = { ...env, OCF_RESKEY_CRM_meta_interval: "0" };
      let r = await agent("monitor", probe);
      assert.equal(r.code, 7, show(r));
      r = await agent("start", env);
      assert.equal(r.code, 0, show(r));
      assert.equal((await lv.virshOk(["domstate", name], { uri: lv.testUri })).trim(), "running");
      r = await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "10000" });
      assert.equal(r.code, 0, show(r));
      r = await agent("stop", env);
      assert.equal(r.code, 0, show(r));
      r = await agent("monitor", probe);
      assert.equal(r.code, 7, show(r));
    });
  });
}
