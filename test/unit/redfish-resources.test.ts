/**
 * What lib/redfish makes of Redfish resources, on real vendors' resources
 * (test/fixtures/redfish: iDRAC 9, iLO 5, OpenBMC, a two-node HPE Cray blade; DMTF's task) and on
 * the answers real firmware gives (iDRAC's 409, iLO's 200 "error" Success body).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { RedfishCapabilityError, RedfishProtocolError } from "../../lib/redfish/errors.js";
import {
  RESET_TYPES,
  allowableFromActionInfo,
  chooseSystem,
  errorMessageOf,
  isStateConflict,
  isValueNotAllowed,
  memberUris,
  normaliseRoot,
  parseJson,
  pathOf,
  powerStateOf,
  quoteBmcText,
  resetActionOf,
  resetTypesFor,
  retryAfterMs,
  sameUri,
  sessionsPath,
  systemsPath,
  taskProgress,
} from "../../lib/redfish/resources.js";
import { endpointOf, parseFingerprints } from "../../lib/redfish/target.js";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/redfish");
function mockup(relative: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, relative, "index.json"), "utf8"));
}

describe("Redfish resources of real BMCs", () => {
  it("finds the one system of iDRAC, iLO and OpenBMC, and refuses to guess on a two-node blade", () => {
    const one = (vendor: string): string =>
      chooseSystem(memberUris(mockup(`${vendor}/Systems`), "Systems"), "/redfish/v1/Systems");
    assert.equal(one("dell"), "/redfish/v1/Systems/System.Embedded.1");
    assert.equal(one("hpe-ilo5"), "/redfish/v1/Systems/1");
    assert.equal(one("openbmc"), "/redfish/v1/Systems/system");
    assert.throws(
      () => one("hpe-cray-ex425"),
      (err: Error) =>
        err instanceof RedfishCapabilityError &&
        /2 systems \(\/redfish\/v1\/Systems\/Node0, \/redfish\/v1\/Systems\/Node1\): set systems_uri/.test(
          err.message,
        ),
    );
    assert.throws(() => chooseSystem([], "/redfish/v1/Systems"), /lists no system/);
    assert.throws(() => memberUris({ Members: [{}] }, "Systems"), RedfishProtocolError);
    assert.throws(() => memberUris({ Name: "x" }, "Systems"), /no Members/);
  });

  it("reads PowerState: On and Off only; anything else is unknown, never off", () => {
    const dell = mockup("dell/Systems/System.Embedded.1") as Record<string, unknown>;
    assert.deepEqual(powerStateOf(dell, "dell"), { state: "on", raw: "On" });
    assert.equal(powerStateOf(mockup("openbmc/Systems/system"), "openbmc").state, "off");
    for (const raw of ["PoweringOff", "PoweringOn", "Paused", "", "Offline", null, 0])
      assert.equal(
        powerStateOf({ ...dell, PowerState: raw }, "x").state,
        "unknown",
        JSON.stringify(raw),
      );
    assert.equal(powerStateOf({ PowerState: " off " }, "x").state, "off");
    assert.throws(() => powerStateOf({ Id: "1" }, "GET /x"), /has no PowerState/);
    assert.throws(() => powerStateOf([], "GET /x"), /not an object/);
  });

  it("takes the reset action inline (iDRAC, iLO) or by its ActionInfo (OpenBMC, Cray EX)", () => {
    const dell = resetActionOf(mockup("dell/Systems/System.Embedded.1"), "dell");
    assert.equal(dell.target, "/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset");
    assert.deepEqual(dell.allowable, [
      "On",
      "ForceOff",
      "ForceRestart",
      "GracefulRestart",
      "GracefulShutdown",
      "PushPowerButton",
      "Nmi",
      "PowerCycle",
    ]);
    const openbmc = resetActionOf(mockup("openbmc/Systems/system"), "openbmc");
    assert.equal(openbmc.allowable, undefined);
    assert.equal(openbmc.actionInfo, "/redfish/v1/Systems/system/ResetActionInfo");
    assert.deepEqual(allowableFromActionInfo(mockup("openbmc/Systems/system/ResetActionInfo")), [
      "On",
      "ForceOff",
      "ForceOn",
      "ForceRestart",
      "GracefulRestart",
      "GracefulShutdown",
      "PowerCycle",
      "Nmi",
    ]);
    assert.deepEqual(
      allowableFromActionInfo(mockup("hpe-cray-ex425/Systems/Node0/ResetActionInfo")),
      ["ForceOff", "On", "Off"],
    );
    assert.equal(allowableFromActionInfo({ Parameters: [{ Name: "Other" }] }), undefined);
    assert.throws(() => resetActionOf({ Actions: {} }, "x"), /no #ComputerSystem.Reset/);
  });

  it("chooses ResetTypes per intent from what each firmware offers", () => {
    const offered = (vendor: string, system: string): readonly string[] | undefined =>
      resetActionOf(mockup(`${vendor}/Systems/${system}`), vendor).allowable;
    const ilo = offered("hpe-ilo5", "1");
    assert.deepEqual(resetTypesFor("off", ilo), ["ForceOff"]);
    assert.deepEqual(resetTypesFor("on", ilo), ["On"]);
    assert.deepEqual(resetTypesFor("cycle", ilo), ["ForceRestart"]);
    assert.deepEqual(resetTypesFor("diag", ilo), ["Nmi"]);
    const ex = allowableFromActionInfo(mockup("hpe-cray-ex425/Systems/Node0/ResetActionInfo"));
    assert.deepEqual(resetTypesFor("off", ex), ["ForceOff"]);
    assert.throws(
      () => resetTypesFor("cycle", ex),
      /cannot restart the system: .*ForceOff, On, Off, none of ForceRestart, PowerCycle/,
    );
    assert.throws(() => resetTypesFor("diag", ex), /cannot send a diagnostic interrupt/);
    // iDRAC 8 without ForceRestart; a firmware offering only ForceOn; one without ForceOff.
    assert.deepEqual(resetTypesFor("cycle", ["On", "ForceOff", "GracefulRestart", "PowerCycle"]), [
      "PowerCycle",
    ]);
    assert.deepEqual(resetTypesFor("on", ["ForceOn", "ForceOff"]), ["ForceOn"]);
    assert.throws(
      () => resetTypesFor("off", ["On", "GracefulShutdown", "PushPowerButton"]),
      (err: Error) =>
        err instanceof RedfishCapabilityError && /cannot force the power off/.test(err.message),
    );
    // Spelled as the BMC spells it.
    assert.deepEqual(resetTypesFor("off", ["forceoff"]), ["forceoff"]);
    // No list at all: every candidate, in order.
    assert.deepEqual(resetTypesFor("on", undefined), [...RESET_TYPES.on]);
    // Never a toggle or a graceful shutdown.
    for (const intent of ["on", "off", "cycle", "diag"] as const)
      for (const type of RESET_TYPES[intent])
        assert.ok(!["PushPowerButton", "GracefulShutdown", "GracefulRestart"].includes(type));
  });
});

describe("Redfish answers", () => {
  const idracAlreadyOn = {
    error: {
      "@Message.ExtendedInfo": [
        {
          Message: "Server is already powered ON.",
          MessageArgs: [],
          MessageId: "IDRAC.2.1.PSU501",
          Resolution: "No response action is required.",
          Severity: "Informational",
        },
      ],
      code: "Base.1.5.GeneralError",
      message: "A general error has occurred. See ExtendedInfo for more information",
    },
  };
  const iloSuccess = {
    error: {
      code: "iLO.0.10.ExtendedInfo",
      message: "See @Message.ExtendedInfo for more information.",
      "@Message.ExtendedInfo": [{ MessageId: "Base.1.4.Success" }],
    },
  };

  it("reads an error body's messages, extended ones first", () => {
    assert.deepEqual(errorMessageOf(idracAlreadyOn), {
      text: "Server is already powered ON.",
      messageIds: ["IDRAC.2.1.PSU501"],
    });
    assert.deepEqual(errorMessageOf(iloSuccess), {
      text: "Base.1.4.Success",
      messageIds: ["Base.1.4.Success"],
    });
    assert.equal(errorMessageOf({ error: { message: "plain" } }).text, "plain");
    assert.equal(errorMessageOf(undefined).text, "");
    assert.equal(errorMessageOf("text").text, "");
  });

  it("tells a refusal for the system's state and a ResetType not allowed", () => {
    assert.equal(isStateConflict(409, ["IDRAC.2.1.PSU501"]), true);
    assert.equal(isStateConflict(400, ["iLO.2.14.InvalidOperationForSystemState"]), true);
    assert.equal(isStateConflict(400, ["Base.1.8.ActionParameterValueNotInList"]), false);
    assert.equal(isValueNotAllowed(400, ["Base.1.8.ActionParameterValueNotInList"]), true);
    assert.equal(isValueNotAllowed(400, ["Base.1.0.PropertyValueNotInList"]), true);
    assert.equal(isValueNotAllowed(500, ["Base.1.8.ActionParameterValueNotInList"]), false);
    assert.equal(isValueNotAllowed(400, ["Base.1.8.GeneralError"]), false);
  });

  it("follows tasks: 202 runs, TaskState decides, a monitor gone is done", () => {
    const done = mockup("dmtf/TaskService/Tasks/545");
    assert.deepEqual(taskProgress(200, done), { kind: "done" });
    assert.deepEqual(taskProgress(202, { ...(done as object), TaskState: "Running" }), {
      kind: "running",
    });
    assert.deepEqual(taskProgress(200, { TaskState: "Starting" }), { kind: "running" });
    assert.deepEqual(taskProgress(204, undefined), { kind: "done" });
    assert.deepEqual(taskProgress(404, undefined), { kind: "done" });
    const failed = taskProgress(200, {
      TaskState: "Exception",
      Messages: [{ MessageId: "Base.1.8.GeneralError", Message: "power supply fault" }],
    });
    assert.deepEqual(failed, { kind: "failed", why: "TaskState Exception: power supply fault" });
    assert.equal(taskProgress(202, { TaskState: "Killed" }).kind, "failed");
    assert.equal(taskProgress(500, idracAlreadyOn).kind, "failed");
  });

  it("reads Retry-After in seconds, capped", () => {
    assert.equal(retryAfterMs("1", 1000), 1000);
    assert.equal(retryAfterMs("30", 1000), 1000);
    assert.equal(retryAfterMs("0", 1000), 0);
    assert.equal(retryAfterMs(undefined, 1000), undefined);
    assert.equal(retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", 1000), undefined);
  });

  it("quotes a BMC's text on one line, and withholds it whole if it repeats a secret", () => {
    assert.equal(quoteBmcText("a\r\nb\tc", []), "a b c");
    assert.equal(quoteBmcText("x".repeat(300), []).length, 200);
    assert.equal(
      quoteBmcText("Invalid password s3cret for admin", ["s3cret"]),
      "(the BMC's message is withheld: it repeats a secret)",
    );
  });

  it("parses JSON or says it is not", () => {
    assert.deepEqual(parseJson(Buffer.from('{"a":1}'), "GET /x"), { a: 1 });
    assert.throws(
      () => parseJson(Buffer.from("<html>"), "GET /x"),
      /GET \/x: the BMC's answer is not JSON/,
    );
  });

  it("makes paths of URIs (iLO's absolute Locations, trailing slashes)", () => {
    assert.equal(
      pathOf("https://10.0.0.1:443/redfish/v1/SessionService/Sessions/admin5c0/"),
      "/redfish/v1/SessionService/Sessions/admin5c0/",
    );
    assert.equal(pathOf("/redfish/v1/Systems/1"), "/redfish/v1/Systems/1");
    assert.ok(sameUri("/redfish/v1/Systems/1/", "/redfish/v1/Systems/1"));
    assert.equal(normaliseRoot("/redfish/v1/"), "/redfish/v1");
    assert.equal(normaliseRoot("redfish/v1"), "/redfish/v1");
    assert.equal(systemsPath("/redfish/v1"), "/redfish/v1/Systems");
    assert.equal(sessionsPath("/redfish/v1"), "/redfish/v1/SessionService/Sessions");
  });
});

describe("Redfish targets", () => {
  it("reads ip as fence-agents does: host, host:port, [v6]:port", () => {
    assert.deepEqual(endpointOf("10.0.0.5", 443), { host: "10.0.0.5", port: 443 });
    assert.deepEqual(endpointOf("10.0.0.5:8443", 443), { host: "10.0.0.5", port: 8443 });
    assert.deepEqual(endpointOf("bmc1.example.com", 443), { host: "bmc1.example.com", port: 443 });
    assert.deepEqual(endpointOf("[fd00::5]:8443", 443), { host: "fd00::5", port: 8443 });
    assert.deepEqual(endpointOf("[fd00::5]", 443), { host: "fd00::5", port: 443 });
    assert.deepEqual(endpointOf("fd00::5", 443), { host: "fd00::5", port: 443 });
    for (const bad of ["", ":443", "host:port", "host:70000", "a b", "user@host", "fd00::zz"])
      assert.equal(endpointOf(bad, 443), undefined, bad);
  });

  it("reads SHA-256 fingerprints as openssl prints them, and nothing else", () => {
    const hex =
      "A4:DC:1F:75:0E:81:EB:CC:6B:F3:F9:EA:A6:3E:83:84:48:E8:E1:5E:03:5C:0E:E7:A6:92:32:83:6F:76:14:FB";
    const plain = hex.replace(/:/g, "").toLowerCase();
    for (const text of [hex, plain, `sha256 Fingerprint=${hex}`, `SHA256:${plain}`])
      assert.deepEqual(parseFingerprints(text), [Buffer.from(plain, "hex")], text);
    assert.equal(parseFingerprints(`${hex}, ${plain}`)?.length, 2);
    for (const bad of ["", "AB:CD", `${plain}00`, "sha1 Fingerprint=AB:CD"])
      assert.equal(parseFingerprints(bad), undefined, bad);
  });
});
