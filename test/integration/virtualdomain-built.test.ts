// The built ocf:kvmha:VirtualDomain (dist/bin/VirtualDomain) against the lab's libvirtd:
// - how many processes a monitor spawns (strace -f counting successful execve calls): with the
//   default parameters (utilization on) the first monitor of a running domain writes its
//   utilization (3 crm_resource, a fake one on PATH); every later monitor runs no process at all
//   (libvirtd is asked over its socket, lib/libvirt/remote.ts);
// - validate-all at OCF_CHECK_LEVEL=10 run inside libvirtd's mount namespace (as Pacemaker runs it
//   on the node libvirtd runs on) reads that namespace's qemu.conf: a warning without a lock
//   manager, none with lock_manager = "lockd";
// - the record keeps the parsed config; a changed config file is parsed again (its new vCPU count
//   written);
// - with libvirtd unreachable (a socket that does not exist) monitor and stop fall back to looking
//   for the guest's QEMU process in /proc: not running → monitor 7, stop 0; running → monitor 0,
//   stop fails. In the executable this path once died on a dynamic import() ("internal error: A
//   dynamic import callback was not specified"), so a stop failed and Pacemaker fenced the node.
// Needs `npm run build` first. Run: node --import tsx --test test/integration/virtualdomain-built.test.ts

import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";

import { STABLE_MS } from "../../lib/libvirt/domain-record.js";
import { VIRTUAL_DOMAIN_SOURCES, assertBuiltAfter } from "../lab/agents.js";
import { findProgram } from "../lab/bins.js";
import { startLibvirt, type Libvirt } from "../lab/libvirt-daemon.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const AGENT = path.join(ROOT, "dist", "bin", "VirtualDomain");

/** Runs the built agent under strace; returns its exit code and the programs it executed (itself excluded). */
function traced(
  action: string,
  env: Record<string, string>,
  out: string,
): Promise<{ code: number | null; execs: string[]; err: string }> {
  return new Promise((resolve) => {
    execFile(
      "strace",
      ["-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "-o", out, AGENT, action],
      { env, timeout: 60_000, killSignal: "SIGKILL" },
      (err, _stdout, stderr) => {
        const code =
          err === null
            ? 0
            : typeof (err as { code?: unknown }).code === "number"
              ? (err as { code: number }).code
              : null;
        const lines = fs.readFileSync(out, "utf8").split("\n");
        const execs = lines
          .filter((l) => / execve\(/.test(l) && / = 0$/.test(l))
          .map((l) => /execve\("([^"]+)"/.exec(l)?.[1] ?? "?");
        resolve({ code, execs: execs.slice(1), err: stderr });
      },
    );
  });
}

/** Runs the built agent; bounded. */
function runAgent(
  action: string,
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      AGENT,
      [action],
      { env, timeout: 30_000, killSignal: "SIGKILL" },
      (err, stdout, stderr) => {
        const code =
          err === null
            ? 0
            : typeof (err as { code?: unknown }).code === "number"
              ? (err as { code: number }).code
              : null;
        resolve({ code, out: stdout, err: stderr });
      },
    );
  });
}

