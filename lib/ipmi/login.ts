/**
 * What both logins share: the login clock, the first request (Get Channel Authentication
 * Capabilities, by which a silent BMC is taken for dead), session-less requests, and raising the
 * session's privilege once it is open.
 */
import { randomBytes } from "node:crypto";
import {
  decodeGetChannelAuthCapabilitiesResponse,
  encodeGetChannelAuthCapabilitiesRequest,
} from "./channel-auth.js";
import type { ChannelAuthCapabilities } from "./channel-auth.js";
import { AppCmd, NetFn, PrivilegeLevel, commandName, completionCodeMeaning } from "./constants.js";
import type { IpmiError } from "./errors.js";
import { IpmiCompletionCodeError, IpmiSessionError, IpmiTimeoutError } from "./errors.js";
import { decodeIpmiResponse, encodeIpmiRequest, responseMatches } from "./message.js";
import { AuthType, decodeSession15Packet, encodeSession15Packet } from "./session15.js";
import type { UdpTransport } from "./transport.js";
import type { Log } from "./transport.js";
import type { IpmiTarget, IpmiTiming } from "./client.js";
import { CLOSE_TIMEOUT_MS, DEFAULT_RETRANSMIT_MS, type SessionBase } from "./session.js";

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

/** What a login works with: the BMC's transport, the target, the timing, the clock, the log. */
export interface LoginSteps {
  transport: UdpTransport;
  target: IpmiTarget;
  timing: IpmiTiming;
  login: LoginClock;
  log: Log;
}

/** Time left until the login deadline, for each login step. */
export class LoginClock {
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
 * Set Session Privilege Level, as ipmitool does: sessions start at User level, so only operator
 * and administrator need it. A failure closes the session on the BMC before it is reported.
 */
export async function afterActivation(
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

export function randomSessionId(): number {
  for (;;) {
    const id = randomBytes(4).readUInt32LE(0);
    if (id !== 0) return id;
  }
}

/** Get Channel Authentication Capabilities, outside any session (IPMI 1.5 format, no AuthCode). */
export async function getChannelAuthCapabilities(
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
export async function sessionlessRequest(
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
