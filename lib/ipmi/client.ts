/**
 * The IPMI-over-LAN client: log in (IPMI 2.0 RMCP+ by default, IPMI 1.5 when lanplus is off),
 * send requests inside the session, close it. Built on the pure codecs; the sockets and timers
 * live in transport.ts.
 */
import { randomBytes } from "node:crypto";
import {
  decodeGetChannelAuthCapabilitiesResponse,
  encodeGetChannelAuthCapabilitiesRequest,
} from "./channel-auth.js";
import type { ChannelAuthCapabilities } from "./channel-auth.js";
import {
  DEFAULT_CIPHER_SUITE_PREFERENCE,
  bmcKey,
  cipherSuite,
  deriveSessionKeys,
  integrityAuthCodeLength,
  keyExchangeAuthCodeLength,
  rakp2KeyExchangeAuthCode,
  rakp3KeyExchangeAuthCode,
  rakp4IntegrityCheckValue,
  userKey,
} from "./cipher-suites.js";
import type { CipherSuite, RakpValues } from "./cipher-suites.js";
import {
  AppCmd,
  NetFn,
  PrivilegeLevel,
  commandName,
  completionCodeMeaning,
  privilegeName,
} from "./constants.js";
import type { IpmiPrivilege } from "./constants.js";
import { constantTimeEqual, hex } from "./bytes.js";
import type { IpmiError } from "./errors.js";
import {
  IpmiAuthError,
  IpmiCompletionCodeError,
  IpmiConfigError,
  IpmiProtocolError,
  IpmiSessionError,
  IpmiTimeoutError,
  formatSeconds,
} from "./errors.js";
import { RQSEQ_MODULO, decodeIpmiResponse, encodeIpmiRequest, responseMatches } from "./message.js";
import type { IpmiResponse } from "./message.js";
import {
  ALGORITHM_REJECTED_STATUSES,
  NAME_ONLY_LOOKUP,
  PayloadType,
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  decodeRmcpPlusPacket,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encodeRmcpPlusPacket,
  openSessionPacket,
  rmcpPlusStatusMeaning,
} from "./rmcpplus.js";
import type { OpenSessionResponse, SessionSecurity } from "./rmcpplus.js";
import {
  decodeActivateSessionResponse,
  decodeGetSessionChallengeResponse,
  decodeSetSessionPrivilegeLevelResponse,
  encodeActivateSessionRequest,
  encodeCloseSessionRequest,
  encodeGetSessionChallengeRequest,
  encodeSetSessionPrivilegeLevelRequest,
  usernameBytes,
} from "./session-commands.js";
import type { ActivatedSession, SessionChallenge } from "./session-commands.js";
import {
  AuthType,
  decodeSession15Packet,
  encodeSession15Packet,
  passwordKey15,
  verifySession15AuthCode,
} from "./session15.js";
import { UdpTransport } from "./transport.js";
import type { DatagramSocketFactory, Log } from "./transport.js";
import { messageOf } from "../errors.js";

export type { IpmiPrivilege } from "./constants.js";

export interface IpmiTarget {
  /** BMC host name or address. */
  host: string;
  /** UDP port; callers default it to 623. */
  port: number;
  username: string;
  /** Never logged, never in error messages. */
  password: string;
  /** The BMC key Kg (from hexadecimal_kg), IPMI 2.0 only. Without it, Kg is the password key. */
  kg?: Buffer;
  privilege: IpmiPrivilege;
  /** false = IPMI 1.5. */
  lanplus: boolean;
  /** RMCP+ cipher suite; undefined = try 17, and 3 at once if the BMC refuses 17's algorithms. */
  cipher?: number;
  /** IPMI 1.5 authentication type; undefined = MD5. */
  auth?: "md5" | "password" | "none";
}

export interface IpmiTiming {
  /** Epoch milliseconds by which the session must be open. */
  loginDeadline: number;
  /** Total time for one request, retransmissions included. */
  requestTimeoutMs: number;
  /** First retransmission interval, default 250 ms; each next one is half as long again, up to 0.5 s. */
  retransmitMs?: number;
}

export interface IpmiSession {
  /**
   * Sends a request and returns the response data after the completion code. A non-zero
   * completion code throws IpmiCompletionCodeError at once (no retry); no answer within
   * requestTimeoutMs throws IpmiTimeoutError. Requests on one session are sent one at a time.
   */
  request(netFn: number, cmd: number, data?: Buffer): Promise<Buffer>;
  /** Sends Close Session (bounded wait), closes the socket. Never throws; idempotent. */
  close(): Promise<void>;
  /** The RMCP+ cipher suite in use; -1 for an IPMI 1.5 session. */
  readonly cipher: number;
}

/** Replacements for the client's I/O; only the snapshot warm-up (warm-up.ts) passes any. */
export interface IpmiClientIo {
  /** The UDP socket; default node:dgram. */
  createSocket?: DatagramSocketFactory;
}

const DEFAULT_RETRANSMIT_MS = 250;
/** Close Session is a courtesy to the BMC (it frees a session slot): never wait long for it. */
const CLOSE_TIMEOUT_MS = 2000;

