/**
 * fence_redfish, the built executable, through the firmware quirks the lab Redfish BMC can show:
 * 202 tasks (and failing ones), a power that changes seconds after a 204, no ForceOff, no
 * AllowableValues, sessions refused or expiring, a slow, a dead and a stuck BMC, a read-only
 * account, wrong passwords, PowerState values that are neither On nor Off, no keep-alive and
 * chunked bodies; and secrets kept out of every output.
 */
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import net from "node:net";
import { describe, it } from "node:test";
import { assertOneLineFailure, runAgentStdin } from "../lab/agents.js";
import { REDFISH_ADMIN, REDFISH_OPERATOR, REDFISH_READONLY } from "../lab/redfish-bmc.js";
import { redfishLabForFile, resetsSince } from "../lab/redfish-clients.js";

const lab = redfishLabForFile();
const { startBmc, target } = lab;

describe("fence_redfish through firmware quirks", () => {
  it("a reset answered 202 with a task monitor", async () => {
    const bmc = await startBmc("dell", { resetAnswer: "task", transitionMs: 1500 });
    try {
      const mark = bmc.mark();
      const r = await runAgentStdin("fence_redfish", target(bmc, { action: "reboot" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Success: Rebooted\n");
      assert.deepEqual(resetsSince(bmc, mark), ["ForceOff 202", "On 202"]);
      assert.ok(
        bmc.since(mark).some((q) => q.path.startsWith("/redfish/v1/TaskService/TaskMonitors/")),
        "the task monitor was followed",
      );
      assert.equal(bmc.readPower(), "on");
    } finally {
      await bmc.stop();
    }
  });

  it("a task that fails fails the action at once, with the BMC's reason", async () => {
    const bmc = await startBmc(
      "openbmc",
      { resetAnswer: "task", taskFails: true, transitionMs: 300 },
      "on",
    );
    try {
      const r = await runAgentStdin(
        "fence_redfish",
        target(bmc, { action: "off", power_timeout: 30 }),
      );
      assertOneLineFailure(
        r,
        /task for ForceOff failed: TaskState Exception: The ForceOff request could not be carried out/,
      );
      assert.ok(r.ms < 15_000, `took ${r.ms} ms: a failed task must not wait for power_timeout`);
      assert.equal(bmc.readPower(), "on");
    } finally {
      await bmc.stop();
    }
  });

  it("a reset answered 204 whose power changes only seconds later (PoweringOff meanwhile)", async () => {
    const bmc = await startBmc("dell", { transitionMs: 2500, transitional: true });
    try {
      let r = await runAgentStdin("fence_redfish", target(bmc, { action: "off" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Success: Powered OFF\n");
      assert.equal(bmc.readPower(), "off");
      // Too short a power_timeout: a failure, bounded, never "off" for PoweringOff.
      r = await runAgentStdin("fence_redfish", target(bmc, { action: "on", power_timeout: 1 }));
      assertOneLineFailure(r, /Timed out waiting to power ON/);
      assert.ok(r.ms < 1000 + 10_000, `took ${r.ms} ms`);
      // retry_on: the second On meets iDRAC's 409 "already powered ON"; the state decides.
      bmc.setPower("off");
      const mark = bmc.mark();
      r = await runAgentStdin(
        "fence_redfish",
        target(bmc, { action: "on", power_timeout: 1, retry_on: 3 }),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.ok(resetsSince(bmc, mark).includes("On 409"), resetsSince(bmc, mark).join());
    } finally {
      await bmc.stop();
    }
  });

  it("a firmware without ForceOff: off fails at once, no graceful shutdown is sent", async () => {
    const bmc = await startBmc("dell", { without: ["ForceOff"] });
    try {
      const mark = bmc.mark();
      const r = await runAgentStdin("fence_redfish", target(bmc, { action: "off" }));
      assertOneLineFailure(
        r,
        /cannot force the power off: its reset action offers On, ForceRestart, GracefulRestart, GracefulShutdown, PushPowerButton, Nmi, PowerCycle/,
      );
      assert.deepEqual(resetsSince(bmc, mark), []);
      assert.equal(bmc.readPower(), "on");
      const status = await runAgentStdin("fence_redfish", target(bmc, { action: "status" }));
      assert.equal(status.code, 0, status.stderr);
    } finally {
      await bmc.stop();
    }
  });

  it("a firmware that lists no ResetType and lacks On: falls back to ForceOn", async () => {
    const bmc = await startBmc("openbmc", { noAllowableValues: true, without: ["On"] }, "off");
    try {
      const mark = bmc.mark();
      const r = await runAgentStdin("fence_redfish", target(bmc, { action: "on" }));
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(resetsSince(bmc, mark), ["On 400", "ForceOn 200"]);
      assert.equal(bmc.readPower(), "on");
    } finally {
      await bmc.stop();
    }
  });

  it("sessions refused: Basic authentication on every request", async () => {
    const bmc = await startBmc("hpe-ilo5", { sessionsRefused: true });
    try {
      const r = await runAgentStdin("fence_redfish", target(bmc, { action: "reboot" }));
      assert.equal(r.code, 0, r.stderr);
      const acting = bmc.requests.filter((q) => q.method !== "POST" || q.resetType !== undefined);
      assert.ok(
        acting.length > 0 && acting.every((q) => q.auth === "basic"),
        JSON.stringify(acting),
      );
      const basic = await runAgentStdin(
        "fence_redfish",
        target(bmc, { action: "status", auth: "basic" }),
      );
      assert.equal(basic.code, 0, basic.stderr);
    } finally {
      await bmc.stop();
    }
  });

  it("a session that expires: logs in again and finishes; the last one deleted", async () => {
    const bmc = await startBmc("dell", { sessionExpiresAfter: 2 });
    try {
      const r = await runAgentStdin("fence_redfish", target(bmc, { action: "reboot" }));
      assert.equal(r.code, 0, r.stderr);
      assert.ok(
        bmc.requests.filter((q) => q.path.endsWith("/Sessions") && q.method === "POST").length >= 2,
      );
      assert.ok(
        bmc.requests.some((q) => q.status === 401),
        "the BMC did refuse the old session",
      );
      assert.equal(bmc.readPower(), "on");
    } finally {
      await bmc.stop();
    }
  });

  it("a slow BMC within the timeouts, and one slower than the per-request timeout", async () => {
    const bmc = await startBmc("dell", { slowMs: 1200 });
    try {
      let r = await runAgentStdin("fence_redfish", target(bmc, { action: "status" }));
      assert.equal(r.code, 0, r.stderr);
      bmc.quirks.slowMs = 3000;
      r = await runAgentStdin(
        "fence_redfish",
        target(bmc, { action: "status", login_timeout: 8, shell_timeout: 1 }),
      );
      assertOneLineFailure(
        r,
        /no answer from BMC 127\.0\.0\.1:\d+ to GET \/redfish\/v1\/Systems within 1 s/,
      );
      assert.ok(r.ms < 3000 + 1000 + 8000, `took ${r.ms} ms`);
    } finally {
      await bmc.stop();
    }
  });

  it("a dead BMC (accepts, never answers) and a closed port fail within login_timeout", async () => {
    const bmc = await startBmc("dell", { dead: true });
    try {
      const r = await runAgentStdin(
        "fence_redfish",
        target(bmc, { action: "off", login_timeout: 2 }),
      );
      assertOneLineFailure(r, /no TLS connection with BMC 127\.0\.0\.1:\d+ within 2 s/);
      assert.ok(r.ms < 2000 + 3000, `took ${r.ms} ms`);
    } finally {
      await bmc.stop();
    }
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const closed = await runAgentStdin("fence_redfish", {
      ...target({ host: "127.0.0.1", port }),
      action: "status",
      login_timeout: 2,
    });
    assertOneLineFailure(closed, /refused the connection/);
  });

  it("a read-only account: status works, off is refused at once (403)", async () => {
    const bmc = await startBmc("dell");
    try {
      const viewer = { username: REDFISH_READONLY.name, password: REDFISH_READONLY.password };
      let r = await runAgentStdin("fence_redfish", target(bmc, { ...viewer, action: "status" }));
      assert.equal(r.code, 0, r.stderr);
      r = await runAgentStdin("fence_redfish", target(bmc, { ...viewer, action: "off" }));
      assertOneLineFailure(
        r,
        /ResetType ForceOff: BMC 127\.0\.0\.1:\d+ answered 403 Forbidden: There are insufficient privileges.*ConfigureComponents/,
      );
      assert.equal(bmc.readPower(), "on");
      const operator = { username: REDFISH_OPERATOR.name, password: REDFISH_OPERATOR.password };
      r = await runAgentStdin("fence_redfish", target(bmc, { ...operator, action: "reboot" }));
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await bmc.stop();
    }
  });

  it("a wrong password fails at once, session or basic, without the password in any output", async () => {
    const bmc = await startBmc("dell");
    try {
      for (const auth of ["session", "basic"]) {
        const r = await runAgentStdin(
          "fence_redfish",
          target(bmc, { password: "not-the-Password-9", auth, action: "off" }),
        );
        assertOneLineFailure(r, /refused the login of user 'admin' \(.*401/);
        assert.doesNotMatch(r.stderr + r.stdout, /not-the-Password-9/);
        assert.ok(r.ms < 5000, `took ${r.ms} ms`);
      }
      assert.equal(bmc.readPower(), "on");
    } finally {
      await bmc.stop();
    }
  });

  it("never reports a state it did not read: PowerState null or Paused is a failure", async () => {
    const bmc = await startBmc("hpe-ilo5");
    try {
      for (const raw of [null, "Paused"]) {
        bmc.quirks.powerStateOverride = raw;
        const mark = bmc.mark();
        for (const action of ["status", "off", "reboot"]) {
          const r = await runAgentStdin("fence_redfish", target(bmc, { action }));
          assertOneLineFailure(r, /neither on nor off/);
        }
        assert.deepEqual(resetsSince(bmc, mark), [], "no reset on an unknown state");
      }
    } finally {
      await bmc.stop();
    }
  });

  it("a BMC whose power never changes: fails after power_timeout", async () => {
    const bmc = await startBmc("openbmc", { stuck: true });
    try {
      const r = await runAgentStdin(
        "fence_redfish",
        target(bmc, { action: "off", power_timeout: 2 }),
      );
      assertOneLineFailure(r, /Timed out waiting to power OFF \(still on\)/);
      assert.ok(r.ms >= 2000 && r.ms < 2000 + 8000, `took ${r.ms} ms`);
    } finally {
      await bmc.stop();
    }
  });

  it("no keep-alive and chunked bodies: a connection per request, same result", async () => {
    const bmc = await startBmc("openbmc", { noKeepAlive: true, chunked: true });
    try {
      const r = await runAgentStdin("fence_redfish", target(bmc, { action: "reboot" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Success: Rebooted\n");
    } finally {
      await bmc.stop();
    }
  });

  it("a BMC that closes idle kept connections: a new one at once, not a timeout", async () => {
    const bmc = await startBmc("dell", { idleCloseMs: 100, transitionMs: 1200 });
    try {
      const r = await runAgentStdin(
        "fence_redfish",
        target(bmc, { action: "off", shell_timeout: 8, verbose: 1, verbose_level: 2 }),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /closed the kept connection; connecting again/);
      assert.ok(r.ms < 1200 + 6000, `took ${r.ms} ms: a closed connection must not cost a timeout`);
    } finally {
      await bmc.stop();
    }
  });

  it("diag sends an NMI; method=cycle a ForceRestart, warned about as unverified", async () => {
    const bmc = await startBmc("hpe-ilo5");
    try {
      let r = await runAgentStdin("fence_redfish", target(bmc, { action: "diag" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Success: Diagnostic interrupt sent\n");
      assert.equal(bmc.nmis(), 1);
      r = await runAgentStdin("fence_redfish", target(bmc, { action: "reboot", method: "cycle" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Success: Rebooted\n");
      assert.match(r.stderr, /^WARNING: method=cycle: .*not verified/);
      assert.equal(bmc.restarts(), 1);
    } finally {
      await bmc.stop();
    }
  });

  it("keeps the password and the session token out of stderr and the debug file", async () => {
    const bmc = await startBmc("dell", { sessionExpiresAfter: 3 });
    const debugFile = `${bmc.dir}/fence-debug.log`;
    try {
      const r = await runAgentStdin(
        "fence_redfish",
        target(bmc, { action: "reboot", verbose: 1, verbose_level: 3, debug_file: debugFile }),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stderr.includes("DEBUG: POST /redfish/v1/SessionService/Sessions"), r.stderr);
      const debug = await fs.readFile(debugFile, "utf8");
      assert.ok(bmc.tokens.length >= 2);
      for (const secret of [REDFISH_ADMIN.password, ...bmc.tokens])
        for (const text of [r.stderr, r.stdout, debug]) assert.ok(!text.includes(secret));
    } finally {
      await bmc.stop();
    }
  });
});
