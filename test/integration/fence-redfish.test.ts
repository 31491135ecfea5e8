/**
 * fence_redfish, the built executable, against the lab Redfish BMC (test/lab/redfish-bmc.ts):
 * real vendors' resources (iDRAC 9, iLO 5, OpenBMC, a two-node HPE Cray blade) served over HTTPS
 * with a lab CA's certificate, through each quirk a firmware shows; and fence-agents'
 * fence_redfish beside it on the same BMC where the two must agree.
 */
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { runAgentArgs, runAgentStdin, stdinOf } from "../lab/agents.js";
import { REDFISH_LAB_PROGRAMS, requireProgram } from "../lab/bins.js";
import { type RunResult, run } from "../lab/clients.js";
import {
  type LabCertificates,
  REDFISH_ADMIN,
  REDFISH_OPERATOR,
  REDFISH_READONLY,
  RedfishBmc,
  type RedfishQuirks,
  type Vendor,
  makeLabCertificates,
} from "../lab/redfish-bmc.js";

type Options = Record<string, string | number | boolean | undefined>;

let certificates: LabCertificates;
let certDir: string;

before(async () => {
  for (const program of REDFISH_LAB_PROGRAMS) requireProgram(program);
  certDir = await fs.mkdtemp("/tmp/kvmha-redfish-certs-");
  certificates = makeLabCertificates(certDir);
});
after(async () => {
  if (certDir) await fs.rm(certDir, { recursive: true, force: true });
});

function startBmc(
  vendor: Vendor = "dell",
  quirks: RedfishQuirks = {},
  power: "on" | "off" = "on",
): Promise<RedfishBmc> {
  return RedfishBmc.start({ vendor, quirks, power, certificates });
}

function target(bmc: RedfishBmc, extra: Options = {}): Options {
  return {
    ip: bmc.host,
    ipport: bmc.port,
    username: REDFISH_ADMIN.name,
    password: REDFISH_ADMIN.password,
    ssl_cacert: certificates.caFile,
    ...extra,
  };
}

/** Failures end with exit 1 and exactly one line on stderr. */
function assertOneLineFailure(r: RunResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stdout, /Success|Status/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}

function resets(bmc: RedfishBmc, mark: number): string[] {
  return bmc
    .since(mark)
    .filter((r) => r.resetType !== undefined)
    .map((r) => `${r.resetType} ${r.status}`);
}

/** curl, an independent client, against the lab BMC; credentials in its config on stdin. */
function curl(bmc: RedfishBmc, args: readonly string[], user = REDFISH_ADMIN): Promise<RunResult> {
  return run(
    requireProgram("curl"),
    ["-sS", "-K", "-", "--cacert", certificates.caFile, "-w", "\n%{http_code}", ...args],
    { input: `user = "${user.name}:${user.password}"\n`, killAfterMs: 30_000 },
  ).then((r) => {
    assert.equal(r.code, 0, r.stderr);
    return r;
  });
}

describe("the lab Redfish BMC, checked with curl", () => {
  it("serves its vendor's resources over HTTPS, takes resets, refuses bad credentials", async () => {
    const bmc = await startBmc("hpe-ilo5");
    try {
      const base = `https://127.0.0.1:${bmc.port}/redfish/v1`;
      let r = await curl(bmc, [`${base}/Systems/1`]);
      const [body, code] = [
        r.stdout.slice(0, r.stdout.lastIndexOf("\n")),
        r.stdout.split("\n").pop(),
      ];
      assert.equal(code, "200");
      const system = JSON.parse(body) as { Model: string; PowerState: string };
      assert.equal(system.Model, "ProLiant DL325 Gen10 Plus");
      assert.equal(system.PowerState, "On");
      r = await curl(bmc, [
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data",
        '{"ResetType":"ForceOff"}',
        `${base}/Systems/1/Actions/ComputerSystem.Reset`,
      ]);
      assert.match(r.stdout, /Base\.1\.4\.Success[^]*\n200$/);
      assert.equal(bmc.readPower(), "off");
      r = await curl(bmc, [`${base}/Systems/1`], { ...REDFISH_ADMIN, password: "wrong" });
      assert.match(r.stdout, /\n401$/);
      r = await curl(bmc, [`${base}/Systems/1`], REDFISH_READONLY);
      assert.match(r.stdout, /"PowerState":"Off"[^]*\n200$/);
    } finally {
      await bmc.stop();
    }
  });
});

