// Why one file: every test here drives the one scripted loopback BMC defined below.
/**
 * The I/O layer against a scripted BMC on 127.0.0.1: login paths, cipher fall-back, errors,
 * retransmission, stale/duplicate/forged datagrams, timeouts, Close Session. The scripted BMC is
 * built from the library's own codecs (BMC side), so these tests exercise the client's state
 * machine and timing; byte-exactness against real implementations is ipmi-vectors.test.ts's job,
 * and test/lab runs the client against ipmi_sim.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { after, describe, it } from "node:test";
import { chassisControl, getChassisStatus } from "../../lib/ipmi/chassis.js";
import {
  type CipherSuite,
  SUPPORTED_CIPHER_SUITES,
  bmcKey,
  cipherSuite,
  deriveSessionKeys,
  rakp2KeyExchangeAuthCode,
  rakp3KeyExchangeAuthCode,
  rakp4IntegrityCheckValue,
  userKey,
  type RakpValues,
} from "../../lib/ipmi/cipher-suites.js";
import { openSession, type IpmiTarget, type IpmiTiming } from "../../lib/ipmi/client.js";
import { UdpTransport } from "../../lib/ipmi/transport.js";
import { SequenceWindow } from "../../lib/ipmi/session.js";
import { assertNoWait } from "../lab/bounds.js";
import { AppCmd, ChassisCmd, NetFn, commandName } from "../../lib/ipmi/constants.js";
import {
  IpmiAuthError,
  IpmiCompletionCodeError,
  IpmiConfigError,
  IpmiSessionError,
  IpmiTimeoutError,
} from "../../lib/ipmi/errors.js";
import { type IpmiRequest, decodeIpmiRequest, encodeIpmiResponse } from "../../lib/ipmi/message.js";
import {
  PayloadType,
  type SessionSecurity,
  decodeOpenSessionRequest,
  decodeRakp1,
  decodeRakp3,
  decodeRmcpPlusPacket,
  encodeOpenSessionResponse,
  encodeRakp2,
  encodeRakp4,
  encodeRmcpPlusPacket,
  openSessionPacket,
} from "../../lib/ipmi/rmcpplus.js";
import { decodeActivateSessionRequest } from "../../lib/ipmi/session-commands.js";
import {
  AuthType,
  decodeSession15Packet,
  encodeSession15Packet,
  passwordKey15,
  verifySession15AuthCode,
} from "../../lib/ipmi/session15.js";

const PASSWORD = "Pw-0f-Admin!";
const VIEWER_PASSWORD = "Pw-0f-Viewer";

interface FakeUser {
  name: string;
  password: string;
  maxPrivilege: number;
}

const USERS: FakeUser[] = [
  { name: "admin", password: PASSWORD, maxPrivilege: 4 },
  { name: "viewer", password: VIEWER_PASSWORD, maxPrivilege: 2 },
];

interface FakeBmcOptions {
  /** A repeated RAKP 3 after activation: answered inside the session (as ipmi_sim does), or dropped. */
  repeatedRakp3?: "in-session" | "drop";
  /** RMCP+ suites the BMC accepts. Default: 17 and 3. */
  suites?: number[];
  /** Open Session for these suites is dropped without an answer. */
  silentSuites?: number[];
  kg?: Buffer;
  ipmi20?: boolean;
}

interface RmcpPlusBmcSession {
  consoleSessionId: number;
  bmcSessionId: number;
  suite: CipherSuite;
  user?: FakeUser;
  values?: RakpValues;
  security?: SessionSecurity;
  privilege: number;
  outSeq: number;
}

interface Ipmi15BmcSession {
  user: FakeUser;
  sessionId: number;
  privilege: number;
  outSeq: number;
}

/** 'drop': ignore the request; 'lose': act on it but lose the answer; a number: answer with that completion code. */
type Hook = (name: string, nth: number) => "drop" | "lose" | number | undefined;
type Extra = (reply: Buffer, bmc: FakeBmc) => Buffer[];

/** A scripted BMC on 127.0.0.1: RMCP+ and IPMI 1.5 logins, chassis commands, and fault hooks. */
class FakeBmc {
  readonly socket = dgram.createSocket("udp4");
  port = 0;
  power = true;
  /** Every request the BMC saw, by name, in order ("Open Session 17", "RAKP 1", "Get Chassis Status"...). */
  readonly seen: string[] = [];
  /** Per request: 'drop' (no answer), a completion code, or undefined for normal handling. */
  hook: Hook | undefined;
  /** Session sequence numbers of the in-session RMCP+ requests received. */
  readonly sessionSeqs: number[] = [];
  /** Datagrams sent ahead of each in-session reply. */
  extra: Extra | undefined;
  silent = false;
  private readonly counts = new Map<string, number>();
  private readonly plus = new Map<number, RmcpPlusBmcSession>();
  private readonly challenges = new Map<number, { user: FakeUser; challenge: Buffer }>();
  private readonly v15 = new Map<number, Ipmi15BmcSession>();
  private peer: dgram.RemoteInfo | undefined;

  constructor(private readonly opts: FakeBmcOptions = {}) {}

