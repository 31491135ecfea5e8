// Why one file: every test walks the same captured sessions, in capture order.
/**
 * The codecs against real traffic: ipmitool 1.8.19 talking to OpenIPMI ipmi_sim 2.0.33 (captures
 * turned into test/vectors/ipmi/*.json by make-vectors.mjs). Every key, HMAC, AuthCode, plaintext
 * and packet must come out byte for byte as captured and independently decoded.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeGetChannelAuthCapabilitiesResponse,
  encodeGetChannelAuthCapabilitiesRequest,
} from "../../lib/ipmi/channel-auth.js";
import {
  decodeGetChassisStatusResponse,
  encodeChassisControlRequest,
} from "../../lib/ipmi/chassis.js";
import {
  cipherSuite,
  decryptPayload,
  deriveSessionKeys,
  encryptPayload,
  integrityAuthCode,
  rakp2KeyExchangeAuthCode,
  rakp3KeyExchangeAuthCode,
  rakp4IntegrityCheckValue,
  userKey,
  type RakpValues,
} from "../../lib/ipmi/cipher-suites.js";
import { AppCmd, ChassisCmd, NetFn } from "../../lib/ipmi/constants.js";
import { IpmiIntegrityError } from "../../lib/ipmi/errors.js";
import {
  decodeIpmiRequest,
  decodeIpmiResponse,
  encodeIpmiRequest,
  encodeIpmiResponse,
} from "../../lib/ipmi/message.js";
import { decodeAsfPresencePong, encodeAsfPresencePing } from "../../lib/ipmi/rmcp.js";
import {
  ALGORITHM_REJECTED_STATUSES,
  PayloadType,
  decodeOpenSessionRequest,
  decodeOpenSessionResponse,
  decodeRakp1,
  decodeRakp2,
  decodeRakp3,
  decodeRakp4,
  decodeRmcpPlusPacket,
  encodeOpenSessionRequest,
  encodeOpenSessionResponse,
  encodeRakp1,
  encodeRakp2,
  encodeRakp3,
  encodeRakp4,
  encodeRmcpPlusPacket,
  isAccepted,
  openSessionPacket,
  rmcpPlusStatusMeaning,
  type SessionSecurity,
} from "../../lib/ipmi/rmcpplus.js";
import {
  decodeActivateSessionRequest,
  decodeActivateSessionResponse,
  decodeGetSessionChallengeResponse,
  encodeActivateSessionRequest,
  encodeCloseSessionRequest,
  encodeGetSessionChallengeRequest,
} from "../../lib/ipmi/session-commands.js";
import {
  AuthType,
  decodeSession15Packet,
  encodeSession15Packet,
  passwordKey15,
  verifySession15AuthCode,
} from "../../lib/ipmi/session15.js";
import { type Vector, type VectorPacket, loadVector } from "../vectors/ipmi/vectors.js";

const bytes = (hex: string): Buffer => Buffer.from(hex, "hex");
const isRmcpPlus = (p: VectorPacket): boolean => bytes(p.hex)[4] === AuthType.rmcpPlus;
const payloadTypeOf = (p: VectorPacket): number => bytes(p.hex)[5]! & 0x3f;

/** The plaintext without the confidentiality pad (01h 02h .. n, then n). */
function unpad(padded: Buffer): Buffer {
  return padded.subarray(0, padded.length - 1 - padded[padded.length - 1]!);
}

/**
 * Walks one RMCP+ login in a capture from its Open Session Request, checking each step, and
 * returns the session security plus the index after RAKP 4.
 */