describe("fence_redfish on real vendors' resources", () => {
  for (const vendor of ["dell", "hpe-ilo5", "openbmc"] as const) {
    it(`${vendor}: status, off, on, reboot, monitor, each read back; one Systems GET; sessions deleted`, async () => {
      const bmc = await startBmc(vendor);
      try {
        let r = await runAgentStdin("fence_redfish", target(bmc, { action: "status" }));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "Status: ON\n");
        assert.equal(r.stderr, "");

        let mark = bmc.mark();
        r = await runAgentStdin("fence_redfish", target(bmc, { action: "off" }));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "Success: Powered OFF\n");
        assert.equal(bmc.readPower(), "off");
        assert.deepEqual(resets(bmc, mark), [`ForceOff ${vendor === "dell" ? 204 : 200}`]);
        assert.equal(
          bmc.since(mark).filter((q) => q.path === "/redfish/v1/Systems").length,
          1,
          "the Systems collection is read once",
        );

        r = await runAgentStdin("fence_redfish", target(bmc, { action: "status" }));
        assert.equal(r.code, 2);
        assert.equal(r.stdout, "Status: OFF\n");
        r = await runAgentStdin("fence_redfish", target(bmc, { action: "off" }));
        assert.equal(r.stdout, "Success: Already OFF\n");

        r = await runAgentStdin("fence_redfish", target(bmc, { action: "on" }));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "Success: Powered ON\n");
        assert.equal(bmc.readPower(), "on");

        mark = bmc.mark();
        r = await runAgentStdin("fence_redfish", target(bmc, { action: "reboot" }));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "Success: Rebooted\n");
        assert.deepEqual(
          resets(bmc, mark).map((x) => x.split(" ")[0]),
          ["ForceOff", "On"],
          "off, then on",
        );
        assert.equal(bmc.readPower(), "on");

        r = await runAgentStdin("fence_redfish", target(bmc, { action: "monitor" }));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "");
        assert.equal(bmc.openSessions(), 0, "every session deleted");
        assert.ok(
          bmc.requests.every((q) => q.auth !== "basic"),
          "sessions, not basic auth",
        );
      } finally {
        await bmc.stop();
      }
    });
  }

  it("a two-node blade BMC: no guess without systems_uri; with it, only that node", async () => {
    const bmc = await startBmc("hpe-cray-ex425");
    try {
      const r = await runAgentStdin("fence_redfish", target(bmc, { action: "off" }));
      assertOneLineFailure(r, /manages 2 systems .*Node0.*Node1.*set systems_uri/);
      assert.equal(bmc.readPower("Node0"), "on");
      assert.equal(bmc.readPower("Node1"), "on");
      const off = await runAgentStdin(
        "fence_redfish",
        target(bmc, { action: "off", systems_uri: "/redfish/v1/Systems/Node1" }),
      );
      assert.equal(off.code, 0, off.stderr);
      assert.equal(bmc.readPower("Node1"), "off");
      assert.equal(bmc.readPower("Node0"), "on");
      // Its ActionInfo offers no ForceRestart, PowerCycle or Nmi.
      const cycle = await runAgentStdin(
        "fence_redfish",
        target(bmc, {
          action: "reboot",
          method: "cycle",
          systems_uri: "/redfish/v1/Systems/Node0",
        }),
      );
      // The framework warns about method=cycle first; then the one error line.
      assert.equal(cycle.code, 1);
      assert.match(
        cycle.stderr,
        /^WARNING: method=cycle: .*\nERROR: the BMC cannot restart the system: .*ForceOff, On, Off, none of ForceRestart, PowerCycle\n$/,
      );
      const diag = await runAgentStdin(
        "fence_redfish",
        target(bmc, { action: "diag", systems_uri: "/redfish/v1/Systems/Node0" }),
      );
      assertOneLineFailure(diag, /cannot send a diagnostic interrupt/);
      assert.equal(bmc.readPower("Node0"), "on");
    } finally {
      await bmc.stop();
    }
  });
});

