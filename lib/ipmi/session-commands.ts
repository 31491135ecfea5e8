/**
 * Data fields of the session management commands (section 22.15-22.19): Get Session Challenge
 * and Activate Session (IPMI 1.5 login), Set Session Privilege Level and Close Session (both).
 * Requests are encoded to their data bytes; responses are decoded from the data after the
 * completion code. Response decoders ignore trailing bytes (spec revisions append fields).
 */
import { Reader, hex, u32le } from "./bytes.js";
import { IpmiConfigError, IpmiProtocolError } from "./errors.js";

/** User names are at most 16 bytes (IPMI 1.5 pads them with zeros to exactly 16). */
export const USERNAME_MAX_LENGTH = 16;
export const CHALLENGE_LENGTH = 16;

export function usernameBytes(username: string): Buffer {
  const bytes = Buffer.from(username, "utf8");
  if (bytes.length > USERNAME_MAX_LENGTH) {
    throw new IpmiConfigError(`IPMI user names are at most ${USERNAME_MAX_LENGTH} bytes`);
  }
  return bytes;
}

export function encodeGetSessionChallengeRequest(authType: number, username: string): Buffer {
  const out = Buffer.alloc(1 + USERNAME_MAX_LENGTH);
  out[0] = authType & 0x0f;
  usernameBytes(username).copy(out, 1);
  return out;
}

export interface SessionChallenge {
  temporarySessionId: number;
  challenge: Buffer;
}

export function decodeGetSessionChallengeResponse(data: Buffer): SessionChallenge {
  const r = new Reader(data, "Get Session Challenge response");
  const temporarySessionId = r.u32le("temporary session ID");
  const challenge = r.bytes(CHALLENGE_LENGTH, "challenge string");
  if (temporarySessionId === 0)
    throw new IpmiProtocolError("Get Session Challenge response: session ID 0");
  return { temporarySessionId, challenge };
}

export interface ActivateSessionRequest {
  authType: number;
  maximumPrivilege: number;
  challenge: Buffer;
  /** Starting sequence number for the packets the BMC sends us. */
  initialOutboundSeq: number;
}

export function encodeActivateSessionRequest(req: ActivateSessionRequest): Buffer {
  if (req.challenge.length !== CHALLENGE_LENGTH) {
    throw new IpmiConfigError(`Activate Session: challenge must be ${CHALLENGE_LENGTH} bytes`);
  }
  return Buffer.concat([
    Buffer.from([req.authType & 0x0f, req.maximumPrivilege & 0x0f]),
    req.challenge,
    u32le(req.initialOutboundSeq),
  ]);
}

export function decodeActivateSessionRequest(data: Buffer): ActivateSessionRequest {
  const r = new Reader(data, "Activate Session request");
  const authType = r.u8("authentication type") & 0x0f;
  const maximumPrivilege = r.u8("maximum privilege level") & 0x0f;
  const challenge = r.bytes(CHALLENGE_LENGTH, "challenge string");
  const initialOutboundSeq = r.u32le("initial outbound sequence number");
  r.expectEnd();
  return { authType, maximumPrivilege, challenge, initialOutboundSeq };
}

export interface ActivatedSession {
  authType: number;
  sessionId: number;
  /** Starting sequence number for the packets we send to the BMC. */
  initialInboundSeq: number;
  maximumPrivilege: number;
}

export function decodeActivateSessionResponse(data: Buffer): ActivatedSession {
  const r = new Reader(data, "Activate Session response");
  const authType = r.u8("authentication type") & 0x0f;
  const sessionId = r.u32le("session ID");
  const initialInboundSeq = r.u32le("initial inbound sequence number");
  const maximumPrivilege = r.u8("maximum privilege level") & 0x0f;
  if (sessionId === 0) throw new IpmiProtocolError("Activate Session response: session ID 0");
  if (initialInboundSeq === 0) {
    throw new IpmiProtocolError("Activate Session response: initial inbound sequence number 0");
  }
  return { authType, sessionId, initialInboundSeq, maximumPrivilege };
}

export function encodeSetSessionPrivilegeLevelRequest(privilege: number): Buffer {
  return Buffer.from([privilege & 0x0f]);
}

/** Returns the new privilege level. */
export function decodeSetSessionPrivilegeLevelResponse(data: Buffer): number {
  const r = new Reader(data, "Set Session Privilege Level response");
  const level = r.u8("new privilege level") & 0x0f;
  if (level < 1 || level > 5) {
    throw new IpmiProtocolError(`Set Session Privilege Level response: privilege ${hex(level)}`);
  }
  return level;
}

/** Close Session names the session by the ID the BMC assigned (its own, managed-system ID). */
export function encodeCloseSessionRequest(sessionId: number): Buffer {
  return u32le(sessionId);
}
