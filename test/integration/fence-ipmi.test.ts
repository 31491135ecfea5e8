/**
 * fence_ipmi, the built executable, against real BMCs: OpenIPMI's ipmi_sim (cipher suite 3,
 * IPMI 1.5; 2.0.33 on the host and 2.0.37 from the Debian 13 root, which serves no cipher 17), our cipher-17 test BMC, and a lossy proxy for the network faults. The reference
 * fence_ipmilan runs beside it where the two must agree.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { after, before, describe, it } from "node:test";
import { runAgentArgs, runAgentStdin } from "../lab/agents.js";
import { fenceIpmilan, ipmitool, run } from "../lab/clients.js";
import { type GenerationName, labGenerations } from "../lab/generation.js";
import { ADMIN_USER, type Bmc, OPERATOR_USER, VIEWER_USER, startBmc } from "../lab/ipmi-bmc.js";
import { type AgentOptions, assertOneLineFailure, ipmiTarget } from "../lab/ipmi-fence.js";
import { type LossyProxy, startLossyProxy } from "../lab/lossy-proxy.js";
import { type TestBmc, startTestBmc } from "../lab/rmcpplus-bmc.js";

type Options = AgentOptions;
const target = ipmiTarget;

/** The OpenIPMI (ipmi_sim) each lab generation ships. */
const OPENIPMI: Record<GenerationName, string> = { debian12: "2.0.33", debian13: "2.0.37" };

