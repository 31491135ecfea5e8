// ocf:kvmha:VirtualDomain live migration between the lab's two namespaced nodes (docs/lab.md, "Two
// nodes and live migration"), in each lab generation (libvirt 9.0 + QEMU 7.2 on the host; libvirt
// 11.3 + QEMU 10.0 from the Debian 13 root): the built agent (dist/bin/VirtualDomain) runs inside
// each node's namespaces (and root, with that generation's virsh), as Pacemaker would run it there. One QEMU guest (TCG): start on A, migrate_to B,
// migrate_from on B, monitors, uptime kept; then a migration back that cannot finish in its op
// timeout (migration_speed=1) is aborted and the guest stays on B; migrate_from where nothing runs
// fails at once.
// Needs `npm run build` first. Run: node --import tsx --test test/integration/virtualdomain-migrate.test.ts

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";

import { VIRTUAL_DOMAIN_SOURCES, assertBuiltAfter } from "../lab/agents.js";
import { startLibvirt, type Libvirt } from "../lab/libvirt-daemon.js";
import { defineGuest, guestKernel } from "../lab/libvirt-guest.js";
import { assertNoWait } from "../lab/bounds.js";
import { labGenerations } from "../lab/generation.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const AGENT = path.join(ROOT, "dist", "bin", "VirtualDomain");

