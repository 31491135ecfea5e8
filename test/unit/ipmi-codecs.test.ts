// Why one file: one table of codec tests in the spec's order, sharing its byte helpers.
/**
 * The IPMI codecs on their own: tables, framing, the cipher 17 (SHA-256) path that ipmi_sim cannot
 * exercise, encode/decode round trips and the errors they raise.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { KvmhaError } from "../../lib/errors.js";
import {
  decodeGetChannelAuthCapabilitiesResponse,
  encodeGetChannelAuthCapabilitiesRequest,
} from "../../lib/ipmi/channel-auth.js";
import {
  ChassisControlCode,
  decodeGetChassisStatusResponse,
  encodeChassisControlRequest,
} from "../../lib/ipmi/chassis.js";
import {
  DEFAULT_CIPHER_SUITE_PREFERENCE,
  SUPPORTED_CIPHER_SUITES,
  bmcKey,
  cipherSuite,
  decryptPayload,
  deriveSessionKeys,
  encryptPayload,
  hasConfidentiality,
  integrityAuthCodeLength,
  keyExchangeAuthCodeLength,
  rakp2KeyExchangeAuthCode,
  rakp3KeyExchangeAuthCode,
  rakp4IcvLength,
  rakp4IntegrityCheckValue,
  userKey,
  type RakpValues,
} from "../../lib/ipmi/cipher-suites.js";
import {
  AppCmd,
  ChassisCmd,
  NetFn,
  commandName,
  completionCodeMeaning,
} from "../../lib/ipmi/constants.js";
import type { IpmiError } from "../../lib/ipmi/errors.js";
import {
  IpmiAuthError,
  IpmiCompletionCodeError,
  IpmiConfigError,
  IpmiIntegrityError,
  IpmiNetworkError,
  IpmiProtocolError,
  IpmiSessionError,
  IpmiTimeoutError,
} from "../../lib/ipmi/errors.js";
import {
  decodeIpmiRequest,
  decodeIpmiResponse,
  encodeIpmiRequest,
  encodeIpmiResponse,
  responseMatches,
} from "../../lib/ipmi/message.js";
import { decodeAsfPresencePong, decodeRmcpHeader, encodeRmcpHeader } from "../../lib/ipmi/rmcp.js";
import {
  NAME_ONLY_LOOKUP,
  PayloadType,
  decodeOpenSessionRequest,
  decodeOpenSessionResponse,
  decodeRakp1,
  decodeRakp2,
  decodeRakp4,
  decodeRmcpPlusPacket,
  encodeOpenSessionRequest,
  encodeOpenSessionResponse,
  encodeRakp1,
  encodeRakp2,
  encodeRakp4,
  encodeRmcpPlusPacket,
  openSessionPacket,
  rmcpPlusStatusMeaning,
  type OpenSessionAccepted,
  type SessionSecurity,
} from "../../lib/ipmi/rmcpplus.js";
import {
  encodeGetSessionChallengeRequest,
  usernameBytes,
} from "../../lib/ipmi/session-commands.js";
import {
  AuthType,
  authCode15,
  decodeSession15Packet,
  encodeSession15Packet,
  passwordKey15,
} from "../../lib/ipmi/session15.js";

describe("IPMI errors", () => {
  it("all are KvmhaErrors with exit code 1 and one-line messages", () => {
    const errors: IpmiError[] = [
      new IpmiProtocolError("x"),
      new IpmiIntegrityError("x"),
      new IpmiConfigError("x"),
      new IpmiNetworkError("x"),
      new IpmiAuthError("x"),
      new IpmiSessionError("x", 0x01),
      new IpmiTimeoutError("127.0.0.1:623", 5000),
      new IpmiCompletionCodeError("Chassis Control", 0xd4, completionCodeMeaning(0xd4)),
    ];
    for (const e of errors) {
      assert.ok(e instanceof KvmhaError);
      assert.equal(e.exitCode, 1);
      assert.ok(!e.message.includes("\n"));
      assert.equal(e.name, e.constructor.name);
    }
  });

  it("say what happened in the words a fence log needs", () => {
    assert.equal(
      new IpmiCompletionCodeError("Chassis Control", 0xd4, completionCodeMeaning(0xd4)).message,
      "BMC refused Chassis Control: insufficient privilege level (0xD4)",
    );
    assert.equal(
      new IpmiTimeoutError("127.0.0.1:623", 5000).message,
      "no answer from BMC 127.0.0.1:623 within 5 s",
    );
    assert.equal(
      new IpmiTimeoutError("127.0.0.1:623", 2500, "Get Chassis Status").message,
      "no answer from BMC 127.0.0.1:623 within 2.5 s (Get Chassis Status)",
    );
    assert.ok(
      new IpmiIntegrityError("x") instanceof IpmiProtocolError,
      "integrity failures are protocol errors: dropped, not fatal",
    );
  });
});

describe("completion codes", () => {
  it("the generic codes carry their spec meanings", () => {
    const expected: [number, string][] = [
      [0xc0, "node busy"],
      [0xc1, "invalid command"],
      [0xc3, "timeout while processing command"],
      [0xc7, "request data length invalid"],
      [0xc8, "request data field length limit exceeded"],
      [0xcc, "invalid data field in request"],
      [0xd4, "insufficient privilege level"],
      [0xd5, "command not supported in present state"],
      [0xd6, "command sub-function has been disabled or is unavailable"],
      [0xff, "unspecified error"],
    ];
    for (const [cc, meaning] of expected) assert.equal(completionCodeMeaning(cc), meaning);
  });

  it("command-specific and OEM ranges", () => {
    assert.equal(
      completionCodeMeaning(0x81, NetFn.App, AppCmd.SetSessionPrivilegeLevel),
      "requested level exceeds channel and/or user privilege limit",
    );
    assert.equal(
      completionCodeMeaning(0x81, NetFn.App, AppCmd.GetSessionChallenge),
      "invalid user name",
    );
    assert.equal(
      completionCodeMeaning(0x81, NetFn.Chassis, ChassisCmd.ChassisControl),
      "command-specific completion code",
    );
    assert.equal(completionCodeMeaning(0x81), "command-specific completion code");
    assert.equal(completionCodeMeaning(0x42), "device-specific (OEM) completion code");
    assert.equal(completionCodeMeaning(0xe0), "reserved completion code");
  });

  it("command names come from the spec", () => {
    assert.equal(commandName(NetFn.Chassis, ChassisCmd.ChassisControl), "Chassis Control");
    assert.equal(commandName(NetFn.Chassis | 1, ChassisCmd.GetChassisStatus), "Get Chassis Status");
    assert.equal(commandName(0x30, 0x99), "NetFn 0x30 command 0x99");
  });
});

describe("RMCP and IPMI message framing", () => {
  it("RMCP header: version 1.0, no-ACK sequence, class", () => {
    assert.deepEqual([...encodeRmcpHeader(0x07)], [0x06, 0x00, 0xff, 0x07]);
    assert.deepEqual(decodeRmcpHeader(Buffer.from([6, 0, 0xff, 0x86])), {
      version: 6,
      sequence: 0xff,
      messageClass: 6,
      ack: true,
    });
    assert.throws(() => decodeRmcpHeader(Buffer.from([5, 0, 0xff, 7])), IpmiProtocolError);
    assert.throws(() => decodeRmcpHeader(Buffer.from([6, 0])), IpmiProtocolError);
  });

  it("ASF Presence Pong must be a pong", () => {
    const ping = Buffer.from("0600ff06000011be80000000", "hex");
    assert.throws(() => decodeAsfPresencePong(ping), IpmiProtocolError);
  });

  it("request and response round trip, with rqSeq, LUNs and checksums", () => {
    const req = encodeIpmiRequest({
      netFn: NetFn.Chassis,
      cmd: ChassisCmd.ChassisControl,
      rqSeq: 63,
      data: Buffer.from([2]),
      rsLun: 1,
      rqLun: 2,
    });
    assert.deepEqual(decodeIpmiRequest(req), {
      rsAddr: 0x20,
      netFn: 0,
      rsLun: 1,
      rqAddr: 0x81,
      rqSeq: 63,
      rqLun: 2,
      cmd: 2,
      data: Buffer.from([2]),
    });
    const rsp = encodeIpmiResponse({
      netFn: NetFn.Chassis | 1,
      cmd: ChassisCmd.ChassisControl,
      rqSeq: 63,
      completionCode: 0xd4,
      rqLun: 2,
    });
    const decoded = decodeIpmiResponse(rsp);
    assert.equal(decoded.completionCode, 0xd4);
    assert.ok(
      responseMatches(decoded, { netFn: NetFn.Chassis, cmd: ChassisCmd.ChassisControl, rqSeq: 63 }),
    );
    assert.ok(
      !responseMatches(decoded, {
        netFn: NetFn.Chassis,
        cmd: ChassisCmd.ChassisControl,
        rqSeq: 62,
      }),
    );
    assert.ok(
      !responseMatches(decoded, {
        netFn: NetFn.Chassis,
        cmd: ChassisCmd.GetChassisStatus,
        rqSeq: 63,
      }),
    );
  });

  it("bad checksums, wrong netFn parity and short frames are protocol errors", () => {
    const req = encodeIpmiRequest({ netFn: NetFn.App, cmd: 1, rqSeq: 1 });
    for (const at of [2, req.length - 1]) {
      const bad = Buffer.from(req);
      bad[at]! ^= 0xff;
      assert.throws(() => decodeIpmiRequest(bad), IpmiProtocolError);
    }
    assert.throws(() => decodeIpmiResponse(req), IpmiProtocolError, "a request is not a response");
    assert.throws(
      () =>
        decodeIpmiRequest(encodeIpmiResponse({ netFn: 7, cmd: 1, rqSeq: 1, completionCode: 0 })),
      IpmiProtocolError,
    );
    assert.throws(() => decodeIpmiResponse(Buffer.alloc(7)), IpmiProtocolError);
  });
});

describe("Get Channel Authentication Capabilities", () => {
  it("the request sets bit 7 of the channel byte for IPMI 2.0 data", () => {
    assert.deepEqual([...encodeGetChannelAuthCapabilitiesRequest(4, true)], [0x8e, 0x04]);
    assert.deepEqual([...encodeGetChannelAuthCapabilitiesRequest(2, false)], [0x0e, 0x02]);
  });

  it("an IPMI 1.5-only answer (no extended capabilities) and the Kg bit", () => {
    const caps = decodeGetChannelAuthCapabilitiesResponse(
      Buffer.from([0x01, 0x15, 0x20 | 0x10, 0x00, 0, 0, 0, 0]),
    );
    assert.equal(caps.ipmi20Supported, false);
    assert.equal(caps.ipmi15Supported, true);
    assert.deepEqual(caps.authTypes, {
      none: true,
      md2: false,
      md5: true,
      straightPassword: true,
      oem: false,
    });
    assert.equal(caps.kgConfigured, true);
    assert.equal(caps.perMessageAuthenticationDisabled, true);
    assert.throws(
      () => decodeGetChannelAuthCapabilitiesResponse(Buffer.from([1, 0x96, 4])),
      IpmiProtocolError,
    );
  });
});

describe("chassis codecs", () => {
  it("Get Chassis Status: every bit of the three mandatory bytes", () => {
    const off = decodeGetChassisStatusResponse(Buffer.from([0x00, 0x00, 0x00]));
    assert.equal(off.powerOn, false);
    assert.equal(off.powerRestorePolicy, "always-off");
    assert.equal(off.identifyState, undefined);
    assert.equal(off.frontPanelButtons, undefined);

    const all = decodeGetChassisStatusResponse(Buffer.from([0x1f | 0x40, 0x1f, 0x4f | 0x20]));
    assert.deepEqual(
      [
        all.powerOn,
        all.powerOverload,
        all.interlock,
        all.powerFault,
        all.powerControlFault,
        all.powerRestorePolicy,
      ],
      [true, true, true, true, true, "always-on"],
    );
    assert.deepEqual(all.lastPowerEvent, {
      acFailed: true,
      powerDownByOverload: true,
      powerDownByInterlock: true,
      powerDownByFault: true,
      powerOnByIpmiCommand: true,
    });
    assert.deepEqual(
      [
        all.chassisIntrusion,
        all.frontPanelLockout,
        all.driveFault,
        all.coolingFault,
        all.identifyState,
      ],
      [true, true, true, true, "indefinite-on"],
    );
    assert.equal(
      decodeGetChassisStatusResponse(Buffer.from([0x21, 0, 0])).powerRestorePolicy,
      "previous",
    );
    assert.equal(
      decodeGetChassisStatusResponse(Buffer.from([0x61, 0, 0])).powerRestorePolicy,
      "unknown",
    );
  });

  it("Get Chassis Status: the optional front panel byte; truncated data is a protocol error", () => {
    const s = decodeGetChassisStatusResponse(Buffer.from([1, 0, 0, 0x81]));
    assert.equal(s.frontPanelButtons?.standbyDisableAllowed, true);
    assert.equal(s.frontPanelButtons?.powerOffDisabled, true);
    assert.equal(s.frontPanelButtons?.resetDisabled, false);
    assert.throws(() => decodeGetChassisStatusResponse(Buffer.from([1, 0])), IpmiProtocolError);
  });

  it("Chassis Control: down 0, up 1, cycle 2, hard reset 3, diag 4, soft 5", () => {
    assert.deepEqual(ChassisControlCode, { off: 0, on: 1, cycle: 2, reset: 3, diag: 4, soft: 5 });
    assert.deepEqual([...encodeChassisControlRequest("soft")], [5]);
    assert.throws(() => encodeChassisControlRequest("explode" as never), IpmiConfigError);
  });
});

describe("IPMI 1.5 session wrapper", () => {
  const key = passwordKey15("secret");
  const message = encodeIpmiRequest({
    netFn: NetFn.Chassis,
    cmd: ChassisCmd.GetChassisStatus,
    rqSeq: 9,
  });

  it("authentication type none has no AuthCode field; straight password sends the password", () => {
    const none = encodeSession15Packet({
      authType: AuthType.none,
      sessionSeq: 0,
      sessionId: 0,
      message,
    });
    assert.equal(none.length, 4 + 10 + message.length);
    assert.equal(decodeSession15Packet(none).authCode, undefined);
    assert.deepEqual(authCode15(AuthType.straightPassword, key, 1, 2, message), key);
  });

  it("MD5 round trip, legacy pad byte tolerated, more is not", () => {
    const pkt = encodeSession15Packet(
      { authType: AuthType.md5, sessionSeq: 7, sessionId: 0x1234, message },
      key,
    );
    const decoded = decodeSession15Packet(pkt);
    assert.deepEqual([decoded.sessionSeq, decoded.sessionId], [7, 0x1234]);
    assert.deepEqual(decoded.authCode, authCode15(AuthType.md5, key, 0x1234, 7, message));
    assert.deepEqual(
      decodeSession15Packet(Buffer.concat([pkt, Buffer.from([0])])).message,
      message,
    );
    assert.throws(
      () => decodeSession15Packet(Buffer.concat([pkt, Buffer.from([0, 0])])),
      IpmiProtocolError,
    );
  });

  it("limits: passwords 16 bytes, user names 16 bytes", () => {
    assert.throws(() => passwordKey15("x".repeat(17)), IpmiConfigError);
    assert.throws(() => usernameBytes("u".repeat(17)), IpmiConfigError);
    assert.equal(encodeGetSessionChallengeRequest(AuthType.md5, "admin").length, 17);
  });
});

/** Synthetic RAKP values, fixed so the test is deterministic. */
function rakpValues(): RakpValues {
  return {
    consoleSessionId: 0xa0a2a3a4,
    managedSystemSessionId: 0x0000b502,
    consoleRandom: Buffer.alloc(16, 0x11),
    managedSystemRandom: Buffer.alloc(16, 0x22),
    managedSystemGuid: Buffer.from("a123456789abcdefa123456789abcdef", "hex"),
    requestedRole: 0x04 | NAME_ONLY_LOOKUP,
    username: Buffer.from("admin"),
  };
}