function checkRmcpPlusLogin(
  v: Vector,
  start: number,
): { security: SessionSecurity; sidm: number; sidc: number; next: number } {
  const suite = cipherSuite(3);
  const kuid = userKey(v.password);
  const p = v.packets;
  let i = start;

  // Open Session Request: decodes, and re-encodes byte-exactly.
  assert.equal(payloadTypeOf(p[i]!), PayloadType.OpenSessionRequest);
  const osReqPacket = decodeRmcpPlusPacket(bytes(p[i]!.hex));
  const osReq = decodeOpenSessionRequest(osReqPacket.payload);
  assert.deepEqual(
    { a: osReq.authentication, i: osReq.integrity, c: osReq.confidentiality },
    { a: suite.authentication, i: suite.integrity, c: suite.confidentiality },
  );
  assert.equal(
    encodeRmcpPlusPacket({
      payloadType: PayloadType.OpenSessionRequest,
      sessionId: 0,
      sessionSeq: 0,
      payload: encodeOpenSessionRequest(osReq),
    }).toString("hex"),
    p[i]!.hex,
  );
  i++;

  // Open Session Response.
  const osRspRaw = decodeRmcpPlusPacket(bytes(p[i]!.hex)).payload;
  const osRsp = decodeOpenSessionResponse(osRspRaw);
  assert.ok(isAccepted(osRsp));
  assert.equal(osRsp.consoleSessionId, osReq.consoleSessionId);
  assert.equal(encodeOpenSessionResponse(osRsp).toString("hex"), osRspRaw.toString("hex"));
  const sidm = osReq.consoleSessionId;
  const sidc = osRsp.managedSystemSessionId;
  i++;

  // RAKP 1: name-only lookup, administrator.
  const rakp1Raw = decodeRmcpPlusPacket(bytes(p[i]!.hex)).payload;
  const rakp1 = decodeRakp1(rakp1Raw);
  assert.equal(rakp1.requestedRole, 0x14);
  assert.equal(rakp1.username.toString(), v.username);
  assert.equal(rakp1.managedSystemSessionId, sidc);
  assert.equal(encodeRakp1(rakp1).toString("hex"), rakp1Raw.toString("hex"));
  i++;

  // RAKP 2: the BMC's HMAC verifies with the password; the keys derive as decoded.
  const rakp2Packet = p[i]!;
  const rakp2Raw = decodeRmcpPlusPacket(bytes(rakp2Packet.hex)).payload;
  const rakp2 = decodeRakp2(rakp2Raw);
  assert.ok(isAccepted(rakp2));
  assert.equal(rakp2.managedSystemGuid.toString("hex"), v.bmcGuid);
  assert.equal(encodeRakp2(rakp2).toString("hex"), rakp2Raw.toString("hex"));
  const values: RakpValues = {
    consoleSessionId: sidm,
    managedSystemSessionId: sidc,
    consoleRandom: rakp1.consoleRandom,
    managedSystemRandom: rakp2.managedSystemRandom,
    managedSystemGuid: rakp2.managedSystemGuid,
    requestedRole: rakp1.requestedRole,
    username: rakp1.username,
  };
  assert.equal(
    rakp2KeyExchangeAuthCode(suite, kuid, values).toString("hex"),
    rakp2.keyExchangeAuthCode.toString("hex"),
  );
  assert.equal(rakp2.keyExchangeAuthCode.toString("hex"), rakp2Packet.hmac);
  assert.equal(rakp2Packet.hmacValid, true);
  const keys = deriveSessionKeys(suite, kuid, undefined, values);
  assert.equal(keys.sik.toString("hex"), rakp2Packet.sik);
  assert.equal(keys.k1.toString("hex"), rakp2Packet.k1);
  assert.equal(keys.k2.toString("hex"), rakp2Packet.k2);
  i++;

  // RAKP 3: our encoding of the HMAC is the captured packet.
  const rakp3Packet = p[i]!;
  const rakp3 = decodeRakp3(decodeRmcpPlusPacket(bytes(rakp3Packet.hex)).payload);
  const ours = encodeRakp3({
    messageTag: rakp1.messageTag,
    statusCode: 0,
    managedSystemSessionId: sidc,
    keyExchangeAuthCode: rakp3KeyExchangeAuthCode(suite, kuid, values),
  });
  assert.equal(rakp3.keyExchangeAuthCode.toString("hex"), rakp3Packet.hmac);
  assert.equal(
    encodeRmcpPlusPacket({
      payloadType: PayloadType.RAKP3,
      sessionId: 0,
      sessionSeq: 0,
      payload: ours,
    }).toString("hex"),
    rakp3Packet.hex,
  );
  i++;

  // RAKP 4: the ICV is HMAC-SHA1-96 keyed by the SIK.
  const rakp4Packet = p[i]!;
  const rakp4Raw = decodeRmcpPlusPacket(bytes(rakp4Packet.hex)).payload;
  const rakp4 = decodeRakp4(rakp4Raw);
  assert.ok(isAccepted(rakp4));
  assert.equal(rakp4.consoleSessionId, sidm);
  assert.equal(
    rakp4IntegrityCheckValue(suite, keys.sik, values).toString("hex"),
    rakp4.integrityCheckValue.toString("hex"),
  );
  assert.equal(rakp4.integrityCheckValue.toString("hex"), rakp4Packet.icv);
  assert.equal(encodeRakp4(rakp4).toString("hex"), rakp4Raw.toString("hex"));
  i++;

  return { security: { suite, k1: keys.k1, k2: keys.k2 }, sidm, sidc, next: i };
}

