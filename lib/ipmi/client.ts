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
  SUPPORTED_CIPHER_SUITES,
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
  isAccepted,
  openSessionPacket,
  rmcpPlusStatusMeaning,
} from "./rmcpplus.js";
import type { OpenSessionAccepted, OpenSessionResponse, SessionSecurity } from "./rmcpplus.js";
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

/**
 * How long to wait, by one rule: a BMC that has not answered the first request within
 * `firstAnswerMs` is taken for dead; one that has answered gets `requestTimeoutMs` per request,
 * the whole login within `loginDeadline`.
 */
export interface IpmiTiming {
  /** Epoch milliseconds by which the session must be open. */
  loginDeadline: number;
  /** Total time for one request to a BMC that has answered before, retransmissions included. */
  requestTimeoutMs: number;
  /** First retransmission interval, default 250 ms; each next one is half as long again, up to 0.5 s. */
  retransmitMs?: number;
  /**
   * The first request's time (default {@link FIRST_ANSWER_MS}, never more than `requestTimeoutMs`
   * or the login's), retransmitted every 150 ms (or `retransmitMs`).
   */
  firstAnswerMs?: number;
}

/**
 * How long a BMC gets to answer its first request, Get Channel Authentication Capabilities, before
 * it is taken for dead. That request needs no session and no cryptography: BMCs answer it from
 * their network stack in milliseconds (ipmi_sim and pyghmi's BMC in under 1 ms). The other
 * clients wait about as long before retransmitting: ipmitool 1 s (lanplus), pyghmi 0.5-1 s,
 * FreeIPMI's ipmipower 0.4 s. Sending every 150 ms within it, a request still gets through a link
 * losing 20% each way 99.9% of the time (seven tries).
 */
export const FIRST_ANSWER_MS = 1000;
const FIRST_ANSWER_RETRANSMIT_MS = 150;

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
 * behind the newest one, so a replayed or delayed duplicate is not taken for an answer. The BMC
 * may start anywhere (the spec does not fix its first number; pyghmi's BMC starts at 1, others
 * count on from wherever), and its numbers wrap past 2^32 - 1, so distances are modular.
 */
export class SequenceWindow {
  private newest: number | undefined;
  private readonly seen = new Set<number>();
  constructor(private readonly width = 16) {}