describe("cipher suites", () => {
  it("17 and 3 are tried by default; both authenticate and encrypt", () => {
    assert.deepEqual(DEFAULT_CIPHER_SUITE_PREFERENCE, [17, 3]);
    for (const id of DEFAULT_CIPHER_SUITE_PREFERENCE) {
      const s = cipherSuite(id);
      assert.ok(integrityAuthCodeLength(s) > 0 && hasConfidentiality(s));
    }
    assert.deepEqual(SUPPORTED_CIPHER_SUITES, [0, 1, 2, 3, 15, 16, 17]);
    assert.throws(() => cipherSuite(8), /cipher suite 8 is not supported/);
  });

  it("suite 17 uses SHA-256: 32-byte keys and exchange codes, 16-byte ICV and AuthCode", () => {
    const s = cipherSuite(17);
    assert.equal(keyExchangeAuthCodeLength(s), 32);
    assert.equal(rakp4IcvLength(s), 16);
    assert.equal(integrityAuthCodeLength(s), 16);
    const kuid = userKey("secret");
    const v = rakpValues();
    const keys = deriveSessionKeys(s, kuid, undefined, v);
    assert.equal(keys.sik.length, 32);
    assert.equal(keys.k1.length, 32);
    // The spec's formulas, spelled out independently of the library's byte assembly.
    const sid = (n: number) =>
      Buffer.from([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]);
    const tail = Buffer.concat([Buffer.from([0x14, 5]), Buffer.from("admin")]);
    const h = (key: Buffer, ...parts: Buffer[]) =>
      createHmac("sha256", key).update(Buffer.concat(parts)).digest();
    assert.deepEqual(keys.sik, h(kuid, v.consoleRandom, v.managedSystemRandom, tail));
    assert.deepEqual(keys.k1, h(keys.sik, Buffer.alloc(20, 1)));
    assert.deepEqual(keys.k2, h(keys.sik, Buffer.alloc(20, 2)));
    assert.deepEqual(
      rakp2KeyExchangeAuthCode(s, kuid, v),
      h(
        kuid,
        sid(v.consoleSessionId),
        sid(v.managedSystemSessionId),
        v.consoleRandom,
        v.managedSystemRandom,
        v.managedSystemGuid,
        tail,
      ),
    );
    assert.deepEqual(
      rakp3KeyExchangeAuthCode(s, kuid, v),
      h(kuid, v.managedSystemRandom, sid(v.consoleSessionId), tail),
    );
    assert.deepEqual(
      rakp4IntegrityCheckValue(s, keys.sik, v),
      h(keys.sik, v.consoleRandom, sid(v.managedSystemSessionId), v.managedSystemGuid).subarray(
        0,
        16,
      ),
    );
  });

  it("Kg keys the SIK when given; without it the password key does", () => {
    const s = cipherSuite(3);
    const kuid = userKey("secret");
    const v = rakpValues();
    const plain = deriveSessionKeys(s, kuid, undefined, v);
    assert.deepEqual(deriveSessionKeys(s, kuid, kuid, v), plain);
    const withKg = deriveSessionKeys(s, kuid, bmcKey(Buffer.from("0102030405", "hex")), v);
    assert.notDeepEqual(withKg.sik, plain.sik);
    assert.throws(() => bmcKey(Buffer.alloc(21)), IpmiConfigError);
    assert.throws(() => userKey("p".repeat(21)), IpmiConfigError);
    assert.equal(userKey("p".repeat(20)).length, 20);
  });

  it("AES-CBC-128: pad 1, 2, 3.. plus its length to whole blocks, for every payload length", () => {
    const s = cipherSuite(3);
    const k2 = Buffer.alloc(20, 7);
    const iv = Buffer.alloc(16, 9);
    for (let n = 0; n <= 40; n++) {
      const plain = Buffer.alloc(n, n);
      const wire = encryptPayload(s, k2, plain, iv);
      assert.equal((wire.length - 16) % 16, 0);
      assert.equal(wire.length - 16, Math.ceil((n + 1) / 16) * 16);
      assert.deepEqual(decryptPayload(s, k2, wire), plain);
    }
    assert.throws(() => decryptPayload(s, k2, Buffer.alloc(40)), IpmiIntegrityError);
    assert.throws(() => encryptPayload(s, k2, Buffer.alloc(1), Buffer.alloc(8)), IpmiConfigError);
  });
});

