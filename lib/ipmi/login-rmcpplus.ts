/**
 * The IPMI 2.0 (RMCP+) login: Get Channel Authentication Capabilities, then Open Session and
 * RAKP 1-4 suite by suite (17, then 3, unless one is configured), with the fall-backs, restarts
 * and messages that real BMCs call for (docs/fence_ipmi.md, "BMC quirks").
 */
import { randomBytes } from "node:crypto";
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
import { PrivilegeLevel } from "./constants.js";
import { constantTimeEqual, hex } from "./bytes.js";
import type { IpmiError } from "./errors.js";
import {
  IpmiAuthError,
  IpmiProtocolError,
  IpmiSessionError,
  IpmiTimeoutError,
  formatSeconds,
} from "./errors.js";
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
import { usernameBytes } from "./session-commands.js";
import type { UdpTransport } from "./transport.js";
import type { Log } from "./transport.js";
import type { IpmiSession, IpmiTarget, IpmiTiming } from "./client.js";
import { DEFAULT_RETRANSMIT_MS, RmcpPlusSession } from "./session.js";
import {
  type LoginClock,
  type LoginSteps,
  afterActivation,
  getChannelAuthCapabilities,
  randomSessionId,
} from "./login.js";

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

export async function loginRmcpPlus(steps: LoginSteps): Promise<IpmiSession> {
  const { transport, target, timing, login, log } = steps;
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