interface SessionMessage {
  dir: VectorPacket["dir"];
  plaintext: Buffer;
}

/** Checks every in-session packet from `start` until the next session-less one; returns their plaintexts. */
function checkSessionPackets(
  v: Vector,
  start: number,
  s: { security: SessionSecurity; sidm: number; sidc: number },
): { messages: SessionMessage[]; next: number } {
  const messages: SessionMessage[] = [];
  let i = start;
  for (
    ;
    i < v.packets.length &&
    isRmcpPlus(v.packets[i]!) &&
    payloadTypeOf(v.packets[i]!) === PayloadType.IPMI;
    i++
  ) {
    const pkt = v.packets[i]!;
    const wire = bytes(pkt.hex);
    const opened = openSessionPacket(wire, s.security); // verifies the AuthCode, decrypts
    assert.equal(
      opened.sessionId,
      pkt.dir === "rc->bmc" ? s.sidc : s.sidm,
      "each packet carries the receiver session ID",
    );
    assert.equal(opened.sessionSeq, pkt.sessionSeq);
    // The AuthCode, computed on its own, is the decoded one.
    const parsed = decodeRmcpPlusPacket(wire, 12);
    assert.equal(
      integrityAuthCode(s.security.suite, s.security.k1, parsed.integrityCovered!).toString("hex"),
      pkt.authCode,
    );
    assert.equal(pkt.authCodeValid, true);
    // AES-CBC-128 decryption gives the decoded plaintext, pad removed.
    const padded = bytes(pkt.plaintextPadded!);
    assert.equal(parsed.payload.subarray(0, 16).toString("hex"), pkt.iv);
    assert.equal(
      decryptPayload(s.security.suite, s.security.k2, parsed.payload).toString("hex"),
      unpad(padded).toString("hex"),
    );
    assert.equal(opened.payload.toString("hex"), unpad(padded).toString("hex"));
    // Encryption with the same IV gives the same ciphertext (so the pad is the same).
    assert.equal(
      encryptPayload(s.security.suite, s.security.k2, unpad(padded), bytes(pkt.iv!)).toString(
        "hex",
      ),
      parsed.payload.toString("hex"),
    );
    // And the whole packet re-encodes byte-exactly from (session ID, sequence, plaintext, IV).
    const again = encodeRmcpPlusPacket(
      {
        payloadType: PayloadType.IPMI,
        sessionId: opened.sessionId,
        sessionSeq: opened.sessionSeq,
        payload: opened.payload,
      },
      s.security,
      bytes(pkt.iv!),
    );
    assert.equal(again.toString("hex"), pkt.hex);
    messages.push({ dir: pkt.dir, plaintext: opened.payload });
  }
  return { messages, next: i };
}