describe("RMCP+ session packets", () => {
  for (const id of [3, 17]) {
    it(`cipher suite ${id}: integrity pad aligns to 4 bytes; round trip for every payload length`, () => {
      const suite = cipherSuite(id);
      const keys = deriveSessionKeys(suite, userKey("secret"), undefined, rakpValues());
      const security: SessionSecurity = { suite, k1: keys.k1, k2: keys.k2 };
      for (let n = 0; n <= 40; n++) {
        const payload = Buffer.alloc(n, 0x5a);
        const wire = encodeRmcpPlusPacket(
          { payloadType: PayloadType.IPMI, sessionId: 0x1234, sessionSeq: n + 1, payload },
          security,
          Buffer.alloc(16, n),
        );
        const authCodeLength = integrityAuthCodeLength(suite);
        assert.equal(
          (wire.length - 4 - authCodeLength) % 4,
          0,
          "Auth Type .. Next Header is a multiple of 4",
        );
        const opened = openSessionPacket(wire, security);
        assert.deepEqual(opened.payload, payload);
        assert.deepEqual(
          [opened.sessionId, opened.sessionSeq, opened.encrypted, opened.authenticated],
          [0x1234, n + 1, true, true],
        );
      }
    });
  }

  it("refuses downgrades: unauthenticated or unencrypted packets in a session that has both", () => {
    const suite = cipherSuite(3);
    const keys = deriveSessionKeys(suite, userKey("secret"), undefined, rakpValues());
    const security: SessionSecurity = { suite, k1: keys.k1, k2: keys.k2 };
    const payload = encodeIpmiResponse({
      netFn: 1,
      cmd: 1,
      rqSeq: 1,
      completionCode: 0,
      data: Buffer.from([1, 0, 0]),
    });
    const clear = encodeRmcpPlusPacket({
      payloadType: PayloadType.IPMI,
      sessionId: 1,
      sessionSeq: 1,
      payload,
    });
    assert.throws(() => openSessionPacket(clear, security), IpmiIntegrityError);
    const authOnly = encodeRmcpPlusPacket(
      { payloadType: PayloadType.IPMI, sessionId: 1, sessionSeq: 1, payload },
      { ...security, suite: cipherSuite(2) },
    );
    assert.throws(() => openSessionPacket(authOnly, security), IpmiIntegrityError);
    const otherKey = encodeRmcpPlusPacket(
      { payloadType: PayloadType.IPMI, sessionId: 1, sessionSeq: 1, payload },
      { ...security, k1: Buffer.alloc(20) },
      Buffer.alloc(16),
    );
    assert.throws(() => openSessionPacket(otherKey, security), /AuthCode does not verify/);
  });

  it("suite 0 sends neither AuthCode nor encryption", () => {
    const security: SessionSecurity = {
      suite: cipherSuite(0),
      k1: Buffer.alloc(0),
      k2: Buffer.alloc(0),
    };
    const wire = encodeRmcpPlusPacket(
      {
        payloadType: PayloadType.IPMI,
        sessionId: 5,
        sessionSeq: 1,
        payload: Buffer.from([1, 2, 3]),
      },
      security,
    );
    assert.equal(wire.length, 4 + 12 + 3);
    assert.deepEqual(openSessionPacket(wire, security).payload, Buffer.from([1, 2, 3]));
  });

  it("an authenticated packet cannot be parsed without knowing the AuthCode length", () => {
    const suite = cipherSuite(3);
    const wire = encodeRmcpPlusPacket(
      { payloadType: 0, sessionId: 1, sessionSeq: 1, payload: Buffer.alloc(3) },
      { suite, k1: Buffer.alloc(20), k2: Buffer.alloc(20) },
      Buffer.alloc(16),
    );
    assert.throws(() => decodeRmcpPlusPacket(wire), IpmiProtocolError);
    assert.throws(
      () => decodeRmcpPlusPacket(wire, 16),
      IpmiProtocolError,
      "a wrong length does not fit the trailer",
    );
    assert.equal(decodeRmcpPlusPacket(wire, 12).authCode!.length, 12);
  });
});