  async start(): Promise<this> {
    this.socket.on("message", (msg, rinfo) => {
      this.peer = rinfo;
      if (this.silent) return;
      try {
        if (msg[4] === AuthType.rmcpPlus) this.onRmcpPlus(msg);
        else this.onIpmi15(msg);
      } catch {
        // A BMC drops what it cannot parse or authenticate.
      }
    });
    await new Promise<void>((ok) => this.socket.bind(0, "127.0.0.1", ok));
    this.port = this.socket.address().port;
    return this;
  }

  stop(): void {
    this.socket.close();
  }

  send(datagram: Buffer): void {
    if (this.peer) this.socket.send(datagram, this.peer.port, this.peer.address);
  }

  private note(name: string): number {
    this.seen.push(name);
    const n = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, n);
    return n;
  }

  /* RMCP+ ----------------------------------------------------------------------------------- */

  private onRmcpPlus(msg: Buffer): void {
    const type = msg[5]! & 0x3f;
    if (type === PayloadType.OpenSessionRequest)
      return this.onOpenSession(decodeRmcpPlusPacket(msg).payload);
    if (type === PayloadType.RAKP1) return this.onRakp1(decodeRmcpPlusPacket(msg).payload);
    if (type === PayloadType.RAKP3) return this.onRakp3(decodeRmcpPlusPacket(msg).payload);
    const sessionId = msg.readUInt32LE(6);
    const s = [...this.plus.values()].find((x) => x.bmcSessionId === sessionId && x.security);
    if (!s) return;
    const packet = openSessionPacket(msg, s.security!);
    this.sessionSeqs.push(packet.sessionSeq);
    const req = decodeIpmiRequest(packet.payload);
    const answer = this.dispatch(req, s);
    if (answer === undefined) return;
    const reply = encodeRmcpPlusPacket(
      {
        payloadType: PayloadType.IPMI,
        sessionId: s.consoleSessionId,
        sessionSeq: s.outSeq++,
        payload: answer,
      },
      s.security,
      randomBytes(16),
    );
    for (const d of this.extra?.(reply, this) ?? []) this.send(d);
    this.send(reply);
  }

  /** Builds an in-session packet to the console with any payload (for the tests' extra datagrams). */
  sessionPacket(payload: Buffer, seqOffset = 0, security?: SessionSecurity): Buffer {
    const s = [...this.plus.values()].find((x) => x.security)!;
    const seq = seqOffset === 0 ? s.outSeq++ : s.outSeq + seqOffset;
    return encodeRmcpPlusPacket(
      { payloadType: PayloadType.IPMI, sessionId: s.consoleSessionId, sessionSeq: seq, payload },
      security ?? s.security,
      randomBytes(16),
    );
  }

  private reply(type: number, payload: Buffer): void {
    this.send(encodeRmcpPlusPacket({ payloadType: type, sessionId: 0, sessionSeq: 0, payload }));
  }

  private onOpenSession(payload: Buffer): void {
    const req = decodeOpenSessionRequest(payload);
    const id = SUPPORTED_CIPHER_SUITES.find((n) => {
      const s = cipherSuite(n);
      return (
        s.authentication === req.authentication &&
        s.integrity === req.integrity &&
        s.confidentiality === req.confidentiality
      );
    });
    this.note(`Open Session ${id}`);
    if (id !== undefined && this.opts.silentSuites?.includes(id)) return;
    if (id === undefined || !(this.opts.suites ?? [17, 3]).includes(id)) {
      // As ipmi_sim does: a 2-byte refusal.
      return this.reply(
        PayloadType.OpenSessionResponse,
        encodeOpenSessionResponse({ messageTag: req.messageTag, statusCode: 0x04 }),
      );
    }
    const bmcSessionId = (randomBytes(4).readUInt32LE(0) | 1) >>> 0;
    this.plus.set(bmcSessionId, {
      consoleSessionId: req.consoleSessionId,
      bmcSessionId,
      suite: cipherSuite(id),
      privilege: 2,
      outSeq: 1,
    });
    this.reply(
      PayloadType.OpenSessionResponse,
      encodeOpenSessionResponse({
        messageTag: req.messageTag,
        statusCode: 0,
        maximumPrivilege: 4,
        consoleSessionId: req.consoleSessionId,
        managedSystemSessionId: bmcSessionId,
        authentication: req.authentication,
        integrity: req.integrity,
        confidentiality: req.confidentiality,
      }),
    );
  }

  private onRakp1(payload: Buffer): void {
    const m = decodeRakp1(payload);
    this.note("RAKP 1");
    const s = this.plus.get(m.managedSystemSessionId);
    if (!s) return;
    const user = USERS.find((u) => u.name === m.username.toString());
    if (!user) {
      return this.reply(
        PayloadType.RAKP2,
        encodeRakp2({
          messageTag: m.messageTag,
          statusCode: 0x0d,
          consoleSessionId: s.consoleSessionId,
        }),
      );
    }
    if ((m.requestedRole & 0x0f) > user.maxPrivilege) {
      return this.reply(
        PayloadType.RAKP2,
        encodeRakp2({
          messageTag: m.messageTag,
          statusCode: 0x09,
          consoleSessionId: s.consoleSessionId,
        }),
      );
    }
    s.user = user;
    s.values = {
      consoleSessionId: s.consoleSessionId,
      managedSystemSessionId: s.bmcSessionId,
      consoleRandom: m.consoleRandom,
      managedSystemRandom: randomBytes(16),
      managedSystemGuid: Buffer.alloc(16, 0x42),
      requestedRole: m.requestedRole,
      username: m.username,
    };
    this.reply(
      PayloadType.RAKP2,
      encodeRakp2({
        messageTag: m.messageTag,
        statusCode: 0,
        consoleSessionId: s.consoleSessionId,
        managedSystemRandom: s.values.managedSystemRandom,
        managedSystemGuid: s.values.managedSystemGuid,
        // Keyed by the user's real password, whatever the console knows.
        keyExchangeAuthCode: rakp2KeyExchangeAuthCode(s.suite, userKey(user.password), s.values),
      }),
    );
  }

  private onRakp3(payload: Buffer): void {
    const m = decodeRakp3(payload);
    const nth = this.note("RAKP 3");
    const s = this.plus.get(m.managedSystemSessionId);
    if (!s?.values || !s.user) return;
    if (s.security) {
      // The session is active already: this RAKP 3 is a retransmission.
      if (this.opts.repeatedRakp3 !== "in-session") return;
      const keys = deriveSessionKeys(
        s.suite,
        userKey(s.user.password),
        this.opts.kg ? bmcKey(this.opts.kg) : undefined,
        s.values,
      );
      const again = encodeRakp4({
        messageTag: m.messageTag,
        statusCode: 0,
        consoleSessionId: s.consoleSessionId,
        integrityCheckValue: rakp4IntegrityCheckValue(s.suite, keys.sik, s.values),
      });
      this.send(
        encodeRmcpPlusPacket(
          {
            payloadType: PayloadType.RAKP4,
            sessionId: s.consoleSessionId,
            sessionSeq: s.outSeq++,
            payload: again,
          },
          s.security,
          randomBytes(16),
        ),
      );
      return;
    }
    const lose = this.hook?.("RAKP 3", nth) === "lose";
    const kuid = userKey(s.user.password);
    if (!m.keyExchangeAuthCode.equals(rakp3KeyExchangeAuthCode(s.suite, kuid, s.values))) {
      return this.reply(
        PayloadType.RAKP4,
        encodeRakp4({
          messageTag: m.messageTag,
          statusCode: 0x0f,
          consoleSessionId: s.consoleSessionId,
        }),
      );
    }
    const keys = deriveSessionKeys(
      s.suite,
      kuid,
      this.opts.kg ? bmcKey(this.opts.kg) : undefined,
      s.values,
    );
    s.security = { suite: s.suite, k1: keys.k1, k2: keys.k2 };
    if (lose) return;
    this.reply(
      PayloadType.RAKP4,
      encodeRakp4({
        messageTag: m.messageTag,
        statusCode: 0,
        consoleSessionId: s.consoleSessionId,
        integrityCheckValue: rakp4IntegrityCheckValue(s.suite, keys.sik, s.values),
      }),
    );
  }

  /* IPMI 1.5 -------------------------------------------------------------------------------- */

  private onIpmi15(msg: Buffer): void {
    const p = decodeSession15Packet(msg);
    const req = decodeIpmiRequest(p.message);
    if (p.sessionId === 0) {
      const answer = this.dispatchSessionless(req);
      if (answer)
        this.send(
          encodeSession15Packet({
            authType: AuthType.none,
            sessionSeq: 0,
            sessionId: 0,
            message: answer,
          }),
        );
      return;
    }
    const pending = this.challenges.get(p.sessionId);
    if (pending && req.cmd === AppCmd.ActivateSession) {
      const nth = this.note("Activate Session");
      const key = passwordKey15(pending.user.password);
      verifySession15AuthCode(p, key); // a wrong password is dropped silently, as BMCs do
      // A challenge is good for one activation: a repeated Activate Session goes unanswered.
      this.challenges.delete(p.sessionId);
      if (this.hook?.("Activate Session", nth) === "lose") return;
      const a = decodeActivateSessionRequest(req.data);
      const sessionId = (randomBytes(4).readUInt32LE(0) | 1) >>> 0;
      const inbound = (randomBytes(4).readUInt32LE(0) | 1) >>> 0;
      this.v15.set(sessionId, {
        user: pending.user,
        sessionId,
        privilege: 2,
        outSeq: a.initialOutboundSeq,
      });
      const data = Buffer.alloc(10);
      data[0] = AuthType.md5;
      data.writeUInt32LE(sessionId, 1);
      data.writeUInt32LE(inbound, 5);
      data[9] = a.maximumPrivilege;
      const answer = encodeIpmiResponse({
        netFn: req.netFn | 1,
        cmd: req.cmd,
        rqSeq: req.rqSeq,
        completionCode: 0,
        data,
      });
      this.send(
        encodeSession15Packet(
          {
            authType: p.authType,
            sessionSeq: a.initialOutboundSeq,
            sessionId: p.sessionId,
            message: answer,
          },
          key,
        ),
      );
      return;
    }
    const s = this.v15.get(p.sessionId);
    if (!s) return;
    const key = passwordKey15(s.user.password);
    verifySession15AuthCode(p, key);
    const answer = this.dispatch(req, s);
    if (answer)
      this.send(
        encodeSession15Packet(
          { authType: p.authType, sessionSeq: s.outSeq++, sessionId: s.sessionId, message: answer },
          key,
        ),
      );
  }

  private dispatchSessionless(req: IpmiRequest): Buffer | undefined {
    const name = commandName(req.netFn, req.cmd);
    const nth = this.note(name);
    const hooked = this.hook?.(name, nth);
    if (hooked === "drop") return undefined;
    const rsp = (completionCode: number, data?: Buffer) =>
      encodeIpmiResponse({
        netFn: req.netFn | 1,
        cmd: req.cmd,
        rqSeq: req.rqSeq,
        completionCode,
        ...(data ? { data } : {}),
      });
    if (typeof hooked === "number") return rsp(hooked);
    if (req.cmd === AppCmd.GetChannelAuthenticationCapabilities) {
      const ipmi20 = this.opts.ipmi20 ?? true;
      if (req.data[0]! & 0x80 && !ipmi20) return rsp(0xcc);
      return rsp(
        0,
        Buffer.from([1, (ipmi20 ? 0x80 : 0) | 0x04 | 0x10, 0x04, ipmi20 ? 0x03 : 0, 0, 0, 0, 0]),
      );
    }
    if (req.cmd === AppCmd.GetSessionChallenge) {
      const user = USERS.find(
        (u) => u.name === req.data.subarray(1).toString().replace(/\0+$/, ""),
      );
      if (!user) return rsp(0x81);
      const temp = (randomBytes(4).readUInt32LE(0) | 1) >>> 0;
      const challenge = randomBytes(16);
      this.challenges.set(temp, { user, challenge });
      const data = Buffer.alloc(20);
      data.writeUInt32LE(temp, 0);
      challenge.copy(data, 4);
      return rsp(0, data);
    }
    return rsp(0xc1);
  }

  /** In-session commands, shared by both session kinds. */
  private dispatch(
    req: IpmiRequest,
    s: { privilege: number; user?: FakeUser },
  ): Buffer | undefined {
    const name = commandName(req.netFn, req.cmd);
    const nth = this.note(name);
    const hooked = this.hook?.(name, nth);
    if (hooked === "drop") return undefined;
    const rsp = (completionCode: number, data?: Buffer) =>
      encodeIpmiResponse({
        netFn: req.netFn | 1,
        cmd: req.cmd,
        rqSeq: req.rqSeq,
        completionCode,
        ...(data ? { data } : {}),
      });
    if (typeof hooked === "number") return rsp(hooked);
    if (req.netFn === NetFn.App && req.cmd === AppCmd.SetSessionPrivilegeLevel) {
      if (req.data[0]! > (s.user?.maxPrivilege ?? 0)) return rsp(0x81);
      s.privilege = req.data[0]!;
      return rsp(0, Buffer.from([s.privilege]));
    }
    if (req.netFn === NetFn.App && req.cmd === AppCmd.CloseSession) return rsp(0);
    if (req.netFn === NetFn.Chassis && req.cmd === ChassisCmd.GetChassisStatus)
      return rsp(0, Buffer.from([this.power ? 1 : 0, 0, 0]));
    if (req.netFn === NetFn.Chassis && req.cmd === ChassisCmd.ChassisControl) {
      if (s.privilege < 3) return rsp(0xd4);
      if (req.data[0] === 0) this.power = false;
      if (req.data[0] === 1) this.power = true;
      return rsp(0);
    }
    return rsp(0xc1);
  }
}