/**
 * Opens a session with the BMC. Everything, retransmissions and a cipher suite fall-back
 * included, happens before `timing.loginDeadline`. Throws IpmiAuthError for bad credentials,
 * IpmiTimeoutError when the BMC does not answer, IpmiSessionError / IpmiCompletionCodeError when it
 * refuses, IpmiConfigError for a target that cannot work.
 */
export async function openSession(
  target: IpmiTarget,
  timing: IpmiTiming,
  log?: (line: string) => void,
  io: IpmiClientIo = {},
): Promise<IpmiSession> {
  const say: Log = log ?? (() => {});
  validate(target);
  const login = new LoginClock(timing.loginDeadline);
  const transport = await UdpTransport.open(
    target.host,
    target.port,
    login.left(),
    say,
    io.createSocket,
  );
  try {
    return target.lanplus
      ? await loginRmcpPlus(transport, target, timing, login, say)
      : await loginIpmi15(transport, target, timing, login, say);
  } catch (err) {
    transport.close();
    throw err;
  }
}

function validate(target: IpmiTarget): void {
  if (!(target.privilege in PrivilegeLevel))
    throw new IpmiConfigError(`unknown privilege level '${String(target.privilege)}'`);
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    throw new IpmiConfigError(`invalid UDP port ${String(target.port)}`);
  }
  usernameBytes(target.username);
  if (target.lanplus) {
    userKey(target.password);
    if (target.kg) bmcKey(target.kg);
    if (target.cipher !== undefined) cipherSuite(target.cipher);
    if (target.auth !== undefined)
      throw new IpmiConfigError("auth applies to IPMI 1.5 only (lanplus is on)");
  } else {
    passwordKey15(target.password);
    if (target.cipher !== undefined)
      throw new IpmiConfigError("cipher suites apply to IPMI 2.0 only (lanplus is off)");
    if (target.kg) throw new IpmiConfigError("Kg applies to IPMI 2.0 only (lanplus is off)");
  }
}

/** Time left until the login deadline, for each login step. */
class LoginClock {
  readonly started = Date.now();
  constructor(readonly deadline: number) {}
  left(): number {
    return this.deadline - Date.now();
  }
  /** Timeout for the next step: the request timeout, cut short by the login deadline. */
  step(requestTimeoutMs: number, peer: string, what: string): number {
    const left = this.left();
    if (left <= 0)
      throw new IpmiTimeoutError(
        peer,
        Date.now() - this.started,
        `login unfinished at its deadline, before ${what}`,
      );
    return Math.min(requestTimeoutMs, left);
  }
}

/**
 * Receive-side sequence number check: a response must be new (not seen before) and not far
 * behind the newest one, so a replayed or delayed duplicate is not taken for an answer.
 */
class SequenceWindow {
  private highest = 0;
  private readonly seen = new Set<number>();
  constructor(private readonly width = 16) {}

  check(seq: number): void {
    if (this.highest > 0 && seq + this.width <= this.highest) {
      throw new IpmiProtocolError(
        `session sequence number ${seq} is stale (newest ${this.highest})`,
      );
    }
    if (this.seen.has(seq))
      throw new IpmiProtocolError(`session sequence number ${seq} seen before`);
    this.seen.add(seq);
    if (seq > this.highest) this.highest = seq;
    for (const s of this.seen) if (s + this.width <= this.highest) this.seen.delete(s);
  }
}

/**
 * What the two session kinds share: rqSeq, session sequence numbers, one-at-a-time requests,
 * completion codes, close. A subclass only wraps and unwraps IPMI messages in its session format.
 */
abstract class SessionBase implements IpmiSession {
  abstract readonly cipher: number;
  private queue: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(
    protected readonly transport: UdpTransport,
    protected readonly timing: IpmiTiming,
    protected readonly log: Log,
    private rqSeq: number,
    private outboundSeq: number,
  ) {}

  /** The ID the BMC gave the session, which Close Session names. */
  protected abstract get bmcSessionId(): number;

  /** The datagram carrying `message` with session sequence number `sessionSeq`. */
  protected abstract wrap(message: Buffer, sessionSeq: number): Buffer;

  /**
   * The IPMI message in a received datagram, or undefined for one that carries none. Throws
   * IpmiProtocolError for a datagram that is not an authentic, new packet of this session.
   */
  protected abstract unwrap(datagram: Buffer): Buffer | undefined;

  /** One request/response inside the session; the response may carry any completion code. */
  private exchange(
    netFn: number,
    cmd: number,
    data: Buffer,
    timeoutMs: number,
  ): Promise<IpmiResponse> {
    const rqSeq = this.rqSeq;
    this.rqSeq = (this.rqSeq + 1) % RQSEQ_MODULO;
    const message = encodeIpmiRequest({ netFn, cmd, rqSeq, data });
    const name = commandName(netFn, cmd);
    this.log(`ipmi: -> ${name} (rqSeq ${rqSeq})`);
    return this.transport.exchange({
      what: name,
      timeoutMs,
      retransmitMs: this.timing.retransmitMs ?? DEFAULT_RETRANSMIT_MS,
      // Every attempt is a new packet: a BMC rejects a repeated session sequence number.
      packet: () => this.wrap(message, this.nextOutboundSeq()),
      match: (datagram) => {
        const payload = this.unwrap(datagram);
        if (payload === undefined) return undefined;
        const rsp = decodeIpmiResponse(payload);
        return responseMatches(rsp, { netFn, cmd, rqSeq }) ? rsp : undefined;
      },
    });
  }

