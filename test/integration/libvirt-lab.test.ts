// Proves the libvirt test lab with plain virsh: a private libvirtd (its own
// mount namespace) serving the test driver and the QEMU driver, and real
// QEMU guests (TCG) whose console shows their uptime and which power off on
// ACPI shutdown.
// Run: node --import tsx --test test/integration/libvirt-lab.test.ts

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";

import type { RunResult } from "../lab/clients.js";
import { startLibvirt, type Libvirt } from "../lab/libvirt-daemon.js";
import { defineGuest, guestKernel } from "../lab/libvirt-guest.js";

function show(r: RunResult): string {
  return `${r.argv.join(" ")}\nexit ${r.code} signal ${r.signal} in ${r.ms} ms\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

function states(listOutput: string): Map<string, string> {
  // `virsh -q list --all`: " 1    name   running" / " -    name   shut off"
  const map = new Map<string, string>();
  for (const line of listOutput.split("\n")) {
    const m = /^\s*(\S+)\s+(\S+)\s+(.+?)\s*$/.exec(line);
    if (m) map.set(m[2]!, m[3]!);
  }
  return map;
}

async function withLibvirt<T>(lv: Libvirt, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Error)
      err.message += `\n--- libvirtd output (tail) ---\n${(await lv.output()).slice(-3000)}`;
    throw err;
  }
}

describe("private libvirtd", { timeout: 120_000 }, () => {
  let lv: Libvirt;
  before(async () => {
    lv = await startLibvirt();
  });
  after(async () => {
    await lv?.stop();
  });

  test("is private: its socket is in the lab directory, the host has none", async () => {
    assert.ok(lv.socket.startsWith(`${lv.dir}/`));
    assert.ok(fs.existsSync(lv.socket));
    assert.ok(
      !fs.existsSync("/run/libvirt/libvirt-sock"),
      "the host must have no /run/libvirt/libvirt-sock",
    );
    // Inside the namespace, /run/libvirt is the lab's directory.
    const r = await lv.exec("cat", ["/run/libvirt/libvirtd.pid"]);
    assert.equal(r.code, 0, show(r));
    assert.equal(Number(r.stdout.trim()), lv.pid);
    const caps = await lv.virshOk(["capabilities"]);
    assert.match(caps, new RegExp(`<uuid>${lv.hostUuid}</uuid>`));
    assert.match(caps, /<domain type='qemu'\/>/);
  });

  test("test driver: state is shared by separate virsh runs while a connection is held", async () => {
    await withLibvirt(lv, async () => {
      await lv.holdTestDriver();
      const xml =
        "<domain type='test'><name>lab-t1</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>";
      const file = `${lv.dir}/lab-t1.xml`;
      fs.writeFileSync(file, xml);
      await lv.virshOk(["define", file], { uri: lv.testUri });
      await lv.virshOk(["start", "lab-t1"], { uri: lv.testUri });
      assert.equal(
        states(await lv.virshOk(["list", "--all"], { uri: lv.testUri })).get("lab-t1"),
        "running",
      );
      assert.equal(
        (await lv.virshOk(["domstate", "lab-t1"], { uri: lv.testUri })).trim(),
        "running",
      );
      await lv.virshOk(["destroy", "lab-t1"], { uri: lv.testUri });
      assert.equal(
        (await lv.virshOk(["domstate", "lab-t1"], { uri: lv.testUri })).trim(),
        "shut off",
      );
      await lv.virshOk(["undefine", "lab-t1"], { uri: lv.testUri });
      assert.equal(
        states(await lv.virshOk(["list", "--all"], { uri: lv.testUri })).has("lab-t1"),
        false,
      );
      // Released, the default node starts afresh at the next connection.
      await lv.virshOk(["destroy", "test"], { uri: lv.testUri });
      assert.equal(
        (await lv.virshOk(["domstate", "test"], { uri: lv.testUri })).trim(),
        "shut off",
      );
      await lv.releaseTestDriver();
      assert.equal((await lv.virshOk(["domstate", "test"], { uri: lv.testUri })).trim(), "running");
    });
  });
});

describe("QEMU guests (TCG)", { timeout: 180_000 }, () => {
  let lv: Libvirt;
  before(async () => {
    guestKernel(); // fails first, with the package name, if the kernel is missing
    lv = await startLibvirt();
  });
  after(async () => {
    await lv?.stop();
  });

  test("a guest boots, its console counts uptime, virsh shutdown (ACPI) makes it shut off", async () => {
    await withLibvirt(lv, async () => {
      const g = await defineGuest(lv, { name: "lab-g1", memoryMb: 160 });
      assert.equal(await g.state(), "shut off");
      await lv.virshOk(["start", "lab-g1"]);
      assert.equal(states(await lv.virshOk(["list"])).get("lab-g1"), "running");
      const first = await g.waitForUptime(0, 60_000);
      const later = await g.waitForUptime(first + 2, 20_000);
      assert.ok(later >= first + 2);
      await lv.virshOk(["shutdown", "lab-g1"]);
      await g.waitForState("shut off", 30_000);
      assert.match(await g.console(), /power button pressed, powering off/);
      // Defined guests stay defined; a second start boots afresh (console truncated).
      await lv.virshOk(["start", "lab-g1"]);
      await g.waitForUptime(0, 60_000);
      await lv.virshOk(["destroy", "lab-g1"]);
      assert.equal(await g.state(), "shut off");
      await lv.virshOk(["undefine", "lab-g1"]);
    });
  });

  test("virsh create from the XML file (transient), then destroy", async () => {
    await withLibvirt(lv, async () => {
      const g = await defineGuest(lv, { name: "lab-g2", memoryMb: 128, define: false });
      await lv.virshOk(["create", g.xmlFile]);
      assert.equal(await g.state(), "running");
      await lv.virshOk(["destroy", "lab-g2"]);
      // Transient: gone once destroyed.
      const r = await lv.virsh(["domstate", "lab-g2"]);
      assert.notEqual(r.code, 0, show(r));
      assert.equal((await lv.virshOk(["list", "--all"])).trim(), "");
    });
  });

  test("stop() leaves no QEMU behind", async () => {
    const g = await defineGuest(lv, { name: "lab-g3", memoryMb: 128 });
    await lv.virshOk(["start", g.name]);
    const pid = Number(fs.readFileSync(`${lv.dir}/run/qemu/${g.name}.pid`, "utf8"));
    assert.ok(pid > 0);
    await lv.stop();
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    assert.equal(alive, false, `QEMU pid ${pid} outlived stop()`);
    assert.equal(fs.existsSync(lv.dir), false);
  });
});

describe(
  "live migration between two lab nodes (network namespaces, veth, qemu+tcp)",
  { timeout: 180_000 },
  () => {
    // Names unique per test process; veth names are at most 15 characters.
    const nsA = `kvmha-mig-${process.pid}-a`;
    const nsB = `kvmha-mig-${process.pid}-b`;
    const ip = (...args: string[]) =>
      execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
    let a: Libvirt | undefined;
    let b: Libvirt | undefined;
    before(async () => {
      ip("netns", "add", nsA);
      ip("netns", "add", nsB);
      ip(
        "link",
        "add",
        `kvm${process.pid}a`,
        "netns",
        nsA,
        "type",
        "veth",
        "peer",
        "name",
        `kvm${process.pid}b`,
        "netns",
        nsB,
      );
      ip("-n", nsA, "addr", "add", "10.77.0.1/24", "dev", `kvm${process.pid}a`);
      ip("-n", nsB, "addr", "add", "10.77.0.2/24", "dev", `kvm${process.pid}b`);
      for (const [ns, dev] of [
        [nsA, `kvm${process.pid}a`],
        [nsB, `kvm${process.pid}b`],
      ] as const) {
        ip("-n", ns, "link", "set", "lo", "up");
        ip("-n", ns, "link", "set", dev, "up");
      }
      a = await startLibvirt({ netns: nsA, listenTcp: { address: "10.77.0.1" } });
      b = await startLibvirt({ netns: nsB, listenTcp: { address: "10.77.0.2" } });
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
      for (const ns of [nsA, nsB]) {
        try {
          ip("netns", "del", ns); // takes its veth end (and so the pair) with it
        } catch {
          // never created
        }
      }
    });

    test("virsh migrate --live moves a running guest; it keeps counting uptime on the other node", async () => {
      const src = a!;
      const dst = b!;
      assert.notEqual(src.hostUuid, dst.hostUuid);
      const g = await defineGuest(src, { name: "lab-mig", memoryMb: 128 });
      await src.virshOk(["start", g.name]);
      const before = await g.waitForUptime(2, 60_000);
      // virsh runs inside node A's namespaces: it must reach B's libvirtd on the veth.
      const r = await src.exec(
        "virsh",
        [
          "-c",
          "qemu:///system",
          "migrate",
          "--live",
          g.name,
          dst.tcpUri!,
          "--migrateuri",
          "tcp://10.77.0.2",
        ],
        { killAfterMs: 120_000 },
      );
      assert.equal(
        r.code,
        0,
        `${show(r)}\n--- A ---\n${(await src.output()).slice(-2000)}\n--- B ---\n${(await dst.output()).slice(-2000)}`,
      );
      assert.equal((await dst.virshOk(["domstate", g.name])).trim(), "running");
      // A keeps no persistent copy unless asked; either way it is not running there.
      const onA = await src.virsh(["domstate", g.name]);
      assert.ok(onA.code !== 0 || onA.stdout.trim() === "shut off", show(onA));
      // The same guest (not a reboot) goes on printing a growing uptime on B,
      // to the same console path (B's QEMU reopened it).
      const after = await g.waitForUptime(before + 2, 20_000);
      assert.ok(after > before + 1, `uptime went from ${before} to ${after}`);
    });
  },
);