describe(
  "the built VirtualDomain without libvirtd: the /proc fallback",
  { timeout: 60_000 },
  () => {
    let dir: string;
    let fakeQemu: ChildProcess | undefined;
    before(() => {
      assertBuiltAfter(AGENT, VIRTUAL_DOMAIN_SOURCES);
      assert.ok(
        findProgram("virsh") !== undefined,
        "virsh is not installed: install the Debian package libvirt-clients (scripts/lab-deps.sh)",
      );
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "vd-nosock-"));
    });
    after(() => {
      if (fakeQemu?.pid !== undefined && fakeQemu.exitCode === null) fakeQemu.kill("SIGKILL");
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    });

    const envFor = (name: string): Record<string, string> => {
      const config = path.join(dir, `${name}.xml`);
      fs.writeFileSync(
        config,
        `<domain type='kvm'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>\n`,
      );
      return {
        PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
        OCF_ROOT: "/usr/lib/ocf",
        OCF_RESOURCE_INSTANCE: name,
        HA_RSCTMP: path.join(dir, "rsctmp"),
        OCF_RESKEY_config: config,
        OCF_RESKEY_hypervisor: `qemu+unix:///system?socket=${path.join(dir, "no-such-socket")}`,
        OCF_RESKEY_CRM_meta_interval: "10000",
        // Short: the state is asked again while the op time allows; the fallback comes after.
        OCF_RESKEY_CRM_meta_timeout: "3000",
      };
    };

    test("no QEMU process for the guest: monitor 7, stop 0", async () => {
      const env = envFor("vd-nosock-off");
      const m = await runAgent("monitor", env);
      assert.doesNotMatch(m.err, /internal error/);
      assert.equal(m.code, 7, m.err);
      assert.match(
        m.err,
        /failed to connect to the hypervisor.*a QEMU process for vd-nosock-off is not running/i,
      );
      const s = await runAgent("stop", env);
      assert.doesNotMatch(s.err, /internal error/);
      assert.equal(s.code, 0, s.err);
      assert.match(s.err, /no QEMU process for vd-nosock-off runs: stopped/);
    });

    test("a QEMU process for the guest runs: monitor 0, stop fails", async () => {
      // A stand-in with QEMU's program name and `-name guest=NAME,…` in its argv (node sleeping).
      fakeQemu = spawn(
        process.execPath,
        ["-e", "setInterval(() => {}, 1000)", "--", "-name", "guest=vd-nosock-on,debug-threads=on"],
        { argv0: "/usr/bin/qemu-system-x86_64", stdio: "ignore" },
      );
      const pid = fakeQemu.pid;
      assert.ok(pid !== undefined);
      for (
        let i = 0;
        i < 100 &&
        !fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").includes("guest=vd-nosock-on");
        i++
      )
        await new Promise((r) => setTimeout(r, 20));
      const env = envFor("vd-nosock-on");
      const m = await runAgent("monitor", env);
      assert.doesNotMatch(m.err, /internal error/);
      assert.equal(m.code, 0, m.err);
      assert.match(m.err, /a QEMU process for vd-nosock-on is running/);
      const s = await runAgent("stop", env);
      assert.doesNotMatch(s.err, /internal error/);
      assert.equal(s.code, 1, s.err);
      assert.match(
        s.err,
        /cannot stop domain vd-nosock-on: .*failed to connect to the hypervisor/i,
      );
      fakeQemu.kill("SIGKILL");
    });
  },
);