  /** The next session sequence number; after 2^32 - 1 comes 1 (0 marks a packet outside a session). */
  private nextOutboundSeq(): number {
    const seq = this.outboundSeq;
    this.outboundSeq = this.outboundSeq >= 0xffffffff ? 1 : this.outboundSeq + 1;
    return seq;
  }

  request(netFn: number, cmd: number, data: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    if (this.closing) {
      return Promise.reject(
        new IpmiSessionError(
          `cannot send ${commandName(netFn, cmd)} to BMC ${this.transport.peer}: session closed`,
        ),
      );
    }
    return this.serialized(() => this.requestNow(netFn, cmd, data, this.timing.requestTimeoutMs));
  }

  /** Runs `fn` after every earlier request has finished, whatever their outcome. */
  protected serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  protected async requestNow(
    netFn: number,
    cmd: number,
    data: Buffer,
    timeoutMs: number,
  ): Promise<Buffer> {
    const name = commandName(netFn, cmd);
    const rsp = await this.exchange(netFn, cmd, data, timeoutMs);
    this.log(`ipmi: <- ${name}: completion code ${hex(rsp.completionCode)}`);
    if (rsp.completionCode !== 0) {
      throw new IpmiCompletionCodeError(
        name,
        rsp.completionCode,
        completionCodeMeaning(rsp.completionCode, netFn, cmd),
      );
    }
    return rsp.data;
  }

  /** Raises the session to `privilege` (sessions start at User level). */
  async setPrivilege(privilege: IpmiPrivilege, timeoutMs: number): Promise<void> {
    const level = PrivilegeLevel[privilege];
    const data = await this.serialized(() =>
      this.requestNow(
        NetFn.App,
        AppCmd.SetSessionPrivilegeLevel,
        encodeSetSessionPrivilegeLevelRequest(level),
        timeoutMs,
      ),
    );
    const granted = decodeSetSessionPrivilegeLevelResponse(data);
    if (granted !== level) {
      throw new IpmiAuthError(
        `BMC ${this.transport.peer} granted privilege ${privilegeName(granted)} instead of ${privilege}`,
      );
    }
  }

  close(): Promise<void> {
    return this.closeWithin(Math.min(this.timing.requestTimeoutMs, CLOSE_TIMEOUT_MS));
  }

