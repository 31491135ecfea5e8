// ocf:kvmha:VirtualDomain with QEMU guests (TCG) on the lab's libvirtd: guest_agent_check (start
// waits for the guest agent, monitor pings it) and snapshot (a guest saved on stop and restored on
// start goes on counting its uptime).
// Run: node --import tsx --test test/integration/virtualdomain-qemu.test.ts

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { startLibvirt, type Libvirt } from "../lab/libvirt-daemon.js";
import { runVirtualDomain, showRun } from "../lab/libvirt-ocf.js";
import { defineGuest, guestKernel } from "../lab/libvirt-guest.js";

/** The console's first and last lines: boot-time errors (the agent's port) show at its start. */
function consoleEnds(text: string): string {
  if (text.length <= 2500) return `--- console ---\n${text}`;
  return `--- console (head) ---\n${text.slice(0, 1000)}\n--- console (tail) ---\n${text.slice(-1500)}`;
}

const agent = runVirtualDomain;
const show = showRun;

describe(
  "VirtualDomain with QEMU guests (TCG): guest agent, snapshot",
  { timeout: 240_000 },
  () => {
    let lv: Libvirt;
    before(async () => {
      guestKernel();
      lv = await startLibvirt();
    });
    after(async () => {
      await lv?.stop();
    });

    test("guest_agent_check: start waits for the agent, monitor pings it; without an agent channel the monitor fails with the reason", async () => {
      const g = await defineGuest(lv, {
        name: "vd-ga",
        memoryMb: 128,
        define: false,
        guestAgent: true,
      });
      const env = {
        OCF_RESOURCE_INSTANCE: "ga",
        HA_RSCTMP: path.join(lv.dir, "rsctmp-ga"),
        OCF_RESKEY_config: g.xmlFile,
        OCF_RESKEY_hypervisor: lv.uri,
        OCF_RESKEY_guest_agent_check: "true",
        OCF_RESKEY_CRM_meta_timeout: "60000",
      };
      const plain = await defineGuest(lv, { name: "vd-noga", memoryMb: 128, define: false });
      const envPlain = {
        ...env,
        OCF_RESOURCE_INSTANCE: "noga",
        HA_RSCTMP: path.join(lv.dir, "rsctmp-noga"),
        OCF_RESKEY_config: plain.xmlFile,
        OCF_RESKEY_guest_agent_check: "false",
      };
      try {
        let r = await agent("start", env);
        assert.equal(r.code, 0, show(r));
        assert.match(await g.console(), /guest agent on \/dev\/vport/);
        r = await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "10000" });
        assert.equal(r.code, 0, show(r));
        // Without the check the monitor does not ask the agent at all.
        r = await agent("monitor", {
          ...env,
          OCF_RESKEY_guest_agent_check: "false",
          OCF_RESKEY_CRM_meta_interval: "10000",
          HA_DEBUG: "1",
        });
        assert.equal(r.code, 0, show(r));
        assert.doesNotMatch(r.err, /qemu-agent-command/);

        r = await agent("start", envPlain);
        assert.equal(r.code, 0, show(r));
        r = await agent("monitor", {
          ...envPlain,
          OCF_RESKEY_guest_agent_check: "true",
          OCF_RESKEY_CRM_meta_interval: "10000",
          OCF_RESKEY_CRM_meta_timeout: "20000",
        });
        assert.equal(r.code, 1, show(r));
        assert.match(
          r.err,
          /^ocf-exit-reason:guest agent of domain vd-noga does not answer: .*(not configured|agent)/m,
        );
        for (const e of [env, envPlain]) {
          r = await agent("stop", { ...e, OCF_RESKEY_force_stop: "true" });
          assert.equal(r.code, 0, show(r));
        }
      } catch (err) {
        if (err instanceof Error)
          err.message += `\n${consoleEnds(await g.console())}\n--- libvirtd (tail) ---\n${(await lv.output()).slice(-2000)}`;
        throw err;
      }
    });

    test("snapshot: a QEMU guest saved on stop and restored on start goes on counting (no reboot)", async () => {
      const g = await defineGuest(lv, { name: "vd-snap", memoryMb: 128, define: false });
      const snap = path.join(lv.dir, "snapshots");
      fs.mkdirSync(snap);
      const env = {
        OCF_RESOURCE_INSTANCE: "snap",
        HA_RSCTMP: path.join(lv.dir, "rsctmp-snap"),
        OCF_RESKEY_config: g.xmlFile,
        OCF_RESKEY_hypervisor: lv.uri,
        OCF_RESKEY_snapshot: snap,
        OCF_RESKEY_CRM_meta_timeout: "90000",
      };
      try {
        let r = await agent("start", env);
        assert.equal(r.code, 0, show(r));
        const before = await g.waitForUptime(3, 60_000);
        r = await agent("stop", env);
        assert.equal(r.code, 0, show(r));
        assert.match(r.err, /saved to .*vd-snap\.state and stopped/);
        assert.equal(
          (await agent("monitor", { ...env, OCF_RESKEY_CRM_meta_interval: "0" })).code,
          7,
        );
        r = await agent("start", env);
        assert.equal(r.code, 0, show(r));
        assert.match(r.err, /restored from/);
        // The first uptime the guest prints after the restore goes on from before the save (a
        // fresh boot would start near 0).
        const after = await g.waitForUptime(0, 60_000);
        assert.ok(after >= before, `uptime ${before} before the save, ${after} after the restore`);
        // The console log starts afresh with the restored QEMU (append='off'): no boot banner in it.
        assert.doesNotMatch(await g.console(), /kvmha-guest: up,/);
        r = await agent("stop", { ...env, OCF_RESKEY_snapshot: "", OCF_RESKEY_force_stop: "true" });
        assert.equal(r.code, 0, show(r));
      } catch (err) {
        if (err instanceof Error)
          err.message += `\n${consoleEnds(await g.console())}\n--- libvirtd (tail) ---\n${(await lv.output()).slice(-2000)}`;
        throw err;
      }
    });
  },
);