describe("the built VirtualDomain", { timeout: 120_000 }, () => {
  let lv: Libvirt;
  let dir: string;
  before(async () => {
    assert.ok(
      findProgram("strace") !== undefined,
      "strace is not installed: install the Debian package strace (scripts/lab-deps.sh)",
    );
    assertBuiltAfter(AGENT, VIRTUAL_DOMAIN_SOURCES);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "vd-procs-"));
    lv = await startLibvirt();
    await lv.holdTestDriver();
  });
  after(async () => {
    await lv?.stop();
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("steady state: no process per monitor with utilization on (libvirtd asked over its socket)", async () => {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "crm_resource"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const config = path.join(dir, "vd-p1.xml");
    fs.writeFileSync(
      config,
      "<domain type='test'><name>vd-p1</name><memory unit='MiB'>64</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>\n",
    );
    // A parse is kept only for a file unchanged for STABLE_MS before it was read (file times are coarse).
    const settled = fs.statSync(config).ctimeMs + STABLE_MS + 100;
    while (Date.now() < settled)
      await new Promise((r) => setTimeout(r, Math.max(10, settled - Date.now())));
    const env = {
      PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
      OCF_ROOT: "/usr/lib/ocf",
      OCF_RESOURCE_INSTANCE: "p1",
      HA_RSCTMP: path.join(dir, "rsctmp"),
      OCF_RESKEY_config: config,
      OCF_RESKEY_hypervisor: lv.testUri,
      OCF_RESKEY_CRM_meta_interval: "10000",
      OCF_RESKEY_CRM_meta_timeout: "30000",
    };
    const start = await traced("start", env, path.join(dir, "start.strace"));
    assert.equal(start.code, 0, start.err);
    // start wrote the utilization; remove its record so the first monitor writes it again.
    fs.rmSync(path.join(dir, "rsctmp", "VirtualDomain-p1.utilization"));
    const first = await traced("monitor", env, path.join(dir, "m1.strace"));
    assert.equal(first.code, 0, first.err);
    assert.deepEqual(
      first.execs.map((e) => path.basename(e)),
      ["crm_resource", "crm_resource", "crm_resource"],
    );
    for (let i = 2; i <= 3; i++) {
      const m = await traced("monitor", env, path.join(dir, `m${i}.strace`));
      assert.equal(m.code, 0, m.err);
      assert.deepEqual(
        m.execs.map((e) => path.basename(e)),
        [],
        `monitor ${i}`,
      );
    }
    // The monitor keeps the parsed config in its record; a changed file is parsed again: the new
    // vCPU count (same size of file, so only its times tell) is written, once.
    const record = JSON.parse(
      fs.readFileSync(path.join(dir, "rsctmp", "VirtualDomain-p1.domain"), "utf8"),
    ) as { xml?: { vcpus?: number } };
    assert.equal(record.xml?.vcpus, 2, "the record keeps the parsed config");
    fs.writeFileSync(
      config,
      fs.readFileSync(config, "utf8").replace("<vcpu>2</vcpu>", "<vcpu>3</vcpu>"),
    );
    const changed = await traced("monitor", env, path.join(dir, "m4.strace"));
    assert.equal(changed.code, 0, changed.err);
    assert.deepEqual(
      changed.execs.map((e) => path.basename(e)),
      ["crm_resource"],
    );
    const again = await traced("monitor", env, path.join(dir, "m5.strace"));
    assert.deepEqual(
      again.execs.map((e) => path.basename(e)),
      [],
    );
    const stop = await traced("stop", env, path.join(dir, "stop.strace"));
    assert.equal(stop.code, 0, stop.err);
  });

  test("validate-all at level 10 in libvirtd's namespace: warns without a lock manager, not with lockd", async () => {
    const config = path.join(dir, "vd-lock.xml");
    fs.writeFileSync(
      config,
      "<domain type='qemu'><name>vd-lock</name><memory unit='MiB'>64</memory><devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>\n",
    );
    const vars = Object.entries({
      OCF_ROOT: "/usr/lib/ocf",
      OCF_RESOURCE_INSTANCE: "lock",
      HA_RSCTMP: path.join(dir, "rsctmp"),
      OCF_RESKEY_config: config,
      OCF_RESKEY_hypervisor: lv.uri,
      OCF_CHECK_LEVEL: "10",
    }).map(([k, v]) => `${k}=${v}`);
    const validate = () =>
      lv.exec("env", [...vars, AGENT, "validate-all"], { killAfterMs: 30_000 });
    const qemuConf = path.join(lv.dir, "etc", "qemu.conf");
    const original = fs.readFileSync(qemuConf, "utf8");
    assert.doesNotMatch(original, /^\s*lock_manager/m);
    let r = await validate();
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /WARNING: libvirt has no lock manager protecting the disks of domain vd-lock \(lock_manager is not "lockd" or "sanlock" in \/etc\/libvirt\/qemu.conf\)/,
    );
    // libvirtd read qemu.conf at its start; only the agent reads it again.
    fs.writeFileSync(qemuConf, `${original}lock_manager = "lockd"\n`);
    try {
      r = await validate();
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /lock manager/);
    } finally {
      fs.writeFileSync(qemuConf, original);
    }
  });
});
