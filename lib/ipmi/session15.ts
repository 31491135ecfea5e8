/**
 * The IPMI 1.5 session wrapper (section 13.6) and its AuthCode (section 22.17.1). IPMI 1.5 is only
 * used when lanplus=0 is asked for explicitly: its MD5 AuthCode authenticates but does not encrypt.
 * The same wrapper with authentication type "none" carries the session-less Get Channel
 * Authentication Capabilities of an IPMI 2.0 login.
 */
import { createHash } from "node:crypto";
import { Reader, constantTimeEqual, hex, u32le } from "./bytes.js";
import { IpmiConfigError, IpmiIntegrityError, IpmiProtocolError } from "./errors.js";
import { RMCP_HEADER_LENGTH, RmcpClass, decodeRmcpHeader, encodeRmcpHeader } from "./rmcp.js";

/** Authentication Type field values (section 13.6). 0x06 marks an RMCP+ (IPMI 2.0) packet. */
export const AuthType = {
  none: 0x00,
  md2: 0x01,
  md5: 0x02,
  straightPassword: 0x04,
  oem: 0x05,
  rmcpPlus: 0x06,
} as const;

export type Session15AuthType =
  typeof AuthType.none | typeof AuthType.md5 | typeof AuthType.straightPassword;

/** IPMI 1.5 passwords are 16 bytes, zero-padded. */
export const PASSWORD15_LENGTH = 16;
export const AUTH_CODE15_LENGTH = 16;

/** The 16-byte, zero-padded password the IPMI 1.5 AuthCodes use. */
export function passwordKey15(password: string): Buffer {
  const bytes = Buffer.from(password, "utf8");
  if (bytes.length > PASSWORD15_LENGTH) {
    throw new IpmiConfigError(`IPMI 1.5 passwords are at most ${PASSWORD15_LENGTH} bytes`);
  }
  const key = Buffer.alloc(PASSWORD15_LENGTH);
  bytes.copy(key);
  return key;
}

/**
 * AuthCode of an IPMI 1.5 packet. MD5: MD5(password, session ID, message, session sequence,
 * password), the IDs in wire (little-endian) order. Straight password: the password itself.
 */
export function authCode15(
  authType: number,
  passwordKey: Buffer,
  sessionId: number,
  sessionSeq: number,
  message: Buffer,
): Buffer {
  switch (authType) {
    case AuthType.md5:
      return createHash("md5")
        .update(passwordKey)
        .update(u32le(sessionId))
        .update(message)
        .update(u32le(sessionSeq))
        .update(passwordKey)
        .digest();
    case AuthType.straightPassword:
      return Buffer.from(passwordKey);
    default:
      throw new IpmiConfigError(`IPMI 1.5 authentication type ${hex(authType)} is not supported`);
  }
}

export interface Session15Fields {
  authType: number;
  sessionSeq: number;
  sessionId: number;
  /** The IPMI message (request or response frame). */
  message: Buffer;
}

export interface Session15Packet extends Session15Fields {
  /** The received AuthCode; undefined for authentication type none. */
  authCode: Buffer | undefined;
}

/**
 * A complete IPMI 1.5 datagram (RMCP header included). `passwordKey` is needed for every
 * authentication type but none.
 */
export function encodeSession15Packet(fields: Session15Fields, passwordKey?: Buffer): Buffer {
  const { authType, sessionSeq, sessionId, message } = fields;
  if (message.length > 0xff) throw new IpmiConfigError("IPMI 1.5 message longer than 255 bytes");
  const header = Buffer.alloc(9);
  header[0] = authType;
  header.writeUInt32LE(sessionSeq >>> 0, 1);
  header.writeUInt32LE(sessionId >>> 0, 5);
  const parts = [encodeRmcpHeader(RmcpClass.IPMI), header];
  if (authType !== AuthType.none) {
    if (!passwordKey) throw new IpmiConfigError("IPMI 1.5 AuthCode needs the password");
    parts.push(authCode15(authType, passwordKey, sessionId, sessionSeq, message));
  }
  parts.push(Buffer.from([message.length]), message);
  return Buffer.concat(parts);
}

/** Parses a complete IPMI 1.5 datagram; the AuthCode is returned, not checked (see verify). */
export function decodeSession15Packet(packet: Buffer): Session15Packet {
  const rmcp = decodeRmcpHeader(packet);
  if (rmcp.messageClass !== RmcpClass.IPMI || rmcp.ack) {
    throw new IpmiProtocolError(
      `IPMI 1.5 session: RMCP class ${hex(rmcp.messageClass)} is not IPMI`,
    );
  }
  const r = new Reader(packet, "IPMI 1.5 session", RMCP_HEADER_LENGTH);
  const authType = r.u8("authentication type");
  if (authType === AuthType.rmcpPlus)
    throw new IpmiProtocolError("IPMI 1.5 session: packet is RMCP+");
  if (
    ![AuthType.none, AuthType.md2, AuthType.md5, AuthType.straightPassword, AuthType.oem].includes(
      authType as 0,
    )
  ) {
    throw new IpmiProtocolError(`IPMI 1.5 session: unknown authentication type ${hex(authType)}`);
  }
  const sessionSeq = r.u32le("session sequence number");
  const sessionId = r.u32le("session ID");
  const authCode = authType === AuthType.none ? undefined : r.bytes(AUTH_CODE15_LENGTH, "AuthCode");
  const length = r.u8("message length");
  const message = r.bytes(length, "message");
  // Some implementations append one legacy pad byte; anything more is not IPMI 1.5.
  if (r.remaining > 1)
    throw new IpmiProtocolError(`IPMI 1.5 session: ${r.remaining} bytes after the message`);
  return { authType, sessionSeq, sessionId, authCode, message };
}

/** Throws IpmiIntegrityError unless the packet's AuthCode is right for this password. */
export function verifySession15AuthCode(packet: Session15Packet, passwordKey: Buffer): void {
  if (packet.authType === AuthType.none) return;
  if (packet.authType !== AuthType.md5 && packet.authType !== AuthType.straightPassword) {
    throw new IpmiProtocolError(
      `IPMI 1.5 session: cannot verify authentication type ${hex(packet.authType)}`,
    );
  }
  const expected = authCode15(
    packet.authType,
    passwordKey,
    packet.sessionId,
    packet.sessionSeq,
    packet.message,
  );
  if (!packet.authCode || !constantTimeEqual(expected, packet.authCode)) {
    throw new IpmiIntegrityError("IPMI 1.5 session: AuthCode does not verify");
  }
}