/** The session-less Get Channel Authentication Capabilities pair of an IPMI 2.0 login. */
function checkAuthCapabilities(v: Vector, i: number, ipmi20: boolean): void {
  const req = decodeSession15Packet(bytes(v.packets[i]!.hex));
  assert.equal(req.authType, AuthType.none);
  const msg = decodeIpmiRequest(req.message);
  assert.equal(msg.cmd, AppCmd.GetChannelAuthenticationCapabilities);
  assert.deepEqual(msg.data, encodeGetChannelAuthCapabilitiesRequest(4, ipmi20));
  assert.equal(
    encodeSession15Packet({
      authType: AuthType.none,
      sessionSeq: 0,
      sessionId: 0,
      message: encodeIpmiRequest({
        netFn: NetFn.App,
        cmd: msg.cmd,
        rqSeq: msg.rqSeq,
        data: msg.data,
      }),
    }).toString("hex"),
    v.packets[i]!.hex,
  );
  const rsp = decodeIpmiResponse(decodeSession15Packet(bytes(v.packets[i + 1]!.hex)).message);
  assert.equal(rsp.completionCode, 0);
  const caps = decodeGetChannelAuthCapabilitiesResponse(rsp.data);
  assert.equal(caps.channel, 1);
  assert.equal(caps.ipmi20Supported, true);
  assert.equal(caps.ipmi15Supported, true);
  assert.equal(caps.authTypes.md5, true);
  assert.equal(caps.authTypes.straightPassword, true);
  assert.equal(caps.authTypes.none, false);
  assert.equal(caps.nonNullUsernamesEnabled, true);
  assert.equal(caps.kgConfigured, false);
}

function ipmiOf(m: SessionMessage) {
  return m.dir === "rc->bmc" ? decodeIpmiRequest(m.plaintext) : decodeIpmiResponse(m.plaintext);
}

describe("IPMI 2.0 vectors: cipher suite 3, chassis power status", () => {
  const v = loadVector("rmcpplus_C3_chassis_status");

  it("Get Channel Authentication Capabilities asks for IPMI 2.0 data and decodes", () => {
    checkAuthCapabilities(v, 0, true);
  });

  it("login: Open Session, RAKP 2 HMAC, SIK/K1/K2, RAKP 3 HMAC, RAKP 4 ICV", () => {
    checkRmcpPlusLogin(v, 2);
  });

  it("every session packet: AuthCode, decryption, byte-exact re-encoding; the IPMI messages decode", () => {
    const login = checkRmcpPlusLogin(v, 2);
    const { messages, next } = checkSessionPackets(v, login.next, login);
    assert.equal(next, v.packets.length);
    assert.equal(messages.length, 14);
    for (const m of messages) {
      // Framing round trip of each IPMI message.
      const again =
        m.dir === "rc->bmc"
          ? encodeIpmiRequest(decodeIpmiRequest(m.plaintext))
          : encodeIpmiResponse(decodeIpmiResponse(m.plaintext));
      assert.equal(again.toString("hex"), m.plaintext.toString("hex"));
    }
    const setPriv = decodeIpmiRequest(messages[0]!.plaintext);
    assert.deepEqual(
      [setPriv.netFn, setPriv.cmd, [...setPriv.data]],
      [NetFn.App, AppCmd.SetSessionPrivilegeLevel, [4]],
    );
    const statusRsp = decodeIpmiResponse(messages[11]!.plaintext);
    assert.equal(statusRsp.cmd, ChassisCmd.GetChassisStatus);
    const status = decodeGetChassisStatusResponse(statusRsp.data);
    assert.equal(status.powerOn, true);
    assert.equal(status.powerFault, false);
    assert.equal(status.powerRestorePolicy, "always-off");
    const close = decodeIpmiRequest(messages[12]!.plaintext);
    assert.equal(close.cmd, AppCmd.CloseSession);
    assert.deepEqual(close.data, encodeCloseSessionRequest(login.sidc));
    // ipmitool's HPM probes are answered "invalid command".
    assert.equal(decodeIpmiResponse(messages[3]!.plaintext).completionCode, 0xc1);
  });

  it("a flipped bit anywhere in a session packet fails its integrity check", () => {
    const login = checkRmcpPlusLogin(v, 2);
    const wire = bytes(v.packets[login.next]!.hex);
    for (let at = 4; at < wire.length; at++) {
      const bad = Buffer.from(wire);
      bad[at]! ^= 0x01;
      assert.throws(
        () => openSessionPacket(bad, login.security),
        (e) => e instanceof Error && e.name.startsWith("Ipmi"),
        `byte ${at}`,
      );
    }
  });
});