  check(seq: number): void {
    if (this.seen.has(seq))
      throw new IpmiProtocolError(`session sequence number ${seq} seen before`);
    if (this.newest !== undefined) {
      const behind = (this.newest - seq) >>> 0;
      // Less than half the number space behind: older than the newest.
      if (behind < 0x80000000 && behind >= this.width) {
        throw new IpmiProtocolError(
          `session sequence number ${seq} is stale (newest ${this.newest})`,
        );
      }
    }
    this.seen.add(seq);
    if (this.newest === undefined || (seq - this.newest) >>> 0 < 0x80000000) this.newest = seq;
    const newest = this.newest;
    for (const s of this.seen) if ((newest - s) >>> 0 >= this.width) this.seen.delete(s);
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

/**
 * RAKP 2 status codes refusing the privilege asked for. BMCs can limit a cipher suite to a
 * privilege (ipmitool's `lan set … cipher_privs`), so with no suite configured the next suite is
 * tried before the refusal is reported.
 */
const PRIVILEGE_REFUSED_STATUSES: ReadonlySet<number> = new Set([0x09, 0x0a, 0x0b]);

/** RAKP 4 status 0x0F: the BMC could not verify our RAKP 3. */
const INVALID_INTEGRITY_CHECK_VALUE = 0x0f;

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
 * suite (a refusal worth reporting if there is none), or a lost RAKP answer that makes starting
 * over worthwhile.
 */
type Attempt =
  | { kind: "session"; session: RmcpPlusSession }
  | { kind: "next-suite"; refusal?: IpmiError }
  | { kind: "start-over"; suite: CipherSuite; step: "RAKP 1" | "RAKP 3"; error: IpmiError };

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

  // 2. Open Session and RAKP 1-4, suite by suite. No Get Channel Cipher Suites: many BMCs ignore
  // it (ipmi_sim, pyghmi) or answer it wrongly, and Open Session itself says what the BMC accepts.
  const candidates =
    target.cipher !== undefined ? [target.cipher] : [...DEFAULT_CIPHER_SUITE_PREFERENCE];
  let refusal: IpmiError | undefined;
  let suiteIndex = 0;
  while (suiteIndex < candidates.length) {
    let suite = cipherSuite(candidates[suiteIndex]!);
    const later = candidates.slice(suiteIndex + 1);
    const lost: string[] = [];
    let result: Attempt;
    for (let attempt = 1; ; attempt++) {
      result = await attemptRmcpPlusLogin(ctx, suite, attempt === 1 ? later : []);
      if (result.kind !== "start-over") break;
      suite = result.suite; // the one the BMC chose, when it chose another
      // A lost RAKP 2 or RAKP 4 cannot always be recovered by retransmission: a BMC that has
      // moved on may not answer the repeated message. Starting over with a new session can.
      lost.push(result.step);
      if (attempt >= MAX_LOGIN_ATTEMPTS || login.left() <= 0) {
        if (!(result.error instanceof IpmiTimeoutError)) throw result.error;
        throw rakpSilence(peer, target, lost, Date.now() - login.started);
      }
      log(`ipmi: ${result.error.message}; starting the login over`);
    }
    if (result.kind === "session") {
      await afterActivation(result.session, peer, target, timing, login);
      return result.session;
    }
    refusal = result.refusal ?? refusal;
    suiteIndex++;
    if (suiteIndex < candidates.length) log(`ipmi: trying cipher suite ${candidates[suiteIndex]}`);
  }
  // Every suite was refused or went unanswered, the last one with no time left.
  throw refusal ?? new IpmiTimeoutError(peer, Date.now() - login.started, "Open Session");
}

/**
 * Open Session, RAKP 1-4 with one cipher suite (sections 13.17-13.23). With `later` suites to fall
 * back to, a refusal of the algorithms or of the privilege, or silence, leads to 'next-suite'
 * instead of an error; silence then gets only half of the time left, so the fall-back still has
 * time. A BMC that answers with the algorithms of one of the `later` suites (pyghmi's always
 * answers with suite 3's) gets its login continued with that suite.
 */
async function attemptRmcpPlusLogin(
  ctx: LoginContext,
  proposed: CipherSuite,
  later: readonly number[],
): Promise<Attempt> {
  const { transport, target, timing, login, log } = ctx;
  const peer = transport.peer;
  const privilege = PrivilegeLevel[target.privilege];
  const kuid = userKey(target.password);
  const kg = target.kg ? bmcKey(target.kg) : undefined;
  const username = usernameBytes(target.username);
  const consoleSessionId = randomSessionId();
  const canFallBack = later.length > 0;

  // RMCP+ Open Session Request / Response.
  const openTag = ctx.nextTag();
  let openTimeout = login.step(timing.requestTimeoutMs, peer, "Open Session");
  if (canFallBack) openTimeout = Math.min(openTimeout, Math.floor(login.left() / 2));
  const what = `Open Session Request (cipher suite ${proposed.id})`;
  log(`ipmi: -> ${what}`);
  const request = encodeOpenSessionRequest({
    messageTag: openTag,
    requestedMaximumPrivilege: 0,
    consoleSessionId,
    authentication: proposed.authentication,
    integrity: proposed.integrity,
    confidentiality: proposed.confidentiality,
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
    if (err instanceof IpmiTimeoutError && canFallBack && login.left() > 0) {
      log(`ipmi: no answer to cipher suite ${proposed.id}`);
      return { kind: "next-suite" };
    }
    throw err;
  }
  if (!isAccepted(open)) {
    const why = `${rmcpPlusStatusMeaning(open.statusCode)} (RMCP+ status ${hex(open.statusCode)})`;
    log(`ipmi: <- Open Session Response: ${why}`);
    if (ALGORITHM_REJECTED_STATUSES.has(open.statusCode)) {
      if (canFallBack) return { kind: "next-suite" };
      throw new IpmiSessionError(
        `BMC ${peer} does not support cipher suite ${proposed.id}: ${why}`,
        open.statusCode,
      );
    }
    throw new IpmiSessionError(`BMC ${peer} refused to open a session: ${why}`, open.statusCode);
  }
  const answered = suiteOfAlgorithms(open);
  let suite = proposed;
  if (answered !== suite.id) {
    const algorithms = describeAlgorithms(open, answered);
    if (answered !== undefined && later.includes(answered)) {
      // The BMC chose a suite we would fall back to anyway: go on with it (no second session).
      log(`ipmi: <- Open Session Response: ${algorithms} instead of suite ${proposed.id}`);
      suite = cipherSuite(answered);
    } else if (canFallBack) {
      log(`ipmi: <- Open Session Response: ${algorithms}; not usable`);
      return { kind: "next-suite" };
    } else {
      throw new IpmiSessionError(
        `BMC ${peer} answered cipher suite ${proposed.id} with other algorithms (${algorithms}): ` +
          `it does not support suite ${proposed.id}` +
          (answered !== undefined && answered !== proposed.id
            ? `; cipher=${answered}, or no cipher at all, may work`
            : ""),
      );
    }
  }
  const managedSystemSessionId = open.managedSystemSessionId;
  log(
    `ipmi: <- Open Session Response: BMC session ${hex(managedSystemSessionId, 8)}, cipher suite ${suite.id}`,
  );

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
  let rakp1Resent = false;
  const rakp1Sent = Date.now();
  const rakp2 = await rakpExchange(
    ctx,
    "RAKP 1",
    PayloadType.RAKP1,
    rakp1,
    (datagram) => {
      const packet = decodeRmcpPlusPacket(datagram);
      if (packet.payloadType !== PayloadType.RAKP2) return undefined;
      const m = decodeRakp2(packet.payload);
      if (m.messageTag !== rakpTag) return undefined;
      if (m.consoleSessionId !== undefined && m.consoleSessionId !== consoleSessionId)
        return undefined;
      return m;
    },
    () => (rakp1Resent = true),
  );
  const rakp2Received = Date.now();
  if (rakp2 instanceof IpmiTimeoutError)
    return { kind: "start-over", suite, step: "RAKP 1", error: rakp2 };
  if (!isAccepted(rakp2)) {
    const refused = rakpRefusal(peer, target, suite, "RAKP 2", rakp2.statusCode);
    if (canFallBack && PRIVILEGE_REFUSED_STATUSES.has(rakp2.statusCode)) {
      log(`ipmi: ${refused.message}`);
      return { kind: "next-suite", refusal: refused };
    }
    throw refused;
  }
  const v: RakpValues = {
    consoleSessionId,
    managedSystemSessionId,
    consoleRandom,
    managedSystemRandom: rakp2.managedSystemRandom,
    managedSystemGuid: rakp2.managedSystemGuid,
    requestedRole,
    username,
  };
  const received = rakp2.keyExchangeAuthCode;
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
  if (rakp4 instanceof IpmiTimeoutError)
    return { kind: "start-over", suite, step: "RAKP 3", error: rakp4 };
  if (!isAccepted(rakp4)) {
    const refused = rakpRefusal(peer, target, suite, "RAKP 4", rakp4.statusCode);
    // A BMC that draws a new random number for each RAKP 1 it gets (pyghmi's does) checked our
    // RAKP 3 against another RAKP 2 than the one we answered: log in again, and next time give
    // it the time RAKP 2 took before resending RAKP 1.
    if (rakp4.statusCode === INVALID_INTEGRITY_CHECK_VALUE && rakp1Resent) {
      ctx.retransmitMs = Math.max(ctx.retransmitMs, Math.round(1.5 * (rakp2Received - rakp1Sent)));
      return { kind: "start-over", suite, step: "RAKP 3", error: refused };
    }
    throw refused;
  }
  if (!constantTimeEqual(rakp4.integrityCheckValue, rakp4IntegrityCheckValue(suite, keys.sik, v))) {
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

/** The supported suite with exactly these algorithms, if any. */
function suiteOfAlgorithms(a: OpenSessionAccepted): number | undefined {
  return SUPPORTED_CIPHER_SUITES.find((id) => {
    const s = cipherSuite(id);
    return (
      s.authentication === a.authentication &&
      s.integrity === a.integrity &&
      s.confidentiality === a.confidentiality
    );
  });
}

function describeAlgorithms(a: OpenSessionAccepted, suite: number | undefined): string {
  return (
    `authentication ${hex(a.authentication)}, integrity ${hex(a.integrity)}, ` +
    `confidentiality ${hex(a.confidentiality)}` +
    (suite === undefined ? "" : `: cipher suite ${suite}'s`)
  );
}

/**
 * The error for a login whose RAKP messages went unanswered every time although the BMC answered
 * Open Session: after RAKP 1 most likely an unknown user, which some BMCs (pyghmi's) ignore
 * instead of refusing with status 0x0D.
 */
function rakpSilence(
  peer: string,
  target: IpmiTarget,
  lost: readonly string[],
  spentMs: number,
): IpmiError {
  const logins = `${lost.length} ${lost.length === 1 ? "login" : "logins"} in ${formatSeconds(spentMs)}`;
  if (lost.every((step) => step === "RAKP 1")) {
    return new IpmiAuthError(
      `BMC ${peer} answered Open Session but never RAKP 1 for user '${target.username}' (${logins}): ` +
        `most likely it does not know user '${target.username}' (some BMCs ignore an unknown user instead of refusing it)`,
    );
  }
  return new IpmiTimeoutError(peer, spentMs, `${lost.join(", ")}; ${logins}`);
}

/** An RMCP+ session-setup message (Open Session, RAKP 1, RAKP 3): outside any session, so session ID and sequence number 0. */
function setupExchange<T>(
  ctx: LoginContext,
  what: string,
  timeoutMs: number,
  payloadType: number,
  payload: Buffer,
  match: (datagram: Buffer) => T | undefined,
  sent?: (attempt: number) => void,
): Promise<T> {
  const packet = encodeRmcpPlusPacket({ payloadType, sessionId: 0, sessionSeq: 0, payload });
  return ctx.transport.exchange({
    what,
    timeoutMs,
    retransmitMs: ctx.retransmitMs,
    packet: (attempt) => {
      sent?.(attempt);
      return packet;
    },
    match,
  });
}

/**
 * RAKP 1 or RAKP 3; a timeout (the login deadline's included) is returned, for the login to start
 * over. `resent` is called when the message went out more than once.
 */
async function rakpExchange<T>(
  ctx: LoginContext,
  what: string,
  payloadType: number,
  payload: Buffer,
  match: (datagram: Buffer) => T | undefined,
  resent?: () => void,
): Promise<T | IpmiTimeoutError> {
  try {
    const timeoutMs = ctx.login.step(ctx.timing.requestTimeoutMs, ctx.transport.peer, what);
    return await setupExchange(ctx, what, timeoutMs, payloadType, payload, match, (attempt) => {
      if (attempt > 0) resent?.();
    });
  } catch (err) {
    if (err instanceof IpmiTimeoutError) return err;
    throw err;
  }
}

function rakpRefusal(
  peer: string,
  target: IpmiTarget,
  suite: CipherSuite,
  message: string,
  status: number,
): IpmiError {
  const why = `${rmcpPlusStatusMeaning(status)} (${message} status ${hex(status)})`;
  if (status === 0x0d)
    return new IpmiAuthError(`BMC ${peer} does not know user '${target.username}': ${why}`);
  if (PRIVILEGE_REFUSED_STATUSES.has(status)) {
    return new IpmiAuthError(
      `BMC ${peer} refused privilege ${target.privilege} for user '${target.username}' ` +
        `with cipher suite ${suite.id}: ${why}; privlvl=operator is enough for fencing`,
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
  const ask = (withIpmi20: boolean, firstAnswerMs?: number): Promise<Buffer> =>
    sessionlessRequest(
      transport,
      firstAnswerMs === undefined ? timing : { ...timing, firstAnswerMs },
      login,
      log,
      {
        cmd: AppCmd.GetChannelAuthenticationCapabilities,
        data: encodeGetChannelAuthCapabilitiesRequest(privilege, withIpmi20),
        rqSeq,
        note: withIpmi20 ? " (IPMI 2.0 extended data)" : "",
        first: true,
        silenceHint: "the BMC is off, unreachable, or not serving IPMI over LAN on that port",
        refusal: (cc) =>
          // An IPMI 1.5 BMC does not know the "IPMI 2.0 extended data" bit.
          withIpmi20 && cc === 0xcc
            ? new IpmiSessionError(
                `BMC ${transport.peer} does not offer IPMI 2.0 (RMCP+); try lanplus=0`,
              )
            : undefined,
      },
    );
  let data: Buffer;
  try {
    data = await ask(ipmi20);
  } catch (err) {
    // Some BMCs speak only IPMI 2.0 and drop IPMI 1.5 requests unanswered (pyghmi's does): ask
    // once the IPMI 2.0 way, briefly, so that lanplus=0 is named as the cause.
    if (ipmi20 || !(err instanceof IpmiTimeoutError) || login.left() <= 0) throw err;
    const probe = await ask(true, SECOND_FORM_PROBE_MS).catch(() => undefined);
    if (probe !== undefined && decodeGetChannelAuthCapabilitiesResponse(probe).ipmi20Supported) {
      throw new IpmiSessionError(
        `BMC ${transport.peer} ignores IPMI 1.5 and answers only IPMI 2.0 requests: remove lanplus=0 (IPMI 2.0 is the default)`,
      );
    }
    throw err;
  }
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

/** How long an IPMI 1.5 login that got no answer asks the IPMI 2.0 way, to name the cause. */
const SECOND_FORM_PROBE_MS = 500;

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
  /** The login's first request: a BMC silent for {@link FIRST_ANSWER_MS} is taken for dead. */
  first?: boolean;
  /** Added to the timeout message. */
  silenceHint?: string;
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
  const stepMs = login.step(timing.requestTimeoutMs, transport.peer, name);
  const firstRetransmitMs = timing.retransmitMs ?? FIRST_ANSWER_RETRANSMIT_MS;
  const rsp = await transport.exchange({
    what: name,
    ...(req.first && !transport.answered
      ? {
          timeoutMs: Math.min(stepMs, timing.firstAnswerMs ?? FIRST_ANSWER_MS),
          retransmitMs: firstRetransmitMs,
          maxRetransmitMs: firstRetransmitMs,
        }
      : { timeoutMs: stepMs, retransmitMs: timing.retransmitMs ?? DEFAULT_RETRANSMIT_MS }),
    ...(req.silenceHint === undefined ? {} : { silenceHint: req.silenceHint }),
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