  closeWithin(timeoutMs: number): Promise<void> {
    this.closing ??= this.serialized(async () => {
      try {
        await this.requestNow(
          NetFn.App,
          AppCmd.CloseSession,
          encodeCloseSessionRequest(this.bmcSessionId),
          timeoutMs,
        );
      } catch (err) {
        this.log(`ipmi: Close Session failed: ${messageOf(err)}`);
      } finally {
        this.transport.close();
      }
    });
    return this.closing;
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* IPMI 2.0 / RMCP+                                                                                */

class RmcpPlusSession extends SessionBase {
  private readonly inbound = new SequenceWindow();

  constructor(
    transport: UdpTransport,
    timing: IpmiTiming,
    log: Log,
    private readonly security: SessionSecurity,
    /** SIDm: ours; the BMC puts it in every packet it sends us. */
    private readonly consoleSessionId: number,
    /** SIDc: the BMC's; we put it in every packet we send. */
    private readonly managedSystemSessionId: number,
    firstRqSeq: number,
  ) {
    super(transport, timing, log, firstRqSeq, 1);
  }

  get cipher(): number {
    return this.security.suite.id;
  }

  protected get bmcSessionId(): number {
    return this.managedSystemSessionId;
  }

  protected wrap(message: Buffer, sessionSeq: number): Buffer {
    return encodeRmcpPlusPacket(
      {
        payloadType: PayloadType.IPMI,
        sessionId: this.managedSystemSessionId,
        sessionSeq,
        payload: message,
      },
      this.security,
      randomBytes(16),
    );
  }

  protected unwrap(datagram: Buffer): Buffer | undefined {
    const packet = openSessionPacket(datagram, this.security); // integrity first: forgeries change nothing
    if (packet.sessionId !== this.consoleSessionId) {
      throw new IpmiProtocolError(`packet for session ${hex(packet.sessionId, 8)}, not ours`);
    }
    this.inbound.check(packet.sessionSeq);
    return packet.payloadType === PayloadType.IPMI ? packet.payload : undefined;
  }
}

/** RAKP 2/4 status codes that mean the credentials or the privilege were refused. */
const AUTH_STATUSES: ReadonlySet<number> = new Set([0x09, 0x0a, 0x0c, 0x0d, 0x0e, 0x0f]);

/** Login attempts per cipher suite when a RAKP answer is lost (see loginRmcpPlus). */
const MAX_LOGIN_ATTEMPTS = 3;

interface LoginContext {
  transport: UdpTransport;
  target: IpmiTarget;
  timing: IpmiTiming;
  login: LoginClock;
  log: Log;
  retransmitMs: number;
  /** Message tags, distinct per message so late answers to an earlier attempt are told apart. */
  nextTag: () => number;
}

/**
 * Result of one RMCP+ login attempt with one cipher suite: a session, a reason to try the next
 * suite, or a lost RAKP answer that makes starting over worthwhile.
 */
type Attempt =
  | { kind: "session"; session: RmcpPlusSession }
  | { kind: "next-suite" }
  | { kind: "start-over"; error: IpmiTimeoutError };

async function loginRmcpPlus(
  transport: UdpTransport,
  target: IpmiTarget,
  timing: IpmiTiming,
  login: LoginClock,
  log: Log,
): Promise<IpmiSession> {
  const peer = transport.peer;
  const privilege = PrivilegeLevel[target.privilege];
  let tag = 0;
  const ctx: LoginContext = {
    transport,
    target,
    timing,
    login,
    log,
    retransmitMs: timing.retransmitMs ?? DEFAULT_RETRANSMIT_MS,
    nextTag: () => tag++ & 0xff,
  };

  // 1. Get Channel Authentication Capabilities, asking for the IPMI 2.0 extended data.
  const caps = await getChannelAuthCapabilities(transport, timing, login, log, privilege, true, 0);
  if (!caps.ipmi20Supported) {
    throw new IpmiSessionError(
      `BMC ${peer} does not offer IPMI 2.0 (RMCP+) on this channel; try lanplus=0`,
    );
  }
  if (caps.kgConfigured && !target.kg)
    log("ipmi: the BMC reports a non-zero Kg, but none is configured");

  const candidates =
    target.cipher !== undefined ? [target.cipher] : [...DEFAULT_CIPHER_SUITE_PREFERENCE];
  for (let i = 0; i < candidates.length; i++) {
    const suite = cipherSuite(candidates[i]!);
    const fallback = candidates[i + 1];
    for (let attempt = 1; ; attempt++) {
      const result = await attemptRmcpPlusLogin(ctx, suite, attempt === 1 ? fallback : undefined);
      if (result.kind === "session") {
        await afterActivation(result.session, peer, target, timing, login);
        return result.session;
      }
      if (result.kind === "next-suite") {
        log(`ipmi: trying cipher suite ${fallback}`);
        break;
      }
      // A lost RAKP 2 or RAKP 4 cannot always be recovered by retransmission: a BMC that has
      // moved on may not answer the repeated message. Starting over with a new session can.
      if (attempt >= MAX_LOGIN_ATTEMPTS || login.left() <= 0) throw result.error;
      log(`ipmi: ${result.error.message}; starting the login over`);
    }
  }
  // Only reached when every suite but the last timed out and the last had no time left.
  throw new IpmiTimeoutError(peer, Date.now() - login.started, "Open Session");
}

/**
 * Open Session, RAKP 1-4 with one cipher suite (sections 13.17-13.23). With `fallback` set, a
 * refusal of the algorithms, or silence, leads to 'next-suite' instead of an error; silence then
 * gets only half of the time left, so the fall-back still has time.
 */
async function attemptRmcpPlusLogin(
  ctx: LoginContext,
  suite: CipherSuite,
  fallback: number | undefined,
): Promise<Attempt> {
  const { transport, target, timing, login, log } = ctx;
  const peer = transport.peer;
  const privilege = PrivilegeLevel[target.privilege];
  const kuid = userKey(target.password);
  const kg = target.kg ? bmcKey(target.kg) : undefined;
  const username = usernameBytes(target.username);
  const consoleSessionId = randomSessionId();

  // RMCP+ Open Session Request / Response.
  const openTag = ctx.nextTag();
  let openTimeout = login.step(timing.requestTimeoutMs, peer, "Open Session");
  if (fallback !== undefined) openTimeout = Math.min(openTimeout, Math.floor(login.left() / 2));
  const what = `Open Session Request (cipher suite ${suite.id})`;
  log(`ipmi: -> ${what}`);
  const request = encodeOpenSessionRequest({
    messageTag: openTag,
    requestedMaximumPrivilege: 0,
    consoleSessionId,
    authentication: suite.authentication,
    integrity: suite.integrity,
    confidentiality: suite.confidentiality,
  });
  let open: OpenSessionResponse;
  try {
    open = await setupExchange(
      ctx,
      what,
      openTimeout,
      PayloadType.OpenSessionRequest,
      request,
      (datagram) => {
        const packet = decodeRmcpPlusPacket(datagram);
        if (packet.payloadType !== PayloadType.OpenSessionResponse) return undefined;
        const rsp = decodeOpenSessionResponse(packet.payload);
        if (rsp.messageTag !== openTag) return undefined;
        if (rsp.consoleSessionId !== undefined && rsp.consoleSessionId !== consoleSessionId)
          return undefined;
        return rsp;
      },
    );
  } catch (err) {
    if (err instanceof IpmiTimeoutError && fallback !== undefined && login.left() > 0) {
      log(`ipmi: no answer to cipher suite ${suite.id}`);
      return { kind: "next-suite" };
    }
    throw err;
  }
  if (open.statusCode !== 0) {
    const why = `${rmcpPlusStatusMeaning(open.statusCode)} (RMCP+ status ${hex(open.statusCode)})`;
    log(`ipmi: <- Open Session Response: ${why}`);
    if (ALGORITHM_REJECTED_STATUSES.has(open.statusCode)) {
      if (fallback !== undefined) return { kind: "next-suite" };
      throw new IpmiSessionError(
        `BMC ${peer} does not support cipher suite ${suite.id}: ${why}`,
        open.statusCode,
      );
    }
    throw new IpmiSessionError(`BMC ${peer} refused to open a session: ${why}`, open.statusCode);
  }
  if (
    open.authentication !== suite.authentication ||
    open.integrity !== suite.integrity ||
    open.confidentiality !== suite.confidentiality
  ) {
    throw new IpmiSessionError(
      `BMC ${peer} answered cipher suite ${suite.id} with other algorithms`,
    );
  }
  const managedSystemSessionId = open.managedSystemSessionId!;
  log(`ipmi: <- Open Session Response: BMC session ${hex(managedSystemSessionId, 8)}`);

  // RAKP 1 / RAKP 2: the BMC proves it knows the password (and we learn whether it knows the user).
  const rakpTag = ctx.nextTag();
  const consoleRandom = randomBytes(16);
  const requestedRole = privilege | NAME_ONLY_LOOKUP; // name-only lookup, as ipmitool does
  log(`ipmi: -> RAKP 1 (user ${target.username}, privilege ${target.privilege})`);
  const rakp1 = encodeRakp1({
    messageTag: rakpTag,
    managedSystemSessionId,
    consoleRandom,
    requestedRole,
    username,
  });
  const rakp2 = await rakpExchange(ctx, "RAKP 1", PayloadType.RAKP1, rakp1, (datagram) => {
    const packet = decodeRmcpPlusPacket(datagram);
    if (packet.payloadType !== PayloadType.RAKP2) return undefined;
    const m = decodeRakp2(packet.payload);
    if (m.messageTag !== rakpTag) return undefined;
    if (m.consoleSessionId !== undefined && m.consoleSessionId !== consoleSessionId)
      return undefined;
    return m;
  });
  if (rakp2 instanceof IpmiTimeoutError) return { kind: "start-over", error: rakp2 };
  if (rakp2.statusCode !== 0) throw rakpRefusal(peer, target, "RAKP 2", rakp2.statusCode);
  const v: RakpValues = {
    consoleSessionId,
    managedSystemSessionId,
    consoleRandom,
    managedSystemRandom: rakp2.managedSystemRandom!,
    managedSystemGuid: rakp2.managedSystemGuid!,
    requestedRole,
    username,
  };
  const received = rakp2.keyExchangeAuthCode!;
  if (received.length !== keyExchangeAuthCodeLength(suite)) {
    throw new IpmiProtocolError(
      `RAKP 2: key exchange authentication code of ${received.length} bytes for cipher suite ${suite.id}`,
    );
  }
  if (!constantTimeEqual(received, rakp2KeyExchangeAuthCode(suite, kuid, v))) {
    // The BMC keyed its HMAC with the user's real password; no RAKP 3 is sent.
    throw new IpmiAuthError(
      `BMC ${peer} refused the login of user '${target.username}': wrong password (RAKP 2 key exchange code does not match)`,
    );
  }
  log("ipmi: <- RAKP 2: key exchange code verified");

  // RAKP 3 / RAKP 4: we prove we know the password; the BMC proves it derived the same SIK.
  const keys = deriveSessionKeys(suite, kuid, kg, v);
  const security: SessionSecurity = { suite, k1: keys.k1, k2: keys.k2 };
  log("ipmi: -> RAKP 3");
  const rakp3 = encodeRakp3({
    messageTag: rakpTag,
    statusCode: 0,
    managedSystemSessionId,
    keyExchangeAuthCode: rakp3KeyExchangeAuthCode(suite, kuid, v),
  });
  const rakp4 = await rakpExchange(ctx, "RAKP 3", PayloadType.RAKP3, rakp3, (datagram) => {
    // A BMC that already activated the session (its first RAKP 4 was lost) may answer a
    // repeated RAKP 3 inside the session: ipmi_sim does. Such a packet must verify with the
    // new session keys.
    const parsed = decodeRmcpPlusPacket(datagram, integrityAuthCodeLength(suite));
    const protectedPacket = parsed.authenticated || parsed.encrypted;
    const packet = protectedPacket ? openSessionPacket(datagram, security) : parsed;
    if (packet.payloadType !== PayloadType.RAKP4) return undefined;
    if (protectedPacket && packet.sessionId !== consoleSessionId) return undefined;
    const m = decodeRakp4(packet.payload);
    if (m.messageTag !== rakpTag) return undefined;
    if (m.consoleSessionId !== undefined && m.consoleSessionId !== consoleSessionId)
      return undefined;
    return m;
  });
  if (rakp4 instanceof IpmiTimeoutError) return { kind: "start-over", error: rakp4 };
  if (rakp4.statusCode !== 0) throw rakpRefusal(peer, target, "RAKP 4", rakp4.statusCode);
  if (
    !constantTimeEqual(rakp4.integrityCheckValue!, rakp4IntegrityCheckValue(suite, keys.sik, v))
  ) {
    throw new IpmiAuthError(
      `BMC ${peer}: RAKP 4 integrity check value does not match: ` +
        (kg
          ? "the configured Kg (hexadecimal_kg) is not the BMC key"
          : "the BMC uses a Kg (set hexadecimal_kg)"),
    );
  }
  log(`ipmi: <- RAKP 4: verified; session open with cipher suite ${suite.id}`);
  return {
    kind: "session",
    session: new RmcpPlusSession(
      transport,
      timing,
      log,
      security,
      consoleSessionId,
      managedSystemSessionId,
      1,
    ),
  };
}

/** An RMCP+ session-setup message (Open Session, RAKP 1, RAKP 3): outside any session, so session ID and sequence number 0. */
function setupExchange<T>(
  ctx: LoginContext,
  what: string,
  timeoutMs: number,
  payloadType: number,
  payload: Buffer,
  match: (datagram: Buffer) => T | undefined,
): Promise<T> {
  const packet = encodeRmcpPlusPacket({ payloadType, sessionId: 0, sessionSeq: 0, payload });
  return ctx.transport.exchange({
    what,
    timeoutMs,
    retransmitMs: ctx.retransmitMs,
    packet: () => packet,
    match,
  });
}

/** RAKP 1 or RAKP 3; a timeout (the login deadline's included) is returned, for the login to start over. */
async function rakpExchange<T>(
  ctx: LoginContext,
  what: string,
  payloadType: number,
  payload: Buffer,
  match: (datagram: Buffer) => T | undefined,
): Promise<T | IpmiTimeoutError> {
  try {
    const timeoutMs = ctx.login.step(ctx.timing.requestTimeoutMs, ctx.transport.peer, what);
    return await setupExchange(ctx, what, timeoutMs, payloadType, payload, match);
  } catch (err) {
    if (err instanceof IpmiTimeoutError) return err;
    throw err;
  }
}

function rakpRefusal(peer: string, target: IpmiTarget, message: string, status: number): IpmiError {
  const why = `${rmcpPlusStatusMeaning(status)} (${message} status ${hex(status)})`;
  if (status === 0x0d)
    return new IpmiAuthError(`BMC ${peer} does not know user '${target.username}': ${why}`);
  if (status === 0x09 || status === 0x0a) {
    return new IpmiAuthError(
      `BMC ${peer} refused privilege ${target.privilege} for user '${target.username}': ${why}`,
    );
  }
  if (AUTH_STATUSES.has(status))
    return new IpmiAuthError(`BMC ${peer} refused the login of user '${target.username}': ${why}`);
  return new IpmiSessionError(`BMC ${peer} refused to open a session: ${why}`, status);
}

/**
 * Set Session Privilege Level, as ipmitool does: sessions start at User level, so only operator
 * and administrator need it. A failure closes the session on the BMC before it is reported.
 */
async function afterActivation(
  session: SessionBase,
  peer: string,
  target: IpmiTarget,
  timing: IpmiTiming,
  login: LoginClock,
): Promise<void> {
  if (PrivilegeLevel[target.privilege] <= PrivilegeLevel.user) return;
  try {
    await session.setPrivilege(
      target.privilege,
      login.step(timing.requestTimeoutMs, peer, "Set Session Privilege Level"),
    );
  } catch (err) {
    // Free the BMC's session slot, but do not let that run far past the login deadline.
    await session.closeWithin(Math.min(CLOSE_TIMEOUT_MS, Math.max(200, login.left())));
    throw err;
  }
}

function randomSessionId(): number {
  for (;;) {
    const id = randomBytes(4).readUInt32LE(0);
    if (id !== 0) return id;
  }
}

/** Get Channel Authentication Capabilities, outside any session (IPMI 1.5 format, no AuthCode). */
async function getChannelAuthCapabilities(
  transport: UdpTransport,
  timing: IpmiTiming,
  login: LoginClock,
  log: Log,
  privilege: number,
  ipmi20: boolean,
  rqSeq: number,
): Promise<ChannelAuthCapabilities> {
  const data = await sessionlessRequest(transport, timing, login, log, {
    cmd: AppCmd.GetChannelAuthenticationCapabilities,
    data: encodeGetChannelAuthCapabilitiesRequest(privilege, ipmi20),
    rqSeq,
    note: ipmi20 ? " (IPMI 2.0 extended data)" : "",
    refusal: (cc) =>
      // An IPMI 1.5 BMC does not know the "IPMI 2.0 extended data" bit.
      ipmi20 && cc === 0xcc
        ? new IpmiSessionError(
            `BMC ${transport.peer} does not offer IPMI 2.0 (RMCP+); try lanplus=0`,
          )
        : undefined,
  });
  const caps = decodeGetChannelAuthCapabilitiesResponse(data);
  const types = Object.entries(caps.authTypes)
    .filter(([, on]) => on)
    .map(([t]) => t);
  log(
    `ipmi: <- channel ${caps.channel}: IPMI 2.0 ${caps.ipmi20Supported ? "supported" : "not supported"}, ` +
      `IPMI 1.5 authentication types: ${types.join(", ") || "none listed"}`,
  );
  return caps;
}

/* ---------------------------------------------------------------------------------------------- */
/* IPMI 1.5                                                                                        */

class Ipmi15Session extends SessionBase {
  readonly cipher = -1;
  private readonly inbound = new SequenceWindow();

  constructor(
    transport: UdpTransport,
    timing: IpmiTiming,
    log: Log,
    private readonly authType: number,
    private readonly passwordKey: Buffer,
    private readonly perMessageAuthenticationDisabled: boolean,
    private readonly activated: ActivatedSession,
    firstRqSeq: number,
  ) {
    super(transport, timing, log, firstRqSeq, activated.initialInboundSeq);
  }

  protected get bmcSessionId(): number {
    return this.activated.sessionId;
  }

  protected wrap(message: Buffer, sessionSeq: number): Buffer {
    return encodeSession15Packet(
      { authType: this.authType, sessionSeq, sessionId: this.activated.sessionId, message },
      this.passwordKey,
    );
  }

  protected unwrap(datagram: Buffer): Buffer {
    const packet = decodeSession15Packet(datagram);
    if (packet.sessionId !== this.activated.sessionId)
      throw new IpmiProtocolError(`packet for session ${hex(packet.sessionId, 8)}, not ours`);
    // With per-message authentication disabled the BMC may answer without an AuthCode.
    if (
      packet.authType === AuthType.none &&
      this.authType !== AuthType.none &&
      !this.perMessageAuthenticationDisabled
    ) {
      throw new IpmiProtocolError("unauthenticated packet in an authenticated IPMI 1.5 session");
    }
    if (packet.authType !== AuthType.none && packet.authType !== this.authType) {
      throw new IpmiProtocolError(
        `authentication type ${hex(packet.authType)} in a ${hex(this.authType)} session`,
      );
    }
    verifySession15AuthCode(packet, this.passwordKey);
    if (packet.sessionSeq !== 0) this.inbound.check(packet.sessionSeq);
    return packet.message;
  }
}

/** Challenge + Activate Session rounds before silence is taken for a wrong password. */
const MAX_ACTIVATE_ATTEMPTS = 2;

const AUTH_TYPE_OF: Readonly<Record<NonNullable<IpmiTarget["auth"]>, number>> = {
  md5: AuthType.md5,
  password: AuthType.straightPassword,
  none: AuthType.none,
};

async function loginIpmi15(
  transport: UdpTransport,
  target: IpmiTarget,
  timing: IpmiTiming,
  login: LoginClock,
  log: Log,
): Promise<IpmiSession> {
  const peer = transport.peer;
  const retransmitMs = timing.retransmitMs ?? DEFAULT_RETRANSMIT_MS;
  const privilege = PrivilegeLevel[target.privilege];
  const passwordKey = passwordKey15(target.password);
  let rqSeq = 0;

  const caps = await getChannelAuthCapabilities(
    transport,
    timing,
    login,
    log,
    privilege,
    false,
    rqSeq++,
  );
  const auth = target.auth ?? "md5";
  const authType = AUTH_TYPE_OF[auth];
  const offered =
    authType === AuthType.md5
      ? caps.authTypes.md5
      : authType === AuthType.straightPassword
        ? caps.authTypes.straightPassword
        : caps.authTypes.none;
  if (!offered) {
    throw new IpmiSessionError(
      `BMC ${peer} does not offer IPMI 1.5 authentication type ${auth} at privilege ${target.privilege}`,
    );
  }

  // Get Session Challenge, then Activate Session: the first packet carrying an AuthCode. A BMC
  // drops one with a wrong password silently, so silence most likely means that; but it may also
  // be a lost answer after which the BMC has used up the challenge, so one more challenge is asked
  // for before giving up.
  let rsp: IpmiResponse | undefined;
  let waitedMs = 0;
  for (let attempt = 1; rsp === undefined; attempt++) {
    const challengeData = await sessionlessRequest(transport, timing, login, log, {
      cmd: AppCmd.GetSessionChallenge,
      data: encodeGetSessionChallengeRequest(authType, target.username),
      rqSeq: rqSeq++,
      refusal: (cc) => {
        if (cc === 0x81)
          return new IpmiAuthError(
            `BMC ${peer} does not know user '${target.username}' (Get Session Challenge: invalid user name, 0x81)`,
          );
        if (cc === 0x82)
          return new IpmiAuthError(
            `BMC ${peer} does not allow the null user name (Get Session Challenge, 0x82)`,
          );
        return undefined;
      },
    });
    const challenge: SessionChallenge = decodeGetSessionChallengeResponse(challengeData);
    const activateSeq = rqSeq++;
    const message = encodeIpmiRequest({
      netFn: NetFn.App,
      cmd: AppCmd.ActivateSession,
      rqSeq: activateSeq,
      data: encodeActivateSessionRequest({
        authType,
        maximumPrivilege: privilege,
        challenge: challenge.challenge,
        initialOutboundSeq: randomSessionId(),
      }),
    });
    log(`ipmi: -> Activate Session (user ${target.username}, ${auth} authentication)`);
    const timeoutMs = login.step(timing.requestTimeoutMs, peer, "Activate Session");
    waitedMs += timeoutMs;
    try {
      rsp = await transport.exchange({
        what: "Activate Session",
        timeoutMs,
        retransmitMs,
        packet: () =>
          encodeSession15Packet(
            { authType, sessionSeq: 0, sessionId: challenge.temporarySessionId, message },
            passwordKey,
          ),
        match: (datagram) => {
          const packet = decodeSession15Packet(datagram);
          if (packet.sessionId !== challenge.temporarySessionId) return undefined;
          if (packet.authType !== AuthType.none) verifySession15AuthCode(packet, passwordKey);
          const r = decodeIpmiResponse(packet.message);
          return responseMatches(r, {
            netFn: NetFn.App,
            cmd: AppCmd.ActivateSession,
            rqSeq: activateSeq,
          })
            ? r
            : undefined;
        },
      });
    } catch (err) {
      if (!(err instanceof IpmiTimeoutError) || authType === AuthType.none) throw err;
      if (attempt < MAX_ACTIVATE_ATTEMPTS && login.left() > 0) {
        log(`ipmi: no answer to Activate Session; asking for a new challenge`);
        continue;
      }
      throw new IpmiAuthError(
        `BMC ${peer} did not answer Activate Session within ${formatSeconds(waitedMs)} (${attempt} ${attempt > 1 ? "challenges" : "challenge"}): ` +
          `most likely a wrong password for user '${target.username}' (IPMI 1.5 BMCs ignore a login with a bad AuthCode)`,
      );
    }
  }
  if (rsp.completionCode !== 0) {
    const meaning = completionCodeMeaning(rsp.completionCode, NetFn.App, AppCmd.ActivateSession);
    if (rsp.completionCode === 0x86) {
      throw new IpmiAuthError(
        `BMC ${peer} refused privilege ${target.privilege} for user '${target.username}': ${meaning} (0x86)`,
      );
    }
    throw new IpmiCompletionCodeError("Activate Session", rsp.completionCode, meaning);
  }
  const activated = decodeActivateSessionResponse(rsp.data);
  log(`ipmi: <- Activate Session: session ${hex(activated.sessionId, 8)} open`);
  const session = new Ipmi15Session(
    transport,
    timing,
    log,
    authType,
    passwordKey,
    caps.perMessageAuthenticationDisabled,
    activated,
    rqSeq,
  );
  await afterActivation(session, peer, target, timing, login);
  return session;
}

interface SessionlessRequest {
  cmd: number;
  data: Buffer;
  rqSeq: number;
  /** Added to the log line of the request. */
  note?: string;
  /** Turns a completion code into a typed error; otherwise IpmiCompletionCodeError. */
  refusal?: (cc: number) => IpmiError | undefined;
}

/** An IPMI 1.5 request (netFn App) outside any session, as login steps send them. */
async function sessionlessRequest(
  transport: UdpTransport,
  timing: IpmiTiming,
  login: LoginClock,
  log: Log,
  req: SessionlessRequest,
): Promise<Buffer> {
  const { cmd, rqSeq } = req;
  const netFn = NetFn.App;
  const name = commandName(netFn, cmd);
  const message = encodeIpmiRequest({ netFn, cmd, rqSeq, data: req.data });
  log(`ipmi: -> ${name}${req.note ?? ""}`);
  const rsp = await transport.exchange({
    what: name,
    timeoutMs: login.step(timing.requestTimeoutMs, transport.peer, name),
    retransmitMs: timing.retransmitMs ?? DEFAULT_RETRANSMIT_MS,
    packet: () =>
      encodeSession15Packet({ authType: AuthType.none, sessionSeq: 0, sessionId: 0, message }),
    match: (datagram) => {
      const packet = decodeSession15Packet(datagram);
      if (packet.sessionId !== 0) return undefined;
      const r = decodeIpmiResponse(packet.message);
      return responseMatches(r, { netFn, cmd, rqSeq }) ? r : undefined;
    },
  });
  if (rsp.completionCode !== 0) {
    const cc = rsp.completionCode;
    throw (
      req.refusal?.(cc) ??
      new IpmiCompletionCodeError(name, cc, completionCodeMeaning(cc, netFn, cmd))
    );
  }
  return rsp.data;
}
