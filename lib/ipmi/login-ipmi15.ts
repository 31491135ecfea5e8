/**
 * The IPMI 1.5 login (lanplus=0 only): Get Channel Authentication Capabilities, Get Session
 * Challenge, Activate Session, Set Session Privilege Level.
 */
import { AppCmd, NetFn, PrivilegeLevel, completionCodeMeaning } from "./constants.js";
import { hex } from "./bytes.js";
import {
  IpmiAuthError,
  IpmiCompletionCodeError,
  IpmiSessionError,
  IpmiTimeoutError,
  formatSeconds,
} from "./errors.js";
import { decodeIpmiResponse, encodeIpmiRequest, responseMatches } from "./message.js";
import type { IpmiResponse } from "./message.js";
import {
  decodeActivateSessionResponse,
  decodeGetSessionChallengeResponse,
  encodeActivateSessionRequest,
  encodeGetSessionChallengeRequest,
} from "./session-commands.js";
import type { SessionChallenge } from "./session-commands.js";
import {
  AuthType,
  decodeSession15Packet,
  encodeSession15Packet,
  passwordKey15,
  verifySession15AuthCode,
} from "./session15.js";
import type { IpmiSession, IpmiTarget } from "./client.js";
import { DEFAULT_RETRANSMIT_MS, Ipmi15Session } from "./session.js";
import {
  type LoginSteps,
  afterActivation,
  getChannelAuthCapabilities,
  randomSessionId,
  sessionlessRequest,
} from "./login.js";

/** Challenge + Activate Session rounds before silence is taken for a wrong password. */
const MAX_ACTIVATE_ATTEMPTS = 2;

const AUTH_TYPE_OF: Readonly<Record<NonNullable<IpmiTarget["auth"]>, number>> = {
  md5: AuthType.md5,
  password: AuthType.straightPassword,
  none: AuthType.none,
};

export async function loginIpmi15(steps: LoginSteps): Promise<IpmiSession> {
  const { transport, target, timing, login, log } = steps;
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