describe("IPMI 2.0 vectors: cipher suite 3, Chassis Control off, then on", () => {
  const v = loadVector("rmcpplus_C3_chassis_off_on");

  it("two logins and sessions reproduce byte for byte; the controls are power down and power up", () => {
    const controls: number[] = [];
    let i = 0;
    for (let n = 0; n < 2; n++) {
      checkAuthCapabilities(v, i, true);
      const login = checkRmcpPlusLogin(v, i + 2);
      const { messages, next } = checkSessionPackets(v, login.next, login);
      for (const m of messages) {
        const msg = ipmiOf(m);
        if (
          m.dir === "rc->bmc" &&
          msg.netFn === NetFn.Chassis &&
          msg.cmd === ChassisCmd.ChassisControl
        )
          controls.push(msg.data[0]!);
        if ("completionCode" in msg && msg.cmd === ChassisCmd.ChassisControl)
          assert.equal(msg.completionCode, 0);
      }
      i = next;
    }
    assert.equal(i, v.packets.length);
    assert.deepEqual(controls, [
      encodeChassisControlRequest("off")[0],
      encodeChassisControlRequest("on")[0],
    ]);
  });
});

describe("IPMI 2.0 vectors: wrong password", () => {
  const v = loadVector("rmcpplus_C3_wrong_password");
  const suite = cipherSuite(3);

  function rakpValues(): { values: RakpValues; hmac: Buffer } {
    const osReq = decodeOpenSessionRequest(decodeRmcpPlusPacket(bytes(v.packets[2]!.hex)).payload);
    const osRsp = decodeOpenSessionResponse(decodeRmcpPlusPacket(bytes(v.packets[3]!.hex)).payload);
    const rakp1 = decodeRakp1(decodeRmcpPlusPacket(bytes(v.packets[4]!.hex)).payload);
    const rakp2 = decodeRakp2(decodeRmcpPlusPacket(bytes(v.packets[5]!.hex)).payload);
    assert.ok(
      isAccepted(rakp2) && isAccepted(osRsp),
      "the BMC does not refuse in RAKP 2; it keys its HMAC with the real password",
    );
    return {
      values: {
        consoleSessionId: osReq.consoleSessionId,
        managedSystemSessionId: osRsp.managedSystemSessionId,
        consoleRandom: rakp1.consoleRandom,
        managedSystemRandom: rakp2.managedSystemRandom,
        managedSystemGuid: rakp2.managedSystemGuid,
        requestedRole: rakp1.requestedRole,
        username: rakp1.username,
      },
      hmac: rakp2.keyExchangeAuthCode,
    };
  }

  it("RAKP 2's HMAC verifies only with the BMC's password, so a wrong one is caught before RAKP 3", () => {
    const { values, hmac } = rakpValues();
    assert.equal(
      rakp2KeyExchangeAuthCode(suite, userKey(v.password), values).toString("hex"),
      hmac.toString("hex"),
    );
    for (const wrong of ["", "Secret", "secret ", "wrong", "x".repeat(20)]) {
      assert.notEqual(
        rakp2KeyExchangeAuthCode(suite, userKey(wrong), values).toString("hex"),
        hmac.toString("hex"),
      );
    }
    assert.equal(v.packets.at(-1)!.hmacValid, false, "the capture's client had a wrong password");
    assert.equal(payloadTypeOf(v.packets.at(-1)!), PayloadType.RAKP2, "and sent no RAKP 3");
  });
});