const bmcs: FakeBmc[] = [];
after(() => bmcs.forEach((b) => b.stop()));

async function fakeBmc(opts: FakeBmcOptions = {}): Promise<FakeBmc> {
  const bmc = await new FakeBmc(opts).start();
  bmcs.push(bmc);
  return bmc;
}

function target(bmc: FakeBmc, extra: Partial<IpmiTarget> = {}): IpmiTarget {
  return {
    host: "127.0.0.1",
    port: bmc.port,
    username: "admin",
    password: PASSWORD,
    privilege: "administrator",
    lanplus: true,
    ...extra,
  };
}

function timing(loginMs = 3000, requestTimeoutMs = 1000): IpmiTiming {
  return { loginDeadline: Date.now() + loginMs, requestTimeoutMs, retransmitMs: 40 };
}

/**
 * What the BMC saw, a retransmission (the same request again, next in line) counted once: on a
 * loaded machine an answer can take longer than the tests' 40 ms retransmission interval.
 */
function retransmissionsFolded(seen: readonly string[]): string[] {
  return seen.filter((s, i) => i === 0 || s !== seen[i - 1]);
}

/** Collects log lines and checks that no secret ever reaches them. */
function logger(): { log: (l: string) => void; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    log: (l) => {
      assert.ok(
        !l.includes(PASSWORD) && !l.includes(VIEWER_PASSWORD),
        `a log line holds a password: ${l}`,
      );
      lines.push(l);
    },
  };
}

