/**
 * The BMC quirks matrix (docs/fence_ipmi.md, "BMC quirks"): fence_ipmi, the built executable,
 * against the scripted RMCP+ BMC behaving as real firmware and other implementations do, each
 * quirk at fence_ipmi's default settings and with explicit ones. Every success is a power state
 * read back; every failure is one line naming the cause.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { runAgentStdin } from "../lab/agents.js";
import { assertBounded, assertNoWait } from "../lab/bounds.js";
import { type AgentOptions, assertOneLineFailure, ipmiTarget } from "../lab/ipmi-fence.js";
import { OPERATOR_USER } from "../lab/ipmi-users.js";
import { type TestBmc, startTestBmc } from "../lab/rmcpplus-bmc.js";

/** The agent runs are killed after this: far past any bound below. */
const KILL_AFTER_MS = 60_000;

function fence(bmc: TestBmc, extra: AgentOptions = {}) {
  return runAgentStdin("fence_ipmi", ipmiTarget(bmc, extra), KILL_AFTER_MS);
}

/** off, on and status at these settings, each read back from the BMC. */
async function assertFences(bmc: TestBmc, extra: AgentOptions = {}): Promise<void> {
  bmc.power = "on";
  let r = await fence(bmc, { ...extra, action: "off" });
  assert.equal(r.code, 0, `off: ${r.stderr}`);
  assert.equal(r.stdout, "Success: Powered OFF\n");
  assert.equal(bmc.power, "off");
  r = await fence(bmc, { ...extra, action: "status" });
  assert.equal(r.code, 2, `status: ${r.stderr}`);
  assert.equal(r.stdout, "Status: OFF\n");
  r = await fence(bmc, { ...extra, action: "on" });
  assert.equal(r.code, 0, `on: ${r.stderr}`);
  assert.equal(bmc.power, "on");
}

/** The cipher suites the BMC agreed to, in order ("open session … -> 17"). */
function suitesUsed(bmc: TestBmc): string[] {
  return bmc.log.flatMap((l) => /^open session .* -> (\S+)$/.exec(l)?.slice(1) ?? []);
}