describe("IPMI 2.0 vectors: cipher suite 17 refused by ipmi_sim", () => {
  const v = loadVector("rmcpplus_C17_rejected");

  it("Open Session Request for 17 encodes as captured; status 0x04 decodes from a 2-byte payload", () => {
    const suite = cipherSuite(17);
    const req = decodeOpenSessionRequest(decodeRmcpPlusPacket(bytes(v.packets[2]!.hex)).payload);
    assert.deepEqual(
      [req.authentication, req.integrity, req.confidentiality],
      [suite.authentication, suite.integrity, suite.confidentiality],
    );
    assert.equal(req.requestedMaximumPrivilege, 0);
    assert.equal(
      encodeRmcpPlusPacket({
        payloadType: PayloadType.OpenSessionRequest,
        sessionId: 0,
        sessionSeq: 0,
        payload: encodeOpenSessionRequest({
          ...req,
          authentication: 0x03,
          integrity: 0x04,
          confidentiality: 0x01,
        }),
      }).toString("hex"),
      v.packets[2]!.hex,
    );
    const rspPayload = decodeRmcpPlusPacket(bytes(v.packets[3]!.hex)).payload;
    assert.equal(rspPayload.length, 2);
    const rsp = decodeOpenSessionResponse(rspPayload);
    assert.deepEqual(rsp, { messageTag: 0, statusCode: 0x04 });
    assert.equal(rmcpPlusStatusMeaning(rsp.statusCode), "invalid authentication algorithm");
    assert.ok(
      ALGORITHM_REJECTED_STATUSES.has(rsp.statusCode),
      "a refusal the client falls back from",
    );
  });
});

describe("IPMI 2.0 vectors: Get Channel Cipher Suites (never answered by ipmi_sim)", () => {
  const v = loadVector("rmcpplus_noC_get_cipher_suites");

  it("the session-less IPMI payload in RMCP+ format decodes and re-encodes", () => {
    const pkt = decodeRmcpPlusPacket(bytes(v.packets[2]!.hex));
    assert.deepEqual(
      [pkt.payloadType, pkt.sessionId, pkt.sessionSeq, pkt.authenticated, pkt.encrypted],
      [PayloadType.IPMI, 0, 0, false, false],
    );
    const req = decodeIpmiRequest(pkt.payload);
    assert.equal(req.cmd, AppCmd.GetChannelCipherSuites);
    assert.equal(
      encodeRmcpPlusPacket({
        payloadType: 0,
        sessionId: 0,
        sessionSeq: 0,
        payload: pkt.payload,
      }).toString("hex"),
      v.packets[2]!.hex,
    );
    assert.equal(v.packets[3]!.hex, v.packets[2]!.hex, "ipmitool retransmits it unchanged");
  });
});