describe("RMCP+ session setup payloads", () => {
  it("Open Session Request/Response round trip; refusals may be 2 or 8 bytes", () => {
    const req = {
      messageTag: 7,
      requestedMaximumPrivilege: 0,
      consoleSessionId: 0xdeadbeef,
      authentication: 3,
      integrity: 4,
      confidentiality: 1,
    };
    assert.deepEqual(decodeOpenSessionRequest(encodeOpenSessionRequest(req)), req);
    const rsp: OpenSessionAccepted = {
      messageTag: 7,
      statusCode: 0,
      maximumPrivilege: 4,
      consoleSessionId: 0xdeadbeef,
      managedSystemSessionId: 0x1234,
      authentication: 3,
      integrity: 4,
      confidentiality: 1,
    };
    assert.deepEqual(decodeOpenSessionResponse(encodeOpenSessionResponse(rsp)), rsp);
    assert.deepEqual(decodeOpenSessionResponse(Buffer.from([7, 0x11])), {
      messageTag: 7,
      statusCode: 0x11,
    });
    assert.deepEqual(
      decodeOpenSessionResponse(
        encodeOpenSessionResponse({ messageTag: 7, statusCode: 0x01, consoleSessionId: 9 }),
      ),
      {
        messageTag: 7,
        statusCode: 0x01,
        consoleSessionId: 9,
      },
    );
    assert.throws(
      () =>
        decodeOpenSessionResponse(encodeOpenSessionResponse({ ...rsp, managedSystemSessionId: 0 })),
      IpmiProtocolError,
    );
    const mangled = encodeOpenSessionResponse(rsp);
    mangled[12 + 3] = 0x10; // authentication payload length
    assert.throws(() => decodeOpenSessionResponse(mangled), IpmiProtocolError);
  });

  it("RAKP 1 carries the name-only lookup bit with the privilege; RAKP 2/4 refusals are short", () => {
    const m = {
      messageTag: 1,
      managedSystemSessionId: 0x1234,
      consoleRandom: Buffer.alloc(16, 3),
      requestedRole: 0x04 | NAME_ONLY_LOOKUP,
      username: Buffer.from("admin"),
    };
    const wire = encodeRakp1(m);
    assert.equal(wire[24], 0x14);
    assert.deepEqual(decodeRakp1(wire), m);
    assert.deepEqual(
      decodeRakp2(encodeRakp2({ messageTag: 1, statusCode: 0x0d, consoleSessionId: 5 })),
      { messageTag: 1, statusCode: 0x0d, consoleSessionId: 5 },
    );
    assert.deepEqual(
      decodeRakp4(encodeRakp4({ messageTag: 1, statusCode: 0x0f, consoleSessionId: 5 })),
      { messageTag: 1, statusCode: 0x0f, consoleSessionId: 5 },
    );
    assert.equal(rmcpPlusStatusMeaning(0x0d), "unauthorized name");
    assert.equal(rmcpPlusStatusMeaning(0x12), "illegal or unrecognized parameter");
    assert.equal(rmcpPlusStatusMeaning(0x40), "reserved status code");
  });
});
