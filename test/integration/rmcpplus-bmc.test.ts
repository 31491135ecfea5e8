/**
 * Our cipher-suite-17 test BMC is only worth testing fence_ipmi against if an independent client
 * accepts it: ipmitool -I lanplus -C 17 must log in, read and switch power through it, and be
 * refused where a real BMC refuses.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ipmitool } from "../lab/clients.js";
import { ADMIN_USER, VIEWER_USER } from "../lab/ipmi-bmc.js";
import { type TestBmc, startTestBmc } from "../lab/rmcpplus-bmc.js";

describe("RMCP+ test BMC, checked by ipmitool", () => {
  let bmc: TestBmc;
  before(async () => {
    bmc = await startTestBmc({ suites: [17] });
  });
  after(async () => {
    await bmc.stop();
  });

  it("serves cipher suite 17: status, off, on", async () => {
    let r = await ipmitool(bmc, ["chassis", "power", "status"], {
      cipher: 17,
      timeoutSec: 1,
      retries: 1,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Chassis Power is on/);
    r = await ipmitool(bmc, ["chassis", "power", "off"], { cipher: 17, timeoutSec: 1, retries: 1 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(bmc.power, "off");
    r = await ipmitool(bmc, ["chassis", "power", "on"], { cipher: 17, timeoutSec: 1, retries: 1 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(bmc.power, "on");
    assert.ok(bmc.log.some((line) => line.includes("-> 17")));
  });

  it("rejects a wrong password in RAKP", async () => {
    const r = await ipmitool(bmc, ["chassis", "power", "status"], {
      cipher: 17,
      timeoutSec: 1,
      retries: 1,
      user: { ...ADMIN_USER, password: "wrong" },
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /RAKP|session|authcode|Unable/i);
  });

  it("refuses Chassis Control to a user-privilege session (0xD4)", async () => {
    const r = await ipmitool(bmc, ["chassis", "power", "off"], {
      cipher: 17,
      timeoutSec: 1,
      retries: 1,
      user: VIEWER_USER,
      privilege: "USER",
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Insufficient privilege/i);
    assert.equal(bmc.power, "on");
  });

  it("rejects cipher suite 3 when it offers only 17", async () => {
    const r = await ipmitool(bmc, ["chassis", "power", "status"], {
      cipher: 3,
      timeoutSec: 1,
      retries: 1,
    });
    assert.notEqual(r.code, 0);
  });
});