async function rejects<T extends Error>(
  p: Promise<unknown>,
  type: new (...a: never[]) => T,
  message?: RegExp,
): Promise<T> {
  try {
    await p;
  } catch (err) {
    assert.ok(
      err instanceof type,
      `expected ${type.name}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
    );
    if (message) assert.match(err.message, message);
    assert.ok(!err.message.includes(PASSWORD), "error messages never hold the password");
    return err;
  }
  assert.fail(`expected ${type.name}`);
}

describe("openSession over RMCP+", () => {
  it("cipher 17 by default: status, power off and on, close", async () => {
    const bmc = await fakeBmc();
    const { log, lines } = logger();
    const session = await openSession(target(bmc), timing(), log);
    assert.equal(session.cipher, 17);
    assert.equal((await getChassisStatus(session)).powerOn, true);
    await chassisControl(session, "off");
    assert.equal(bmc.power, false);
    assert.equal((await getChassisStatus(session)).powerOn, false);
    await chassisControl(session, "on");
    assert.equal(bmc.power, true);
    await session.close();
    assert.deepEqual(retransmissionsFolded(bmc.seen), [
      "Get Channel Authentication Capabilities",
      "Open Session 17",
      "RAKP 1",
      "RAKP 3",
      "Set Session Privilege Level",
      "Get Chassis Status",
      "Chassis Control",
      "Get Chassis Status",
      "Chassis Control",
      "Close Session",
    ]);
    assert.ok(lines.some((l) => l.includes("RAKP 4")));
  });

  it("falls back from 17 to 3 at once when Open Session refuses the algorithms", async () => {
    const bmc = await fakeBmc({ suites: [3] });
    const t0 = Date.now();
    const session = await openSession(target(bmc), {
      loginDeadline: Date.now() + 5000,
      requestTimeoutMs: 2000,
      retransmitMs: 1000,
    });
    const elapsed = Date.now() - t0;
    assert.equal(session.cipher, 3);
    assert.ok(elapsed < 500, `the refusal cost no timeout or retransmission (${elapsed} ms)`);
    assert.deepEqual(retransmissionsFolded(bmc.seen).slice(0, 3), [
      "Get Channel Authentication Capabilities",
      "Open Session 17",
      "Open Session 3",
    ]);
    await session.close();
  });

  it("a configured cipher is the only one tried; its refusal is a session error", async () => {
    const bmc = await fakeBmc({ suites: [3] });
    await rejects(
      openSession(target(bmc, { cipher: 17 }), timing()),
      IpmiSessionError,
      /does not support cipher suite 17: invalid authentication algorithm \(RMCP\+ status 0x04\)/,
    );
    assert.deepEqual(
      bmc.seen.filter((s) => s.startsWith("Open Session")),
      ["Open Session 17"],
    );
  });

  it("a BMC silent about 17 costs at most half the login time before 3 is tried", async () => {
    const bmc = await fakeBmc({ silentSuites: [17] });
    const t0 = Date.now();
    const session = await openSession(target(bmc), {
      loginDeadline: Date.now() + 1200,
      requestTimeoutMs: 1000,
      retransmitMs: 100,
    });
    assert.equal(session.cipher, 3);
    assert.ok(Date.now() - t0 < 1200);
    await session.close();
  });

  it("a wrong password is an auth error at RAKP 2, and no RAKP 3 is sent", async () => {
    const bmc = await fakeBmc();
    await rejects(
      openSession(target(bmc, { password: "not-it" }), timing()),
      IpmiAuthError,
      /wrong password/,
    );
    assert.ok(!bmc.seen.includes("RAKP 3"));
  });

  it("an unknown user is an auth error (RAKP 2 status 0x0D)", async () => {
    const bmc = await fakeBmc();
    await rejects(
      openSession(target(bmc, { username: "mallory" }), timing()),
      IpmiAuthError,
      /does not know user 'mallory': unauthorized name \(RAKP 2 status 0x0D\)/,
    );
  });

  it("an error message stays one line when the user name holds a line break", async () => {
    const bmc = await fakeBmc();
    const err = await rejects(
      openSession(target(bmc, { username: "mal\nlory" }), timing()),
      IpmiAuthError,
      /does not know user 'mal lory'/,
    );
    assert.ok(!/[\r\n]/.test(err.message));
  });

  it("a privilege above the user limit is an auth error", async () => {
    const bmc = await fakeBmc();
    await rejects(
      openSession(target(bmc, { username: "viewer", password: VIEWER_PASSWORD }), timing()),
      IpmiAuthError,
      /refused privilege administrator for user 'viewer'/,
    );
  });

  it("a Kg mismatch shows at RAKP 4", async () => {
    const bmc = await fakeBmc({ kg: Buffer.from("00112233445566778899", "hex") });
    await rejects(openSession(target(bmc), timing()), IpmiAuthError, /Kg/);
    await rejects(
      openSession(target(bmc, { kg: Buffer.from("ff", "hex") }), timing()),
      IpmiAuthError,
      /hexadecimal_kg/,
    );
    const session = await openSession(
      target(bmc, { kg: Buffer.from("00112233445566778899", "hex") }),
      timing(),
    );
    assert.equal((await getChassisStatus(session)).powerOn, true);
    await session.close();
  });

  it("a user-privilege session gets 0xD4 for Chassis Control at once, without retries", async () => {
    const bmc = await fakeBmc();
    const session = await openSession(
      target(bmc, { username: "viewer", password: VIEWER_PASSWORD, privilege: "user" }),
      timing(),
    );
    assert.ok(!bmc.seen.includes("Set Session Privilege Level"), "not needed at user level");
    assert.equal((await getChassisStatus(session)).powerOn, true);
    const err = await rejects(chassisControl(session, "off"), IpmiCompletionCodeError);
    assert.equal(err.message, "BMC refused Chassis Control: insufficient privilege level (0xD4)");
    assert.equal(err.completionCode, 0xd4);
    assert.equal(bmc.seen.filter((s) => s === "Chassis Control").length, 1);
    assert.equal(bmc.power, true);
    await session.close();
  });

  it("Set Session Privilege Level refused: completion code error, and the session is closed", async () => {
    const bmc = await fakeBmc();
    bmc.hook = (name) => (name === "Set Session Privilege Level" ? 0x81 : undefined);
    await rejects(
      openSession(target(bmc), timing()),
      IpmiCompletionCodeError,
      /requested level exceeds channel and\/or user privilege limit \(0x81\)/,
    );
    assert.equal(bmc.seen.at(-1), "Close Session");
  });

  it("retransmits with fresh session sequence numbers until the BMC answers", async () => {
    const bmc = await fakeBmc();
    const session = await openSession(target(bmc), timing());
    bmc.hook = (name, nth) => (name === "Get Chassis Status" && nth <= 2 ? "drop" : undefined);
    const before = bmc.sessionSeqs.length;
    assert.equal((await getChassisStatus(session)).powerOn, true);
    assert.equal(bmc.seen.filter((s) => s === "Get Chassis Status").length, 3);
    const seqs = bmc.sessionSeqs.slice(before);
    assert.equal(seqs.length, 3);
    assert.ok(
      seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!,
      `session sequence numbers ${seqs.join(", ")}`,
    );
    await session.close();
  });

  it("retransmits lost login messages too", async () => {
    const bmc = await fakeBmc();
    let dropped = 0;
    bmc.hook = (name, nth) =>
      name === "Get Channel Authentication Capabilities" && nth === 1
        ? (dropped++, "drop")
        : undefined;
    const { log, lines } = logger();
    const session = await openSession(target(bmc), timing(), log);
    assert.equal(dropped, 1);
    assert.ok(lines.some((l) => /retransmission 1/.test(l)));
    await session.close();
  });

  it("a lost RAKP 4 is recovered when the BMC answers the repeated RAKP 3 inside the session (ipmi_sim)", async () => {
    const bmc = await fakeBmc({ repeatedRakp3: "in-session" });
    bmc.hook = (name, nth) => (name === "RAKP 3" && nth === 1 ? "lose" : undefined);
    const { log, lines } = logger();
    const session = await openSession(target(bmc), timing(), log);
    assert.equal((await getChassisStatus(session)).powerOn, true);
    assert.ok(bmc.seen.filter((s) => s === "RAKP 3").length >= 2, "RAKP 3 resent");
    assert.ok(!lines.some((l) => /starting the login over/.test(l)), "the same login");
    await session.close();
  });

  it("a lost RAKP 4 with a BMC that ignores the repeated RAKP 3: the login starts over", async () => {
    const bmc = await fakeBmc({ repeatedRakp3: "drop" });
    bmc.hook = (name, nth) => (name === "RAKP 3" && nth === 1 ? "lose" : undefined);
    const { log, lines } = logger();
    const session = await openSession(target(bmc), timing(3000, 300), log);
    assert.equal(session.cipher, 17);
    assert.equal((await getChassisStatus(session)).powerOn, true);
    assert.equal(bmc.seen.filter((s) => s === "Open Session 17").length, 2);
    assert.ok(lines.some((l) => /starting the login over/.test(l)));
    await session.close();
  });

  it("ignores stale, duplicate and forged datagrams and takes the real answer", async () => {
    const bmc = await fakeBmc();
    const { log, lines } = logger();
    const session = await openSession(target(bmc), timing(), log);
    let previous: Buffer | undefined;
    bmc.extra = (reply, b) => {
      const out: Buffer[] = [];
      // A stale answer: the right command, an earlier rqSeq.
      out.push(
        b.sessionPacket(
          encodeIpmiResponse({
            netFn: 1,
            cmd: ChassisCmd.GetChassisStatus,
            rqSeq: 60,
            completionCode: 0,
            data: Buffer.from([0, 0, 0]),
          }),
        ),
      );
      // A forgery: keyed with the wrong K1.
      out.push(
        b.sessionPacket(
          encodeIpmiResponse({
            netFn: 1,
            cmd: ChassisCmd.GetChassisStatus,
            rqSeq: 0,
            completionCode: 0,
            data: Buffer.from([0, 0, 0]),
          }),
          5,
          {
            suite: cipherSuite(17),
            k1: Buffer.alloc(32),
            k2: Buffer.alloc(32),
          },
        ),
      );
      // Garbage.
      out.push(randomBytes(37));
      // A replay of the previous reply (same session sequence number).
      if (previous) out.push(previous);
      previous = reply;
      return out;
    };
    for (let i = 0; i < 3; i++)
      assert.equal((await getChassisStatus(session)).powerOn, true, `round ${i}`);
    assert.ok(
      lines.some((l) => /AuthCode does not verify/.test(l)),
      "forgery dropped and logged",
    );
    assert.ok(
      lines.some((l) => /seen before|stale/.test(l)),
      "replay dropped and logged",
    );
    assert.ok(
      lines.some((l) => /ignored/.test(l)),
      "stale answer ignored",
    );
    bmc.extra = undefined;
    await session.close();
  });

  it("no answer: a timeout error naming the BMC and the wait, within the request timeout", async () => {
    const bmc = await fakeBmc();
    const session = await openSession(target(bmc), timing(3000, 600));
    bmc.silent = true;
    const t0 = Date.now();
    await rejects(
      getChassisStatus(session),
      IpmiTimeoutError,
      new RegExp(
        `^no answer from BMC 127\\.0\\.0\\.1:${bmc.port} within 0\\.6 s \\(Get Chassis Status\\)$`,
      ),
    );
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 590 && elapsed < 1500, `${elapsed} ms`);
    // close() still returns, bounded, without throwing; and is idempotent.
    const c0 = Date.now();
    await session.close();
    await session.close();
    assert.ok(Date.now() - c0 < 1000);
    await rejects(
      session.request(NetFn.Chassis, ChassisCmd.GetChassisStatus),
      IpmiSessionError,
      /session closed/,
    );
  });

  it("the login deadline bounds the whole login", async () => {
    const bmc = await fakeBmc();
    bmc.silent = true;
    const t0 = Date.now();
    await rejects(
      openSession(target(bmc), {
        loginDeadline: Date.now() + 300,
        requestTimeoutMs: 5000,
        retransmitMs: 50,
      }),
      IpmiTimeoutError,
    );
    assert.ok(Date.now() - t0 < 600);
    await rejects(
      openSession(target(bmc), { loginDeadline: Date.now() - 1, requestTimeoutMs: 5000 }),
      IpmiTimeoutError,
    );
  });

  it("an IPMI 1.5-only BMC is told apart", async () => {
    const bmc = await fakeBmc({ ipmi20: false });
    await rejects(openSession(target(bmc), timing()), IpmiSessionError, /does not offer IPMI 2.0/);
  });

  it("refuses unusable targets before sending anything", async () => {
    const bmc = await fakeBmc();
    await rejects(
      openSession(target(bmc, { cipher: 8 }), timing()),
      IpmiConfigError,
      /cipher suite 8/,
    );
    await rejects(
      openSession(target(bmc, { password: "x".repeat(21) }), timing()),
      IpmiConfigError,
    );
    await rejects(
      openSession(target(bmc, { username: "u".repeat(17) }), timing()),
      IpmiConfigError,
    );
    await rejects(openSession(target(bmc, { auth: "md5" }), timing()), IpmiConfigError);
    assert.deepEqual(bmc.seen, []);
  });

  it("requests on one session go one at a time, in order", async () => {
    const bmc = await fakeBmc();
    const session = await openSession(target(bmc), timing());
    const results = await Promise.all([
      getChassisStatus(session),
      chassisControl(session, "off"),
      getChassisStatus(session),
    ]);
    assert.equal(results[0].powerOn, true);
    assert.equal(results[2].powerOn, false);
    await session.close();
  });
});

describe("openSession over IPMI 1.5 (lanplus=0)", () => {
  it("MD5 login, status, power off, close", async () => {
    const bmc = await fakeBmc();
    const session = await openSession(target(bmc, { lanplus: false }), timing());
    assert.equal(session.cipher, -1);
    assert.equal((await getChassisStatus(session)).powerOn, true);
    await chassisControl(session, "off");
    assert.equal(bmc.power, false);
    await session.close();
    assert.deepEqual(retransmissionsFolded(bmc.seen), [
      "Get Channel Authentication Capabilities",
      "Get Session Challenge",
      "Activate Session",
      "Set Session Privilege Level",
      "Get Chassis Status",
      "Chassis Control",
      "Close Session",
    ]);
  });

  it("a lost Activate Session answer: a new challenge, then the session", async () => {
    const bmc = await fakeBmc();
    bmc.hook = (name, nth) => (name === "Activate Session" && nth === 1 ? "lose" : undefined);
    const session = await openSession(target(bmc, { lanplus: false }), timing(3000, 300));
    assert.equal((await getChassisStatus(session)).powerOn, true);
    assert.equal(bmc.seen.filter((s) => s === "Get Session Challenge").length, 2);
    await session.close();
  });

  it("a wrong password gets no answer from the BMC and is reported as an auth error", async () => {
    const bmc = await fakeBmc();
    await rejects(
      openSession(target(bmc, { lanplus: false, password: "not-it" }), timing(3000, 300)),
      IpmiAuthError,
      /wrong password/,
    );
  });

  it("an unknown user is refused at Get Session Challenge", async () => {
    const bmc = await fakeBmc();
    await rejects(
      openSession(target(bmc, { lanplus: false, username: "mallory" }), timing()),
      IpmiAuthError,
      /does not know user 'mallory'/,
    );
  });

  it("an authentication type the channel does not offer is refused", async () => {
    const bmc = await fakeBmc();
    await rejects(
      openSession(target(bmc, { lanplus: false, auth: "none" }), timing()),
      IpmiSessionError,
      /authentication type none/,
    );
  });
});

describe("UdpTransport", () => {
  it("close() ends an exchange still waiting at once, without sending on the closed socket", async () => {
    const silent = dgram.createSocket("udp4");
    await new Promise<void>((ok) => silent.bind(0, "127.0.0.1", ok));
    try {
      const transport = await UdpTransport.open("127.0.0.1", silent.address().port, 1000, () => {});
      const pending = transport.exchange({
        what: "Get Chassis Status",
        timeoutMs: 5000,
        retransmitMs: 10,
        packet: () => Buffer.from([0]),
        match: () => undefined,
      });
      const t0 = Date.now();
      transport.close();
      await rejects(
        pending,
        IpmiSessionError,
        /session closed while waiting for Get Chassis Status/,
      );
      assert.ok(Date.now() - t0 < 500, "not after the exchange timeout");
      await new Promise((r) => setTimeout(r, 50)); // a retransmission timer left running would throw here
    } finally {
      silent.close();
    }
  });

  it("takes answers from the BMC's address on another port, never from another address", async () => {
    const bmc = dgram.createSocket("udp4");
    const stranger = dgram.createSocket("udp4");
    const otherPort = dgram.createSocket("udp4");
    for (const s of [bmc, stranger, otherPort])
      await new Promise<void>((ok) => s.bind(0, "127.0.0.1", ok));
    // The stranger speaks from 127.0.0.2: an address that is not the BMC's.
    const stranger2 = dgram.createSocket("udp4");
    await new Promise<void>((ok) => stranger2.bind(0, "127.0.0.2", ok));
    bmc.on("message", (_msg, from) => {
      stranger2.send(Buffer.from("forged"), from.port, from.address);
      setTimeout(() => otherPort.send(Buffer.from("real"), from.port, from.address), 20);
    });
    const lines: string[] = [];
    try {
      const transport = await UdpTransport.open("127.0.0.1", bmc.address().port, 1000, (l) =>
        lines.push(l),
      );
      const answer = await transport.exchange({
        what: "Get Device ID",
        timeoutMs: 2000,
        retransmitMs: 1000,
        packet: () => Buffer.from([1]),
        match: (d) => d.toString(),
      });
      transport.close();
      assert.equal(answer, "real");
      assert.ok(lines.some((l) => /from 127\.0\.0\.2, not the BMC/.test(l)));
      assert.ok(lines.some((l) => /answers from port \d+, not \d+/.test(l)));
    } finally {
      for (const s of [bmc, stranger, otherPort, stranger2]) s.close();
    }
  });

  it("a timeout after datagrams that answered nothing says so, not 'no answer' alone", async () => {
    const bmc = dgram.createSocket("udp4");
    await new Promise<void>((ok) => bmc.bind(0, "127.0.0.1", ok));
    bmc.on("message", (_msg, from) => bmc.send(Buffer.from("junk"), from.port, from.address));
    try {
      const transport = await UdpTransport.open("127.0.0.1", bmc.address().port, 1000, () => {});
      await rejects(
        transport.exchange({
          what: "Get Device ID",
          timeoutMs: 300,
          retransmitMs: 100,
          silenceHint: "the BMC is off",
          packet: () => Buffer.from([1]),
          match: () => undefined,
        }),
        IpmiTimeoutError,
        /within 0\.3 s \(Get Device ID\): \d+ datagrams from the BMC, none an answer to it$/,
      );
      transport.close();
    } finally {
      bmc.close();
    }
  });
});

describe("SequenceWindow", () => {
  it("takes a first number anywhere, wraps past 2^32 - 1, drops repeats and stale numbers", () => {
    for (const first of [1, 0x7a3b1c2d, 0xfffffff0]) {
      const w = new SequenceWindow();
      let seq = first;
      for (let i = 0; i < 40; i++) {
        w.check(seq);
        assert.throws(() => w.check(seq), /seen before/);
        seq = seq >= 0xffffffff ? 1 : seq + 1;
      }
      const newest = ((first + 39 - 1) % 0xffffffff) + 1;
      // Late but within the window: taken once; 16 behind: stale.
      const w2 = new SequenceWindow();
      w2.check(newest);
      const late = newest > 3 ? newest - 3 : newest - 3 + 0xffffffff;
      w2.check(late);
      assert.throws(() => w2.check(late), /seen before/);
      const stale = newest > 16 ? newest - 16 : newest - 16 + 0xffffffff;
      assert.throws(() => w2.check(stale), /stale/);
    }
  });
});

describe("openSession: the first answer", () => {
  it("a BMC silent to the first request fails after firstAnswerMs, not the whole login, and says why", async () => {
    const bmc = await fakeBmc();
    bmc.silent = true;
    const t0 = Date.now();
    await rejects(
      openSession(target(bmc), {
        loginDeadline: Date.now() + 8000,
        requestTimeoutMs: 4000,
        firstAnswerMs: 300,
      }),
      IpmiTimeoutError,
      /within 0\.3 s \(Get Channel Authentication Capabilities\): the BMC is off, unreachable, or not serving IPMI/,
    );
    assertNoWait(Date.now() - t0, 4000, "a silent BMC's request timeout");
  });
});