describe("fence_redfish input", () => {
  let bmc: RedfishBmc;
  before(async () => {
    bmc = await startBmc("dell");
  });
  after(async () => {
    await bmc?.stop();
  });

  it("takes the command line, short and long options, and a password script", async () => {
    // Only here is a password in argv: the lab's, and the CLI style must work too.
    let r = await runAgentArgs("fence_redfish", [
      "-a",
      bmc.host,
      "-u",
      String(bmc.port),
      "-l",
      REDFISH_ADMIN.name,
      "-p",
      REDFISH_ADMIN.password,
      "-z",
      `--ssl-cacert=${certificates.caFile}`,
      "-o",
      "status",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Status: ON\n");
    r = await runAgentArgs("fence_redfish", [
      `--ip=${bmc.host}:${bmc.port}`,
      "--username",
      REDFISH_ADMIN.name,
      "--password-script",
      `echo ${REDFISH_ADMIN.password}`,
      "--ssl-cacert",
      certificates.caFile,
      "--systems-uri=/redfish/v1/Systems/System.Embedded.1",
      "--action=status",
    ]);
    assert.equal(r.code, 0, r.stderr);
  });

  it("takes fence-agents' legacy and dashed names on stdin, and ip as host:port", async () => {
    const mark = bmc.mark();
    const r = await runAgentStdin("fence_redfish", {
      ipaddr: `${bmc.host}:${bmc.port}`,
      login: REDFISH_ADMIN.name,
      passwd: REDFISH_ADMIN.password,
      "redfish-uri": "/redfish/v1/",
      "systems-uri": "/redfish/v1/Systems/System.Embedded.1",
      ssl_cacert: certificates.caFile,
      ssl: 1,
      ssl_secure: 1,
      action: "status",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      bmc.since(mark).every((q) => q.path !== "/redfish/v1/Systems"),
      "systems_uri given: no discovery",
    );
  });

  it("rejects bad input in one line with exit 1, without touching the network", async () => {
    const mark = bmc.mark();
    const base = { ip: bmc.host, ipport: bmc.port, username: "admin", password: "x" };
    const cases: [Options, RegExp][] = [
      [{ username: "admin", password: "x", action: "status" }, /fence address/],
      [{ ip: "127.0.0.1", password: "x", action: "status" }, /username/],
      [{ ip: "127.0.0.1", username: "admin", action: "status" }, /password or password script/],
      [{ ...base, action: "explode" }, /Unrecognised action/],
      [{ ...base, action: "list" }, /Unrecognised action 'list'/],
      [{ ...base, ip: "bmc:port", action: "status" }, /not a host/],
      [{ ...base, ssl_fingerprint: "AB:CD", action: "status" }, /SHA-256 fingerprints/],
      [
        { ...base, ssl_insecure: 1, ssl_fingerprint: "ab".repeat(32), action: "status" },
        /ssl_insecure/,
      ],
      [
        { ...base, ssl_cacert: "/nonexistent/ca.pem", action: "status" },
        /cannot read it \(ENOENT\)/,
      ],
      [{ ...base, systems_uri: "Systems/1", action: "status" }, /must be a path/],
      [{ ...base, auth: "kerberos", action: "status" }, /valid choice/],
      [{ ...base, power_timeout: "soon", action: "off" }, /valid time/],
    ];
    for (const [options, pattern] of cases)
      assertOneLineFailure(await runAgentStdin("fence_redfish", options), pattern);
    assert.deepEqual(bmc.since(mark), [], "no request reached the BMC");
  });

  it("validate-all checks options only", async () => {
    const ok = await runAgentStdin("fence_redfish", {
      ip: "192.0.2.1",
      username: "admin",
      password: "x",
      action: "validate-all",
    });
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await runAgentStdin("fence_redfish", { ip: "192.0.2.1", action: "validate-all" });
    assert.equal(bad.code, 1);
  });

  it("warns that gnutlscli_path is unused, and takes unknown keys with a warning", async () => {
    const r = await runAgentStdin("fence_redfish", {
      ip: "192.0.2.1",
      username: "admin",
      password: "x",
      gnutlscli_path: "/usr/bin/gnutls-cli",
      colour: "blue",
      action: "validate-all",
    });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /gnutlscli_path is ignored/);
    assert.match(r.stderr, /Ignoring unknown option 'colour'/);
  });
});

describe("fence_redfish and the BMC's certificate", () => {
  let bmc: RedfishBmc;
  before(async () => {
    bmc = await startBmc("hpe-ilo5");
  });
  after(async () => {
    await bmc?.stop();
  });

  it("refuses an untrusted certificate by default, before sending the credentials", async () => {
    const mark = bmc.mark();
    const r = await runAgentStdin(
      "fence_redfish",
      target(bmc, { ssl_cacert: undefined, action: "off" }),
    );
    assertOneLineFailure(r, /certificate of BMC 127\.0\.0\.1:\d+ is not trusted/);
    assert.match(r.stderr, new RegExp(certificates.fingerprint), "shows the fingerprint to pin");
    assert.deepEqual(bmc.since(mark), [], "no request (no password) was sent");
    assert.equal(bmc.readPower(), "on");
  });

  it("refuses a certificate the given CA did not sign, and a wrong fingerprint", async () => {
    let r = await runAgentStdin(
      "fence_redfish",
      target(bmc, { ssl_cacert: certificates.otherCaFile, action: "status" }),
    );
    assertOneLineFailure(r, /not trusted/);
    r = await runAgentStdin(
      "fence_redfish",
      target(bmc, { ssl_cacert: undefined, ssl_fingerprint: "ab".repeat(32), action: "status" }),
    );
    assertOneLineFailure(r, /does not match ssl_fingerprint/);
  });

  it("accepts the CA file, the pinned fingerprint, and ssl_insecure", async () => {
    for (const extra of [
      {},
      { ssl_cacert: undefined, ssl_fingerprint: certificates.fingerprint },
      {
        ssl_cacert: undefined,
        ssl_fingerprint: `${"00".repeat(32)},sha256 Fingerprint=${certificates.fingerprint}`,
      },
      { ssl_cacert: undefined, ssl_insecure: 1 },
    ]) {
      const r = await runAgentStdin("fence_redfish", target(bmc, { ...extra, action: "status" }));
      assert.equal(r.code, 0, `${JSON.stringify(extra)}: ${r.stderr}`);
      assert.equal(r.stdout, "Status: ON\n");
    }
  });
});

describe("fence_redfish through firmware quirks", () => {
  it("a reset answered 202 with a task monitor", async () => {
    const bmc = await startBmc("dell", { resetAnswer: "task", transitionMs: 1500 });
    try {
      const mark = bmc.mark();
      const r = await runAgentStdin("fence_redfish", target(bmc, { action: "reboot" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Success: Rebooted\n");
      assert.deepEqual(resets(bmc, mark), ["ForceOff 202", "On 202"]);
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
      assert.ok(resets(bmc, mark).includes("On 409"), resets(bmc, mark).join());
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
      assert.deepEqual(resets(bmc, mark), []);
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
      assert.deepEqual(resets(bmc, mark), ["On 400", "ForceOn 200"]);
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
      ...target({ host: "127.0.0.1", port } as RedfishBmc),
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
        assert.deepEqual(resets(bmc, mark), [], "no reset on an unknown state");
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

describe("fence_redfish beside fence-agents' fence_redfish", () => {
  let bmc: RedfishBmc;
  before(async () => {
    bmc = await startBmc("dell");
  });
  after(async () => {
    await bmc?.stop();
  });

  /** fence-agents' agent, options on stdin; it trusts the lab CA through requests' bundle. */
  function reference(action: string): Promise<RunResult> {
    const { ssl_cacert: _, ...options } = target(bmc, { action });
    return run(requireProgram("fence_redfish"), [], {
      input: stdinOf(options),
      killAfterMs: 60_000,
      env: {
        PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
        LC_ALL: "C",
        REQUESTS_CA_BUNDLE: certificates.caFile,
      },
    });
  }

  it("agree on status, and each fences the same BMC", async () => {
    for (const power of ["on", "off"] as const) {
      bmc.setPower(power);
      const theirs = await reference("status");
      const ours = await runAgentStdin("fence_redfish", target(bmc, { action: "status" }));
      assert.equal(theirs.code, power === "on" ? 0 : 2, theirs.stderr);
      assert.equal(ours.code, theirs.code);
      assert.equal(ours.stdout, theirs.stdout);
    }
    for (const [action, expected] of [
      ["on", "on"],
      ["off", "off"],
      ["reboot", "on"],
    ] as const) {
      const theirs = await reference(action);
      assert.equal(theirs.code, 0, `${action}: ${theirs.stderr}`);
      const ours = await runAgentStdin("fence_redfish", target(bmc, { action }));
      assert.equal(ours.code, 0, `${action}: ${ours.stderr}`);
      assert.equal(
        ours.stdout.replace("Already", "Powered"),
        theirs.stdout.replace("Already", "Powered"),
      );
      assert.equal(bmc.readPower(), expected);
    }
  });

  it("both refuse the lab's certificate without a trusted CA", async () => {
    const theirs = await run(requireProgram("fence_redfish"), [], {
      input: stdinOf({ ...target(bmc, { action: "status" }), ssl_cacert: undefined }),
      killAfterMs: 60_000,
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
    });
    assert.equal(theirs.code, 1);
    const ours = await runAgentStdin(
      "fence_redfish",
      target(bmc, { ssl_cacert: undefined, action: "status" }),
    );
    assert.equal(ours.code, 1);
  });

  it("a PowerState fence-agents reads as on is unknown here", async () => {
    bmc.quirks.powerStateOverride = "PoweringOff";
    try {
      const theirs = await reference("status");
      assert.equal(theirs.stdout, "Status: ON\n", "fence-agents: anything but Off is on");
      const ours = await runAgentStdin("fence_redfish", target(bmc, { action: "status" }));
      assertOneLineFailure(ours, /neither on nor off/);
    } finally {
      delete bmc.quirks.powerStateOverride;
    }
  });

  it("advertises every parameter and action fence-agents' agent does", async () => {
    const theirs = await run(requireProgram("fence_redfish"), ["-o", "metadata"]);
    const ours = await runAgentArgs("fence_redfish", ["-o", "metadata"]);
    assert.equal(ours.code, 0);
    assert.equal(ours.stderr, "");
    const names = (xml: string) =>
      new Set([...xml.matchAll(/<parameter name="([^"]+)"/g)].map((m) => m[1]));
    const missing = [...names(theirs.stdout)].filter((n) => !names(ours.stdout).has(n));
    assert.deepEqual(missing, []);
    const actions = (xml: string) =>
      [...xml.matchAll(/<action name="([^"]+)"/g)].map((m) => m[1]).sort();
    assert.deepEqual(actions(ours.stdout), actions(theirs.stdout));
    const defaults = (xml: string, name: string) =>
      new RegExp(`<parameter name="${name}"[^]*?default="([^"]*)"`).exec(xml)?.[1];
    for (const name of ["ipport", "redfish_uri", "ssl", "login_timeout", "power_timeout"])
      assert.equal(defaults(ours.stdout, name), defaults(theirs.stdout, name), name);
  });

  it("prints a man page and usage", async () => {
    const man = await runAgentArgs("fence_redfish", ["-o", "manpage"]);
    assert.match(man.stdout, /^\.TH FENCE_REDFISH 8/);
    const help = await runAgentArgs("fence_redfish", ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--ssl-fingerprint/);
  });
});