describe("IPMI 1.5 vectors: MD5 session, chassis status", () => {
  const v = loadVector("ipmi15_md5_chassis_status");
  const key = passwordKey15(v.password);

  it("ASF Presence Ping encodes as captured; the Pong says IPMI is supported", () => {
    assert.equal(encodeAsfPresencePing(0).toString("hex"), v.packets[0]!.hex);
    const pong = decodeAsfPresencePong(bytes(v.packets[1]!.hex));
    assert.equal(pong.ipmiSupported, true);
    assert.equal(pong.asfVersion, 1);
    assert.equal(pong.messageTag, 0);
  });

  it("Get Channel Authentication Capabilities without the IPMI 2.0 bit", () => {
    const req = decodeIpmiRequest(decodeSession15Packet(bytes(v.packets[2]!.hex)).message);
    assert.deepEqual(req.data, encodeGetChannelAuthCapabilitiesRequest(4, false));
    const rsp = decodeIpmiResponse(decodeSession15Packet(bytes(v.packets[3]!.hex)).message);
    const caps = decodeGetChannelAuthCapabilitiesResponse(rsp.data);
    assert.equal(caps.ipmi20ExtendedCapabilities, false);
    assert.equal(caps.ipmi15Supported, true);
    assert.equal(caps.authTypes.md5, true);
  });

  it("Get Session Challenge and Activate Session: MD5 AuthCodes reproduce byte-exactly", () => {
    const challengeReq = decodeIpmiRequest(decodeSession15Packet(bytes(v.packets[4]!.hex)).message);
    assert.deepEqual(challengeReq.data, encodeGetSessionChallengeRequest(AuthType.md5, v.username));
    const challengeRsp = decodeIpmiResponse(
      decodeSession15Packet(bytes(v.packets[5]!.hex)).message,
    );
    const challenge = decodeGetSessionChallengeResponse(challengeRsp.data);
    assert.equal(challenge.temporarySessionId, 0x1d85);

    const activatePacket = decodeSession15Packet(bytes(v.packets[6]!.hex));
    assert.equal(activatePacket.authType, AuthType.md5);
    assert.equal(activatePacket.sessionId, challenge.temporarySessionId);
    assert.equal(activatePacket.sessionSeq, 0);
    const activateReq = decodeIpmiRequest(activatePacket.message);
    const activate = decodeActivateSessionRequest(activateReq.data);
    assert.deepEqual(activate.challenge, challenge.challenge);
    assert.equal(activate.maximumPrivilege, 4);
    const ours = encodeSession15Packet(
      {
        authType: AuthType.md5,
        sessionSeq: 0,
        sessionId: challenge.temporarySessionId,
        message: encodeIpmiRequest({
          netFn: NetFn.App,
          cmd: AppCmd.ActivateSession,
          rqSeq: activateReq.rqSeq,
          data: encodeActivateSessionRequest(activate),
        }),
      },
      key,
    );
    assert.equal(ours.toString("hex"), v.packets[6]!.hex);

    const activated = decodeSession15Packet(bytes(v.packets[7]!.hex));
    verifySession15AuthCode(activated, key);
    const session = decodeActivateSessionResponse(decodeIpmiResponse(activated.message).data);
    assert.equal(session.sessionId, 0xb704);
    assert.equal(session.authType, AuthType.md5);
    assert.equal(session.maximumPrivilege, 4);
  });

  it("every in-session packet: requests re-encode byte-exactly, responses verify; chassis status decodes", () => {
    const activated = decodeActivateSessionResponse(
      decodeIpmiResponse(decodeSession15Packet(bytes(v.packets[7]!.hex)).message).data,
    );
    let expectedSeq = activated.initialInboundSeq;
    let sawStatus = false;
    for (const pkt of v.packets.slice(8)) {
      const parsed = decodeSession15Packet(bytes(pkt.hex));
      assert.equal(parsed.sessionId, activated.sessionId);
      verifySession15AuthCode(parsed, key);
      if (pkt.dir === "rc->bmc") {
        assert.equal(
          parsed.sessionSeq,
          expectedSeq++,
          "the console counts up from the initial inbound sequence number",
        );
        assert.equal(encodeSession15Packet(parsed, key).toString("hex"), pkt.hex);
      } else {
        const rsp = decodeIpmiResponse(parsed.message);
        if (rsp.netFn === (NetFn.Chassis | 1) && rsp.cmd === ChassisCmd.GetChassisStatus) {
          assert.equal(decodeGetChassisStatusResponse(rsp.data).powerOn, true);
          sawStatus = true;
        }
      }
    }
    assert.ok(sawStatus);
  });
});

describe("IPMI 1.5 vectors: MD5 with a wrong password", () => {
  const v = loadVector("ipmi15_md5_wrong_password");

  it("the Activate Session AuthCode does not verify with the BMC's password, and the BMC stays silent", () => {
    const activate = decodeSession15Packet(bytes(v.packets[6]!.hex));
    assert.equal(decodeIpmiRequest(activate.message).cmd, AppCmd.ActivateSession);
    assert.throws(
      () => verifySession15AuthCode(activate, passwordKey15(v.password)),
      IpmiIntegrityError,
    );
    const rest = v.packets.slice(6);
    assert.ok(
      rest.every((p) => p.dir === "rc->bmc" && p.hex === v.packets[6]!.hex),
      "only identical retransmissions, no answer",
    );
  });
});
