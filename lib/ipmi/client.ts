/**
 * The IPMI-over-LAN client's surface: what a target and its timing are, and openSession, which
 * logs in (IPMI 2.0 RMCP+ by default, IPMI 1.5 when lanplus is off: login-rmcpplus.ts,
 * login-ipmi15.ts, what they share in login.ts) and returns a session (session.ts). Built on the
 * pure codecs; the sockets and timers live in transport.ts.
 */
import { bmcKey, cipherSuite, userKey } from "./cipher-suites.js";
import { PrivilegeLevel } from "./constants.js";
import type { IpmiPrivilege } from "./constants.js";
import { IpmiConfigError } from "./errors.js";
import { usernameBytes } from "./session-commands.js";
import { passwordKey15 } from "./session15.js";
import { UdpTransport } from "./transport.js";
import type { DatagramSocketFactory, Log } from "./transport.js";
import { LoginClock } from "./login.js";
import { loginRmcpPlus } from "./login-rmcpplus.js";
import { loginIpmi15 } from "./login-ipmi15.js";

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
   * The first request's time (default login.ts's `FIRST_ANSWER_MS`, 1 s, never more than `requestTimeoutMs`
   * or the login's), retransmitted every 150 ms (or `retransmitMs`).
   */
  firstAnswerMs?: number;
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
    const steps = { transport, target, timing, login, log: say };
    return target.lanplus ? await loginRmcpPlus(steps) : await loginIpmi15(steps);
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