for (const gen of labGenerations()) {
  describe(`${gen.title}: fence_ipmi against ipmi_sim ${OPENIPMI[gen.name]} (cipher suite 3)`, () => {
    let bmc: Bmc;
    before(async () => {
      const v = await gen.run(gen.requireProgram("dpkg-query"), [
        "-W",
        "-f=${Version}",
        "openipmi",
      ]);
      assert.equal(v.code, 0, v.stderr);
      assert.ok(v.stdout.startsWith(`${OPENIPMI[gen.name]}-`), `openipmi ${v.stdout}`);
      bmc = await startBmc({ generation: gen });
    });
    after(async () => {
      await bmc?.stop();
    });

    it("status, off, on, reboot over stdin, each read back from the BMC", async () => {
      let r = await runAgentStdin("fence_ipmi", target(bmc, { action: "status" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Status: ON\n");
      assert.equal(r.stderr, "");

      r = await runAgentStdin("fence_ipmi", target(bmc, { action: "off" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Success: Powered OFF\n");
      assert.equal(await bmc.readPower(), "off");

      r = await runAgentStdin("fence_ipmi", target(bmc, { action: "status" }));
      assert.equal(r.code, 2);
      assert.equal(r.stdout, "Status: OFF\n");

      r = await runAgentStdin("fence_ipmi", target(bmc, { action: "off" }));
      assert.equal(r.stdout, "Success: Already OFF\n");

      r = await runAgentStdin("fence_ipmi", target(bmc, { action: "on" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Success: Powered ON\n");
      assert.equal(await bmc.readPower(), "on");

      const before = (await bmc.chassisCalls()).length;
      r = await runAgentStdin("fence_ipmi", target(bmc, { action: "reboot" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Success: Rebooted\n");
      assert.equal(await bmc.readPower(), "on");
      const sets = (await bmc.chassisCalls())
        .slice(before)
        .filter((c) => c.startsWith("set power"));
      assert.deepEqual(sets, ["set power 0", "set power 1"], "off, then on");
    });

    it("takes the command line, with legacy aliases and short options", async () => {
      // Only in this test is a password in argv: it is the lab's, and the CLI style must work too.
      let r = await runAgentArgs("fence_ipmi", [
        "-a",
        bmc.host,
        "-u",
        String(bmc.port),
        "-l",
        "admin",
        "-p",
        ADMIN_USER.password,
        "-o",
        "status",
      ]);
      assert.equal(r.code, 0, r.stderr);
      r = await runAgentArgs("fence_ipmi", [
        `--ip=${bmc.host}`,
        "--ipport",
        String(bmc.port),
        "--username=admin",
        "--password-script",
        `echo ${ADMIN_USER.password}`,
        "--action=status",
        "-C",
        "3",
        "-P",
      ]);
      assert.equal(r.code, 0, r.stderr);
      r = await runAgentStdin("fence_ipmi", {
        ipaddr: bmc.host,
        ipport: bmc.port,
        login: "admin",
        passwd: ADMIN_USER.password,
        action: "monitor",
        lanplus: 1,
        cipher: 3,
        privlvl: "ADMINISTRATOR",
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "");
    });

    it("accepts operator privilege for fencing", async () => {
      const r = await runAgentStdin(
        "fence_ipmi",
        target(bmc, {
          username: OPERATOR_USER.name,
          password: OPERATOR_USER.password,
          privlvl: "operator",
          action: "reboot",
        }),
      );
      assert.equal(r.code, 0, r.stderr);
    });

    it("speaks IPMI 1.5 only when lanplus=0 is asked for", async () => {
      for (const auth of ["md5", "password"]) {
        const r = await runAgentStdin(
          "fence_ipmi",
          target(bmc, { lanplus: 0, auth, action: "status" }),
        );
        assert.equal(r.code, 0, `${auth}: ${r.stderr}`);
        assert.equal(r.stdout, "Status: ON\n");
      }
    });

    it("fails a wrong password at RAKP, at once, in one line", async () => {
      const r = await runAgentStdin(
        "fence_ipmi",
        target(bmc, { password: "not-the-password", action: "off" }),
      );
      assertOneLineFailure(r, /password|authenticat|RAKP/i);
      assert.doesNotMatch(r.stderr, /not-the-password/);
      assert.equal(await bmc.readPower(), "on");
    });

    it("fails an unknown user in one line", async () => {
      const r = await runAgentStdin(
        "fence_ipmi",
        target(bmc, { username: "nobody", action: "status" }),
      );
      assertOneLineFailure(r, /user|name|authenticat/i);
    });

    it("fails at once when the BMC refuses Chassis Control for lack of privilege (0xD4)", async () => {
      const r = await runAgentStdin(
        "fence_ipmi",
        target(bmc, {
          username: VIEWER_USER.name,
          password: VIEWER_USER.password,
          privlvl: "user",
          action: "off",
        }),
      );
      assertOneLineFailure(r, /privilege/i);
      assert.match(r.stderr, /0xD4/i);
      assert.ok(r.ms < 5000, `took ${r.ms} ms`);
      assert.equal(await bmc.readPower(), "on");
    });

    it("fails after power_timeout when the BMC accepts off but never powers off", async () => {
      await bmc.setStuck(true);
      try {
        const r = await runAgentStdin(
          "fence_ipmi",
          target(bmc, { action: "off", power_timeout: 2 }),
        );
        assertOneLineFailure(r, /Timed out waiting to power OFF/);
        assert.ok(r.ms >= 2000 && r.ms < 10_000, `took ${r.ms} ms`);
        assert.equal(await bmc.readPower(), "on");
        const reboot = await runAgentStdin(
          "fence_ipmi",
          target(bmc, { action: "reboot", power_timeout: 1 }),
        );
        assert.equal(reboot.code, 1, "reboot never succeeds without a verified off");
      } finally {
        await bmc.setStuck(false);
      }
    });

    it("method=cycle uses the BMC's power cycle, warned about as unverified", async () => {
      const before = (await bmc.chassisCalls()).length;
      const r = await runAgentStdin(
        "fence_ipmi",
        target(bmc, { action: "reboot", method: "cycle" }),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Success: Rebooted\n");
      assert.match(r.stderr, /^WARNING: method=cycle: .*not verified/);
      assert.ok((await bmc.chassisCalls()).slice(before).includes("set power 0"));
    });

    it("reports a diagnostic interrupt the BMC does not support with its completion code", async () => {
      const r = await runAgentStdin("fence_ipmi", target(bmc, { action: "diag" }));
      assertOneLineFailure(r, /Chassis Control: invalid data field in request \(0xCC\)/);
    });

    it("agrees with fence_ipmilan on the same BMC", async () => {
      await bmc.setPower("off");
      const reference = await fenceIpmilan(bmc, "status", { generation: gen });
      const ours = await runAgentStdin(
        "fence_ipmi",
        target(bmc, { action: "status", lanplus: 1, cipher: 3 }),
      );
      assert.equal(reference.code, 2, reference.stderr);
      assert.equal(ours.code, reference.code);
      assert.equal(ours.stdout, reference.stdout);
      await bmc.setPower("on");
    });

    it("keeps the password out of stderr and the debug file, at any verbosity", async () => {
      const debugFile = `${bmc.dir}/fence-debug.log`;
      const r = await runAgentStdin(
        "fence_ipmi",
        target(bmc, { action: "status", verbose: 1, verbose_level: 3, debug_file: debugFile }),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stderr.length > 0, "verbose output expected");
      const { readFile } = await import("node:fs/promises");
      const debug = await readFile(debugFile, "utf8");
      for (const text of [r.stderr, r.stdout, debug])
        assert.doesNotMatch(text, new RegExp(ADMIN_USER.password));
    });

    // OpenIPMI's lanserv knows two RAKP algorithms (lanserv_ipmi.c's auths[]: RAKP-HMAC-SHA1 and
    // RAKP-HMAC-MD5, in 2.0.33 and 2.0.37 alike): Open Session for suite 17 (RAKP-HMAC-SHA256) is
    // refused with RMCP+ status 0x04, by fence_ipmi's session and by the generation's ipmitool.
    it("serves no cipher suite 17: Open Session refused (invalid authentication algorithm)", async () => {
      const r = await runAgentStdin("fence_ipmi", target(bmc, { cipher: 17, action: "status" }));
      assertOneLineFailure(
        r,
        /does not support cipher suite 17: invalid authentication algorithm \(RMCP\+ status 0x04\)/,
      );
      const seventeen = await ipmitool(bmc, ["chassis", "power", "status"], {
        cipher: 17,
        generation: gen,
        retries: 1,
        timeoutSec: 1,
      });
      assert.notEqual(seventeen.code, 0, seventeen.stdout);
      assert.match(seventeen.stderr, /invalid authentication algorithm/i);
      const three = await ipmitool(bmc, ["chassis", "power", "status"], { generation: gen });
      assert.equal(three.code, 0, three.stderr);
      assert.equal(three.stdout.trim(), "Chassis Power is on");
      // Without `cipher`, 17 is refused and 3 taken at once.
      const auto = await runAgentStdin("fence_ipmi", target(bmc, { action: "status" }));
      assert.equal(auto.code, 0, auto.stderr);
    });
  });
}

describe("fence_ipmi against faulty networks and BMCs", () => {
  let bmc: Bmc;
  let proxy: LossyProxy;
  before(async () => {
    bmc = await startBmc();
    proxy = await startLossyProxy({
      upstreamPort: bmc.port,
      lossToBmc: 0.2,
      lossFromBmc: 0.2,
      seed: 7,
    });
  });
  after(async () => {
    await proxy?.stop();
    await bmc?.stop();
  });

  it("still fences under 20% packet loss both ways", async () => {
    for (const action of ["off", "on", "reboot"]) {
      const r = await runAgentStdin("fence_ipmi", target(proxy, { action }));
      assert.equal(r.code, 0, `${action}: ${r.stderr}`);
    }
    assert.equal(await bmc.readPower(), "on");
    const stats = proxy.stats();
    assert.ok(stats.toBmc.dropped + stats.fromBmc.dropped > 0, "the proxy did drop packets");
  });

  it("fails within login_timeout when the BMC is down", async () => {
    proxy.setMode("blackhole");
    try {
      const r = await runAgentStdin(
        "fence_ipmi",
        target(proxy, { action: "off", login_timeout: 3 }),
      );
      assertOneLineFailure(r, /no answer|timed out|unreachable/i);
      assert.ok(r.ms < 3000 + 1500, `took ${r.ms} ms`);
    } finally {
      proxy.setMode("forward");
    }
  });

  it("fails cleanly when the BMC answers garbage", async () => {
    proxy.setMode("garbage");
    try {
      const r = await runAgentStdin(
        "fence_ipmi",
        target(proxy, { action: "off", login_timeout: 2 }),
      );
      assertOneLineFailure(r, /.+/);
    } finally {
      proxy.setMode("forward");
    }
    assert.equal(await bmc.readPower(), "on");
  });

  it("fails within login_timeout when nothing listens at all", async () => {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    const port = socket.address().port;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    const r = await runAgentStdin(
      "fence_ipmi",
      target({ host: "127.0.0.1", port }, { action: "status", login_timeout: 2 }),
    );
    assertOneLineFailure(r, /.+/);
    assert.ok(r.ms < 2000 + 1500, `took ${r.ms} ms`);
  });
});

describe("fence_ipmi with cipher suite 17", () => {
  let bmc17: TestBmc;
  let bmcSim: Bmc;
  before(async () => {
    bmc17 = await startTestBmc({ suites: [17] });
    bmcSim = await startBmc();
  });
  after(async () => {
    await bmc17?.stop();
    await bmcSim?.stop();
  });

  it("fences a SHA-256-only BMC with cipher=17 and by default", async () => {
    for (const cipher of [17, undefined]) {
      let r = await runAgentStdin("fence_ipmi", target(bmc17, { cipher, action: "off" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(bmc17.power, "off");
      r = await runAgentStdin("fence_ipmi", target(bmc17, { cipher, action: "on" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(bmc17.power, "on");
    }
    assert.ok(bmc17.log.some((l) => l.includes("-> 17")));
  });

  it("sends a diagnostic interrupt (diag)", async () => {
    const r = await runAgentStdin("fence_ipmi", target(bmc17, { action: "diag" }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Success: Rebooted\n"); // fence_ipmilan's line for diag
    assert.ok(bmc17.log.includes("chassis control 4"));
  });

  it("refuses a wrong password with cipher 17", async () => {
    const r = await runAgentStdin(
      "fence_ipmi",
      target(bmc17, { cipher: 17, password: "wrong", action: "status" }),
    );
    assertOneLineFailure(r, /password|authenticat|RAKP/i);
  });

  it("falls back from 17 to 3 at once on a BMC without SHA-256 (ipmi_sim)", async () => {
    const r = await runAgentStdin("fence_ipmi", target(bmcSim, { action: "status" }));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms < 3000, `a rejected suite must not cost a timeout (took ${r.ms} ms)`);
  });

  it("fails clearly when cipher=17 is asked of a BMC without SHA-256", async () => {
    const r = await runAgentStdin("fence_ipmi", target(bmcSim, { cipher: 17, action: "status" }));
    assertOneLineFailure(r, /cipher|suite|algorithm/i);
  });
});

describe("fence_ipmi input handling", () => {
  it("rejects bad input in one line with exit 1, without touching the network", async () => {
    const cases: [Options, RegExp][] = [
      [{ action: "off" }, /fence address/],
      [{ ip: "127.0.0.1", action: "explode" }, /Unrecognised action/],
      [{ ip: "127.0.0.1", action: "off", cipher: 7 }, /cipher suite 7/],
      [{ ip: "127.0.0.1", action: "off", privlvl: "god" }, /valid choice/],
      [{ ip: "127.0.0.1", action: "off", power_timeout: "soon" }, /valid time/],
      [{ ip: "127.0.0.1", action: "off", target: "0x20" }, /bridging/],
      [{ ip: "127.0.0.1", action: "list" }, /Unrecognised action 'list'/],
    ];
    for (const [options, pattern] of cases)
      assertOneLineFailure(await runAgentStdin("fence_ipmi", options), pattern);
  });

  it("validate-all checks options only", async () => {
    assert.equal(
      (await runAgentStdin("fence_ipmi", { ip: "192.0.2.1", action: "validate-all" })).code,
      0,
    );
    assert.equal((await runAgentStdin("fence_ipmi", { action: "validate-all" })).code, 1);
  });

  it("warns about unknown keys and accepts fence_ipmilan's no-op ones", async () => {
    const r = await runAgentStdin("fence_ipmi", {
      ip: "192.0.2.1",
      action: "validate-all",
      colour: "blue",
      ipmitool_path: "/usr/bin/ipmitool",
    });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /Ignoring unknown option 'colour'/);
    assert.match(r.stderr, /ipmitool_path is ignored/);
  });

  it("advertises every parameter fence_ipmilan does, so existing configurations keep working", async () => {
    const reference = await run("/usr/sbin/fence_ipmilan", ["-o", "metadata"]);
    const ours = await runAgentArgs("fence_ipmi", ["-o", "metadata"]);
    assert.equal(ours.code, 0);
    assert.equal(ours.stderr, "");
    const names = (xml: string) =>
      new Set([...xml.matchAll(/<parameter name="([^"]+)"/g)].map((m) => m[1]));
    const missing = [...names(reference.stdout)].filter((n) => !names(ours.stdout).has(n));
    assert.deepEqual(missing, []);
    const actions = (xml: string) =>
      [...xml.matchAll(/<action name="([^"]+)"/g)].map((m) => m[1]).sort();
    assert.deepEqual(actions(ours.stdout), actions(reference.stdout));
  });

  it("prints a man page and usage", async () => {
    const man = await runAgentArgs("fence_ipmi", ["-o", "manpage"]);
    assert.match(man.stdout, /^\.TH FENCE_IPMI 8/);
    const help = await runAgentArgs("fence_ipmi", ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--lanplus/);
  });
});
