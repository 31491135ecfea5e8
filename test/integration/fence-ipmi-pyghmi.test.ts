/**
 * fence_ipmi, the built executable, against a BMC nobody here wrote: pyghmi's
 * (`pyghmi.ipmi.bmc`, Debian python3-pyghmi). Checked first to be a real peer of ipmitool and
 * fence_ipmilan, then fenced at fence_ipmi's DEFAULT settings, with options from stdin (as
 * Pacemaker gives them) and from the command line. pyghmi's BMC answers Open Session for suite 17
 * with suite 3's algorithms, speaks no IPMI 1.5 and ignores unknown users: the quirks real
 * firmware shows.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runAgentArgs, runAgentStdin } from "../lab/agents.js";
import { fenceIpmilan, ipmitool } from "../lab/clients.js";
import { type AgentOptions, assertOneLineFailure, ipmiTarget } from "../lab/ipmi-fence.js";
import { ADMIN_USER } from "../lab/ipmi-users.js";
import { type PyghmiBmc, startPyghmiBmc } from "../lab/pyghmi-bmc.js";

describe("fence_ipmi against pyghmi's BMC", () => {
  let bmc: PyghmiBmc;
  const stdin = (extra: AgentOptions) => runAgentStdin("fence_ipmi", ipmiTarget(bmc, extra));
  before(async () => {
    bmc = await startPyghmiBmc();
  });
  after(async () => {
    await bmc?.stop();
  });

  it("is a real BMC for ipmitool and fence_ipmilan (lanplus)", async () => {
    // No -C: ipmitool asks Get Channel Cipher Suites, which pyghmi answers with suite 3.
    let r = await ipmitool(bmc, ["chassis", "power", "off"], { cipher: 3 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await bmc.readPower(), "off");
    r = await ipmitool(bmc, ["chassis", "power", "status"], { cipher: 3 });
    assert.match(r.stdout, /Chassis Power is off/);
    const reference = await fenceIpmilan(bmc, "on");
    assert.equal(reference.code, 0, reference.stderr);
    assert.equal(await bmc.readPower(), "on");
    // ipmitool -C 17 takes pyghmi's answer with suite 3's algorithms for a refusal.
    r = await ipmitool(bmc, ["chassis", "power", "status"], { cipher: 17, retries: 1 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not what we requested/);
  });

  it("default settings, options on stdin: status, off, on, reboot, monitor, each read back", async () => {
    await bmc.setPower("on");
    let r = await stdin({ action: "status" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Status: ON\n");
    assert.equal(r.stderr, "");

    r = await stdin({ action: "off" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Success: Powered OFF\n");
    assert.equal(await bmc.readPower(), "off");

    r = await stdin({ action: "status" });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, "Status: OFF\n");

    r = await stdin({ action: "on" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Success: Powered ON\n");
    assert.equal(await bmc.readPower(), "on");

    const before = (await bmc.chassisCalls()).length;
    r = await stdin({ action: "reboot" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Success: Rebooted\n");
    assert.deepEqual((await bmc.chassisCalls()).slice(before), ["set power 0", "set power 1"]);
    assert.equal(await bmc.readPower(), "on");

    r = await stdin({ action: "monitor" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
  });

  it("default settings, options on the command line", async () => {
    // The lab's password in argv: only here, to prove the command-line style works too.
    const argv = (action: string) => [
      `--ip=${bmc.host}`,
      `--ipport=${bmc.port}`,
      `--username=${ADMIN_USER.name}`,
      `--password=${ADMIN_USER.password}`,
      `--action=${action}`,
    ];
    let r = await runAgentArgs("fence_ipmi", argv("off"));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await bmc.readPower(), "off");
    r = await runAgentArgs("fence_ipmi", argv("status"));
    assert.equal(r.code, 2, r.stderr);
    r = await runAgentArgs("fence_ipmi", argv("on"));
    assert.equal(r.code, 0, r.stderr);
    r = await runAgentArgs("fence_ipmi", argv("reboot"));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Success: Rebooted\n");
    r = await runAgentArgs("fence_ipmi", argv("monitor"));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await bmc.readPower(), "on");
  });

  it("diag sends the diagnostic interrupt (fence_ipmilan's: a method=cycle reboot's line)", async () => {
    const r = await stdin({ action: "diag" });
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await bmc.chassisCalls()).includes("diag"));
    // What the reference prints for it (docs/fence_ipmi.md, "diag").
    const reference = await fenceIpmilan(bmc, "diag");
    assert.equal(reference.code, 0, reference.stderr);
    assert.equal(reference.stdout, "Success: Rebooted\n");
  });

  it("explicit settings: cipher=3 and operator privilege fence; cipher=17 and lanplus=0 fail naming the cause", async () => {
    let r = await stdin({ action: "reboot", cipher: 3, privlvl: "operator" });
    assert.equal(r.code, 0, r.stderr);
    r = await stdin({ action: "off", cipher: 17 });
    assertOneLineFailure(r, /answered cipher suite 17 with other algorithms .*cipher=3/);
    r = await stdin({ action: "off", lanplus: 0 });
    assertOneLineFailure(r, /answers only IPMI 2\.0 requests: remove lanplus=0/);
    assert.equal(await bmc.readPower(), "on");
  });

  it("an unknown user, which pyghmi ignores, is named with the time spent", async () => {
    const r = await stdin({ action: "status", username: "nobody", login_timeout: 3 });
    assertOneLineFailure(
      r,
      /never RAKP 1 for user 'nobody' \(\d logins? in [\d.]+ s\): most likely it does not know user 'nobody'/,
    );
  });

  it("a wrong password is caught at RAKP 2, and never printed", async () => {
    const r = await stdin({ action: "off", password: "not-the-secret" });
    assertOneLineFailure(r, /wrong password \(RAKP 2/);
    assert.doesNotMatch(r.stderr, /not-the-secret/);
    assert.equal(await bmc.readPower(), "on");
  });

  it("Chassis Control acknowledged but power never changes: off fails after power_timeout", async () => {
    await bmc.setStuck(true);
    try {
      const r = await stdin({ action: "off", power_timeout: 2 });
      assertOneLineFailure(r, /Timed out waiting to power OFF/);
      assert.equal(await bmc.readPower(), "on");
    } finally {
      await bmc.setStuck(false);
    }
  });
});
