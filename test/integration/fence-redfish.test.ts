/**
 * fence_redfish, the built executable, against the lab Redfish BMC (test/lab/redfish-bmc.ts):
 * real vendors' resources (iDRAC 9, iLO 5, OpenBMC, a two-node HPE Cray blade) served over HTTPS
 * with a lab CA's certificate: every action, both input styles, the certificate checks; and
 * fence-agents' fence_redfish beside it on the same BMC where the two must agree. The firmware
 * quirks are in fence-redfish-quirks.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it, after, before } from "node:test";
import { advertised, assertOneLineFailure, runAgentArgs, runAgentStdin } from "../lab/agents.js";
import { requireProgram } from "../lab/bins.js";
import { type RunResult, run } from "../lab/clients.js";
import { REDFISH_ADMIN, REDFISH_READONLY, RedfishBmc } from "../lab/redfish-bmc.js";
import {
  type AgentOptions,
  curlRedfish,
  fenceRedfishReference,
  redfishLabForFile,
  resetsSince,
} from "../lab/redfish-clients.js";

const lab = redfishLabForFile();
const { startBmc, target } = lab;

describe("the lab Redfish BMC, checked with curl", () => {
  it("serves its vendor's resources over HTTPS, takes resets, refuses bad credentials", async () => {
    const bmc = await startBmc("hpe-ilo5");
    try {
      const base = `https://127.0.0.1:${bmc.port}/redfish/v1`;
      let r = await curlRedfish(lab.certificates, [`${base}/Systems/1`]);
      const [body, code] = [
        r.stdout.slice(0, r.stdout.lastIndexOf("\n")),
        r.stdout.split("\n").pop(),
      ];
      assert.equal(code, "200");
      const system = JSON.parse(body) as { Model: string; PowerState: string };
      assert.equal(system.Model, "ProLiant DL325 Gen10 Plus");
      assert.equal(system.PowerState, "On");
      r = await curlRedfish(lab.certificates, [
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
      r = await curlRedfish(lab.certificates, [`${base}/Systems/1`], {
        ...REDFISH_ADMIN,
        password: "wrong",
      });
      assert.match(r.stdout, /\n401$/);
      r = await curlRedfish(lab.certificates, [`${base}/Systems/1`], REDFISH_READONLY);
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
        assert.deepEqual(resetsSince(bmc, mark), [`ForceOff ${vendor === "dell" ? 204 : 200}`]);
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
          resetsSince(bmc, mark).map((x) => x.split(" ")[0]),
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
      `--ssl-cacert=${lab.certificates.caFile}`,
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
      lab.certificates.caFile,
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
      ssl_cacert: lab.certificates.caFile,
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
    const cases: [AgentOptions, RegExp][] = [
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
    assert.match(
      r.stderr,
      new RegExp(lab.certificates.fingerprint),
      "shows the fingerprint to pin",
    );
    assert.deepEqual(bmc.since(mark), [], "no request (no password) was sent");
    assert.equal(bmc.readPower(), "on");
  });

  it("refuses a certificate the given CA did not sign, and a wrong fingerprint", async () => {
    let r = await runAgentStdin(
      "fence_redfish",
      target(bmc, { ssl_cacert: lab.certificates.otherCaFile, action: "status" }),
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
      { ssl_cacert: undefined, ssl_fingerprint: lab.certificates.fingerprint },
      {
        ssl_cacert: undefined,
        ssl_fingerprint: `${"00".repeat(32)},sha256 Fingerprint=${lab.certificates.fingerprint}`,
      },
      { ssl_cacert: undefined, ssl_insecure: 1 },
    ]) {
      const r = await runAgentStdin("fence_redfish", target(bmc, { ...extra, action: "status" }));
      assert.equal(r.code, 0, `${JSON.stringify(extra)}: ${r.stderr}`);
      assert.equal(r.stdout, "Status: ON\n");
    }
  });
});

describe("fence_redfish and a BMC's own self-signed certificate", () => {
  it("refuses it by default; trusts it as ssl_cacert or by its fingerprint", async () => {
    const bmc = await RedfishBmc.start({ certificates: lab.certificates, selfSigned: true });
    try {
      let r = await runAgentStdin(
        "fence_redfish",
        target(bmc, { ssl_cacert: undefined, action: "status" }),
      );
      assertOneLineFailure(r, /not trusted \(self[- ]signed certificate/);
      assert.match(r.stderr, new RegExp(lab.certificates.selfSignedFingerprint));
      for (const extra of [
        { ssl_cacert: lab.certificates.selfSignedCertFile },
        { ssl_cacert: undefined, ssl_fingerprint: lab.certificates.selfSignedFingerprint },
      ]) {
        r = await runAgentStdin("fence_redfish", target(bmc, { ...extra, action: "status" }));
        assert.equal(r.code, 0, `${JSON.stringify(extra)}: ${r.stderr}`);
      }
      // The lab CA did not sign this one.
      r = await runAgentStdin("fence_redfish", target(bmc, { action: "status" }));
      assertOneLineFailure(r, /not trusted/);
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

  const reference = (action: string): Promise<RunResult> =>
    fenceRedfishReference(target(bmc, { action }), lab.certificates.caFile);

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
    const theirs = await fenceRedfishReference(target(bmc, { action: "status" }));
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
    const [mine, reference] = [advertised(ours.stdout), advertised(theirs.stdout)];
    assert.deepEqual(
      [...reference.parameters].filter((n) => !mine.parameters.has(n)),
      [],
      "parameters fence-agents advertises that we do not",
    );
    assert.deepEqual(mine.actions, reference.actions);
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