interface Run {
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

function show(r: Run): string {
  return `exit ${r.code} in ${r.ms} ms\nstdout: ${r.out}\nstderr: ${r.err}`;
}

/** The agent inside node `lv`'s namespaces (mount and network), with this OCF environment. */
async function agentOn(lv: Libvirt, action: string, env: Record<string, string>): Promise<Run> {
  const t0 = Date.now();
  const vars = Object.entries({ OCF_ROOT: "/usr/lib/ocf", ...env }).map(([k, v]) => `${k}=${v}`);
  const r = await lv.exec("env", [...vars, AGENT, action], { killAfterMs: 180_000 });
  return { code: r.code, out: r.stdout, err: r.stderr, ms: Date.now() - t0 };
}

for (const gen of labGenerations()) {
  describe(
    `${gen.title}: VirtualDomain live migration between two lab nodes`,
    { timeout: 300_000 },
    () => {
      const nsA = `kvmha-vdm-${process.pid}-${gen.name}-a`;
      const nsB = `kvmha-vdm-${process.pid}-${gen.name}-b`;
      // Interface names: at most 15 characters.
      const devA = `vdm${process.pid}${gen.pacemaker}a`;
      const devB = `vdm${process.pid}${gen.pacemaker}b`;
      const ADDR_A = "10.78.0.1";
      const ADDR_B = "10.78.0.2";
      const ip = (...args: string[]) =>
        execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
      let a: Libvirt | undefined;
      let b: Libvirt | undefined;
      before(async () => {
        assertBuiltAfter(AGENT, VIRTUAL_DOMAIN_SOURCES);
        guestKernel();
        ip("netns", "add", nsA);
        ip("netns", "add", nsB);
        ip("link", "add", devA, "netns", nsA, "type", "veth", "peer", "name", devB, "netns", nsB);
        ip("-n", nsA, "addr", "add", `${ADDR_A}/24`, "dev", devA);
        ip("-n", nsB, "addr", "add", `${ADDR_B}/24`, "dev", devB);
        for (const [ns, dev] of [
          [nsA, devA],
          [nsB, devB],
        ] as const) {
          ip("-n", ns, "link", "set", "lo", "up");
          ip("-n", ns, "link", "set", dev, "up");
        }
        a = await startLibvirt({ netns: nsA, listenTcp: { address: ADDR_A }, generation: gen });
        b = await startLibvirt({ netns: nsB, listenTcp: { address: ADDR_B }, generation: gen });
      });
      after(async () => {
        await a?.stop();
        await b?.stop();
        for (const ns of [nsA, nsB]) {
          try {
            ip("netns", "del", ns);
          } catch {
            // never created
          }
        }
      });

      test("migrate_to A→B, migrate_from on B; a migration that cannot finish in time is aborted; post-copy with auto-converge B→A; migration_time_limit", async () => {
        const A = a!;
        const B = b!;
        const g = await defineGuest(A, { name: "vd-mig", memoryMb: 128, define: false });
        // What Pacemaker gives every action on either node; each node has its own HA_RSCTMP.
        const base = {
          OCF_RESOURCE_INSTANCE: "vm",
          OCF_RESKEY_config: g.xmlFile,
          OCF_RESKEY_hypervisor: "qemu:///system",
          OCF_RESKEY_migration_transport: "tcp",
          OCF_RESKEY_migrateuri: "tcp://%n",
        };
        const onA = { ...base, HA_RSCTMP: path.join(A.dir, "rsctmp") };
        const onB = { ...base, HA_RSCTMP: path.join(B.dir, "rsctmp") };
        const diag = async (): Promise<string> =>
          `\n--- console (tail) ---\n${(await g.console()).slice(-1000)}\n--- A libvirtd ---\n${(await A.output()).slice(-1500)}\n--- B libvirtd ---\n${(await B.output()).slice(-1500)}`;
        try {
          // migrate_to with no target: a configuration error, the guest is not touched.
          let r = await agentOn(A, "start", { ...onA, OCF_RESKEY_CRM_meta_timeout: "60000" });
          assert.equal(r.code, 0, show(r));
          const before = await g.waitForUptime(2, 60_000);
          r = await agentOn(A, "migrate_to", { ...onA, OCF_RESKEY_CRM_meta_timeout: "20000" });
          assert.equal(r.code, 6, show(r));
          assert.match(r.err, /ocf-exit-reason:.*migrate_target is not set/);
          // Not running on B: migrate_from there fails at once (the reference would loop forever).
          r = await agentOn(B, "migrate_from", {
            ...onB,
            OCF_RESKEY_CRM_meta_timeout: "60000",
            OCF_RESKEY_CRM_meta_migrate_source: ADDR_A,
          });
          assert.equal(r.code, 1, show(r));
          assertNoWait(r.ms, 60_000, `not the op timeout: ${show(r)}`);
          assert.match(
            r.err,
            /ocf-exit-reason:domain vd-mig is not running on this node after migration from 10\.78\.0\.1/,
          );

          // The migration: A → B.
          r = await agentOn(A, "migrate_to", {
            ...onA,
            OCF_RESKEY_CRM_meta_timeout: "120000",
            OCF_RESKEY_CRM_meta_migrate_target: ADDR_B,
            OCF_RESKEY_migration_downtime: "500",
          });
          assert.equal(r.code, 0, show(r) + (await diag()));
          assert.match(
            r.err,
            /qemu\+tcp:\/\/10\.78\.0\.2\/system --migrateuri tcp:\/\/10\.78\.0\.2/,
          );
          assert.match(r.err, /live migration to 10\.78\.0\.2 succeeded/);
          r = await agentOn(B, "migrate_from", {
            ...onB,
            OCF_RESKEY_CRM_meta_timeout: "60000",
            OCF_RESKEY_CRM_meta_migrate_source: ADDR_A,
            OCF_RESKEY_save_config_on_stop: "true",
          });
          assert.equal(r.code, 0, show(r));
          assertNoWait(r.ms, 60_000, `not the op timeout: ${show(r)}`);
          // save_config_on_stop also saves after a migration (as the reference): B's running configuration.
          assert.match(r.err, /saved domain vd-mig's configuration to /);
          assert.match(fs.readFileSync(g.xmlFile, "utf8"), /<uuid>/);
          r = await agentOn(B, "monitor", { ...onB, OCF_RESKEY_CRM_meta_interval: "10000" });
          assert.equal(r.code, 0, show(r));
          r = await agentOn(A, "monitor", { ...onA, OCF_RESKEY_CRM_meta_interval: "0" });
          assert.equal(r.code, 7, show(r));
          // The same guest goes on counting on B (not a reboot).
          const later = await g.waitForUptime(before + 2, 30_000);
          assert.ok(later > before + 1, `uptime went from ${before} to ${later}`);

          // Back to A at 1 MiB/s with a 10 s op timeout: cannot finish; the job is aborted, B keeps it.
          r = await agentOn(B, "migrate_to", {
            ...onB,
            OCF_RESKEY_CRM_meta_timeout: "10000",
            OCF_RESKEY_CRM_meta_migrate_target: ADDR_A,
            OCF_RESKEY_migration_speed: "1",
          });
          assert.equal(r.code, 1, show(r) + (await diag()));
          assertNoWait(r.ms, 60_000, `not the op timeout: ${show(r)}`);
          assert.match(r.err, /--bandwidth 1/);
          assert.match(
            r.err,
            /ocf-exit-reason:domain vd-mig: live migration to 10\.78\.0\.1 did not finish within .*: migration job aborted, domain still runs on this node/,
          );
          r = await agentOn(B, "monitor", { ...onB, OCF_RESKEY_CRM_meta_interval: "10000" });
          assert.equal(r.code, 0, show(r));
          r = await agentOn(A, "monitor", { ...onA, OCF_RESKEY_CRM_meta_interval: "0" });
          assert.equal(r.code, 7, show(r));
          const still = await g.uptime();
          await g.waitForUptime((still ?? 0) + 2, 30_000);

          // B → A in post-copy with auto-converge: libvirt switches after the first pre-copy pass.
          r = await agentOn(B, "migrate_to", {
            ...onB,
            OCF_RESKEY_CRM_meta_timeout: "120000",
            OCF_RESKEY_CRM_meta_migrate_target: ADDR_A,
            OCF_RESKEY_migration_postcopy: "true",
            OCF_RESKEY_migration_auto_converge: "true",
          });
          assert.equal(r.code, 0, show(r) + (await diag()));
          assert.match(
            r.err,
            /virsh migrate --live --auto-converge --postcopy --postcopy-after-precopy vd-mig/,
          );
          r = await agentOn(A, "migrate_from", {
            ...onA,
            OCF_RESKEY_CRM_meta_timeout: "60000",
            OCF_RESKEY_CRM_meta_migrate_source: ADDR_B,
          });
          assert.equal(r.code, 0, show(r));
          r = await agentOn(B, "monitor", { ...onB, OCF_RESKEY_CRM_meta_interval: "0" });
          assert.equal(r.code, 7, show(r));
          const afterPostcopy = await g.uptime();
          await g.waitForUptime((afterPostcopy ?? 0) + 2, 30_000);

          // A → B with a 3 s migration_time_limit at 1 MiB/s: aborted long before the 60 s op timeout.
          r = await agentOn(A, "migrate_to", {
            ...onA,
            OCF_RESKEY_CRM_meta_timeout: "60000",
            OCF_RESKEY_CRM_meta_migrate_target: ADDR_B,
            OCF_RESKEY_migration_speed: "1",
            OCF_RESKEY_migration_time_limit: "3",
          });
          assert.equal(r.code, 1, show(r) + (await diag()));
          assertNoWait(r.ms, 60_000, `migration_time_limit, not the op timeout: ${show(r)}`);
          assert.match(
            r.err,
            /ocf-exit-reason:domain vd-mig: live migration to 10\.78\.0\.2 did not finish within 3 s \(migration_time_limit 3 s\): migration job aborted, domain still runs on this node/,
          );
          r = await agentOn(A, "monitor", { ...onA, OCF_RESKEY_CRM_meta_interval: "10000" });
          assert.equal(r.code, 0, show(r));

          // A → B at 1 MiB/s again, but post-copy after 2 s (virsh migrate-postcopy): pre-copy alone
          // would need over 100 s; post-copy moves the rest at full speed.
          r = await agentOn(A, "migrate_to", {
            ...onA,
            OCF_RESKEY_CRM_meta_timeout: "60000",
            OCF_RESKEY_CRM_meta_migrate_target: ADDR_B,
            OCF_RESKEY_migration_speed: "1",
            OCF_RESKEY_migration_postcopy: "true",
            OCF_RESKEY_migration_postcopy_after: "2",
          });
          assert.equal(r.code, 0, show(r) + (await diag()));
          assert.match(r.err, /migration switched to post-copy after/);
          assert.doesNotMatch(r.err, /--postcopy-after-precopy/);
          r = await agentOn(B, "migrate_from", {
            ...onB,
            OCF_RESKEY_CRM_meta_timeout: "60000",
            OCF_RESKEY_CRM_meta_migrate_source: ADDR_A,
          });
          assert.equal(r.code, 0, show(r));
          r = await agentOn(A, "monitor", { ...onA, OCF_RESKEY_CRM_meta_interval: "0" });
          assert.equal(r.code, 7, show(r));
          const afterSwitch = await g.uptime();
          await g.waitForUptime((afterSwitch ?? 0) + 2, 30_000);

          r = await agentOn(B, "stop", {
            ...onB,
            OCF_RESKEY_CRM_meta_timeout: "30000",
            OCF_RESKEY_force_stop: "1",
          });
          assert.equal(r.code, 0, show(r));
        } catch (err) {
          if (err instanceof Error && !err.message.includes("--- console"))
            err.message += await diag();
          throw err;
        }
      });
    },
  );
}