describe("BMC quirks: fence_ipmi at default and explicit settings", () => {
  let bmc: TestBmc;
  before(async () => {
    bmc = await startTestBmc({ suites: [17, 3] });
  });
  afterEach(() => {
    bmc.resetQuirks();
    bmc.log.length = 0;
  });
  after(async () => {
    await bmc?.stop();
  });

  it("Open Session for 17 answered with suite 3's algorithms: default goes on with 3; cipher=17 refuses", async () => {
    bmc.quirks.answerWithSuite = 3;
    await assertFences(bmc);
    assert.deepEqual([...new Set(suitesUsed(bmc))], ["3"]);
    await assertFences(bmc, { cipher: 3 });
    const r = await fence(bmc, { cipher: 17, action: "off" });
    assertOneLineFailure(
      r,
      /answered cipher suite 17 with other algorithms \(.*cipher suite 3's\): it does not support suite 17; cipher=3/,
    );
    assert.equal(bmc.power, "on");
  });

  for (const mode of ["ignore", "garbage"] as const) {
    it(`Get Channel Cipher Suites ${mode === "ignore" ? "ignored" : "answered with garbage"}: never asked, so every setting fences`, async () => {
      bmc.quirks.cipherSuitesCommand = mode;
      await assertFences(bmc);
      await assertFences(bmc, { cipher: 17 });
      await assertFences(bmc, { cipher: 3 });
      assert.ok(!bmc.log.some((l) => l.startsWith("ipmi 6/54")), "no Get Channel Cipher Suites");
    });
  }

  it("RAKP 1 dropped for an unknown user: the message names the user and the whole time", async () => {
    bmc.quirks.unknownUser = "drop";
    for (const [extra, loginMs] of [
      [{}, 5000],
      [{ cipher: 3, login_timeout: 2 }, 2000],
    ] as const) {
      const r = await fence(bmc, { ...extra, username: "nobody", action: "status" });
      assertOneLineFailure(
        r,
        /answered Open Session but never RAKP 1 for user 'nobody' \(\d logins? in [\d.]+ s\): most likely it does not know user 'nobody'/,
      );
      assert.doesNotMatch(r.stderr, /0\.9\d s/);
      assertBounded(r.ms, loginMs, "an unknown user's login");
    }
  });

  const rakp2Codes: [number, RegExp][] = [
    [0x01, /insufficient resources to create a session \(RAKP 2 status 0x01\)/],
    [0x02, /invalid session ID \(RAKP 2 status 0x02\)/],
    [0x0d, /does not know user 'admin': unauthorized name \(RAKP 2 status 0x0D\)/],
    [0x0e, /unauthorized GUID \(RAKP 2 status 0x0E\)/],
    [0x12, /illegal or unrecognized parameter \(RAKP 2 status 0x12\)/],
    [0x0a, /refused privilege administrator .*unauthorized role .*\(RAKP 2 status 0x0A\)/],
  ];
  for (const [code, message] of rakp2Codes) {
    it(`RAKP 2 status 0x${code.toString(16).padStart(2, "0")}: named in the message`, async () => {
      bmc.quirks.rakp2Status = code;
      for (const extra of [{}, { cipher: 17 }]) {
        const r = await fence(bmc, { ...extra, action: "off" });
        assertOneLineFailure(r, message);
      }
      assert.equal(bmc.power, "on");
    });
  }

  const rakp4Codes: [number, RegExp][] = [
    [0x02, /invalid session ID \(RAKP 4 status 0x02\)/],
    [0x0f, /invalid integrity check value \(RAKP 4 status 0x0F\)/],
    [0x01, /insufficient resources to create a session \(RAKP 4 status 0x01\)/],
  ];
  for (const [code, message] of rakp4Codes) {
    it(`RAKP 4 status 0x${code.toString(16).padStart(2, "0")}: named in the message`, async () => {
      bmc.quirks.rakp4Status = code;
      for (const extra of [{}, { cipher: 3 }]) {
        const r = await fence(bmc, { ...extra, action: "off" });
        assertOneLineFailure(r, message);
      }
      assert.equal(bmc.power, "on");
    });
  }

  it("no IPMI 1.5: the default (IPMI 2.0) fences; lanplus=0 fails naming the cause", async () => {
    for (const ipmi15 of ["refuse", "drop"] as const) {
      bmc.quirks.ipmi15 = ipmi15;
      await assertFences(bmc);
      const r = await fence(bmc, { lanplus: 0, action: "status" });
      assertOneLineFailure(
        r,
        ipmi15 === "drop"
          ? /ignores IPMI 1\.5 and answers only IPMI 2\.0 requests: remove lanplus=0/
          : /does not offer IPMI 1\.5 authentication type md5/,
      );
    }
  });

  it("cipher 17 allowed only up to operator (cipher_privs): default falls back to 3; cipher=17 needs privlvl=operator", async () => {
    bmc.quirks.suitePrivilege = { 17: 3 };
    await assertFences(bmc);
    assert.deepEqual(suitesUsed(bmc).slice(0, 2), ["17", "3"], "17 refused administrator, then 3");
    const refused = await fence(bmc, { cipher: 17, action: "off" });
    assertOneLineFailure(
      refused,
      /refused privilege administrator for user 'admin' with cipher suite 17: unauthorized role or privilege level requested \(RAKP 2 status 0x0A\); privlvl=operator is enough/,
    );
    assert.equal(bmc.power, "on");
    bmc.log.length = 0;
    await assertFences(bmc, { cipher: 17, privlvl: "operator" });
    await assertFences(bmc, {
      privlvl: "operator",
      username: OPERATOR_USER.name,
      password: OPERATOR_USER.password,
    });
    assert.deepEqual([...new Set(suitesUsed(bmc))], ["17"]);
  });

  it("answers from another source port: taken, since they come from the BMC's address", async () => {
    bmc.quirks.answerFromOtherPort = true;
    await assertFences(bmc);
    await assertFences(bmc, { cipher: 17 });
  });

  it("duplicate answers: each counted once", async () => {
    bmc.quirks.duplicateAnswers = true;
    await assertFences(bmc);
    await assertFences(bmc, { cipher: 3 });
    const r = await fence(bmc, { action: "reboot" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(bmc.power, "on");
  });

  it("late answers (after a retransmission): a slow BMC still fences", async () => {
    bmc.quirks.delayMs = 400;
    await assertFences(bmc);
    await assertFences(bmc, { cipher: 17, ipmitool_timeout: 3, login_timeout: 8 });
  });

  for (const first of [0x7a3b1c2d, 0xfffffffd]) {
    it(`session sequence numbers starting at 0x${first.toString(16)}`, async () => {
      bmc.quirks.firstSessionSeq = first;
      await assertFences(bmc);
      await assertFences(bmc, { cipher: 3 });
      const r = await fence(bmc, { action: "reboot" });
      assert.equal(r.code, 0, r.stderr);
    });
  }

  it("a silent BMC fails at once, at any login_timeout, and says why", async () => {
    bmc.quirks.silent = true;
    for (const extra of [
      { login_timeout: 10, ipmitool_timeout: 4 },
      { cipher: 17, login_timeout: 10 },
      {},
    ]) {
      const r = await fence(bmc, { ...extra, action: "off" });
      assertOneLineFailure(
        r,
        /no answer from BMC .* within 1 s \(Get Channel Authentication Capabilities\): the BMC is off, unreachable, or not serving IPMI/,
      );
      if (extra.login_timeout === 10) assertNoWait(r.ms, 10_000, "a silent BMC's login_timeout");
      else assertBounded(r.ms, 1000, "a silent BMC's first answer");
    }
  });
});

describe("BMC quirks: IPv6 with a zone id", () => {
  let bmc: TestBmc;
  before(async () => {
    bmc = await startTestBmc({ host: "::1", suites: [17, 3] });
  });
  after(async () => {
    await bmc?.stop();
  });

  it("fences a BMC addressed as ::1%lo", async () => {
    const r = await runAgentStdin(
      "fence_ipmi",
      ipmiTarget({ host: "::1%lo", port: bmc.port }, { action: "status" }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Status: ON\n");
  });

  it("a zone naming no interface is a one-line error", async () => {
    const r = await runAgentStdin(
      "fence_ipmi",
      ipmiTarget({ host: "fe80::1%nosuchif0", port: bmc.port }, { action: "status" }),
    );
    assertOneLineFailure(r, /no network interface 'nosuchif0' on this host/);
  });
});
