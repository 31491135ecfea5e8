/**
 * IPMI 2.0 RMCP+ (section 13): the session packet format with its integrity trailer and
 * confidentiality wrapping, and the session-setup payloads: RMCP+ Open Session Request/Response and
 * RAKP messages 1-4. Session IDs are handled as numbers and travel little-endian.
 */
import { Reader, constantTimeEqual, hex, u32le } from "./bytes.js";
import { IpmiConfigError, IpmiIntegrityError, IpmiProtocolError } from "./errors.js";
import {
  type CipherSuite,
  decryptPayload,
  encryptPayload,
  hasConfidentiality,
  integrityAuthCode,
  integrityAuthCodeLength,
} from "./cipher-suites.js";
import { RMCP_HEADER_LENGTH, RmcpClass, decodeRmcpHeader, encodeRmcpHeader } from "./rmcp.js";
import { AuthType } from "./session15.js";

export const PayloadType = {
  IPMI: 0x00,
  SOL: 0x01,
  OEM_EXPLICIT: 0x02,
  OpenSessionRequest: 0x10,
  OpenSessionResponse: 0x11,
  RAKP1: 0x12,
  RAKP2: 0x13,
  RAKP3: 0x14,
  RAKP4: 0x15,
} as const;

const ENCRYPTED_BIT = 0x80;
const AUTHENTICATED_BIT = 0x40;
/** Next Header of the session trailer: always 07h (RMCP class IPMI). */
const NEXT_HEADER = 0x07;
const INTEGRITY_PAD_BYTE = 0xff;

/** RMCP+ status codes (table 13-15) of Open Session Response and RAKP messages 2 and 4. */
const RMCPPLUS_STATUS = new Map<number, string>([
  [0x00, "no errors"],
  [0x01, "insufficient resources to create a session"],
  [0x02, "invalid session ID"],
  [0x03, "invalid payload type"],
  [0x04, "invalid authentication algorithm"],
  [0x05, "invalid integrity algorithm"],
  [0x06, "no matching authentication payload"],
  [0x07, "no matching integrity payload"],
  [0x08, "inactive session ID"],
  [0x09, "invalid role"],
  [0x0a, "unauthorized role or privilege level requested"],
  [0x0b, "insufficient resources to create a session at the requested role"],
  [0x0c, "invalid name length"],
  [0x0d, "unauthorized name"],
  [0x0e, "unauthorized GUID"],
  [0x0f, "invalid integrity check value"],
  [0x10, "invalid confidentiality algorithm"],
  [0x11, "no cipher suite match with proposed security algorithms"],
  [0x12, "illegal or unrecognized parameter"],
]);

export function rmcpPlusStatusMeaning(status: number): string {
  return RMCPPLUS_STATUS.get(status) ?? `reserved status code`;
}

/**
 * Status codes meaning "the BMC does not do these algorithms": with no cipher suite configured,
 * these make the client fall back to the next suite at once instead of failing.
 */
export const ALGORITHM_REJECTED_STATUSES: ReadonlySet<number> = new Set([
  0x04, 0x05, 0x06, 0x07, 0x10, 0x11, 0x12,
]);

/** The security state of an active session: which suite, and its K1 (integrity) / K2 (confidentiality). */
export interface SessionSecurity {
  suite: CipherSuite;
  k1: Buffer;
  k2: Buffer;
}

export interface RmcpPlusFields {
  payloadType: number;
  sessionId: number;
  sessionSeq: number;
  /** The plaintext payload. */
  payload: Buffer;
}

/**
 * A complete RMCP+ datagram. Without `security` (session setup) the payload goes out in clear with
 * no trailer. With it, the payload is encrypted when the suite has confidentiality (needing a fresh
 * 16-byte `iv`) and the packet authenticated when it has integrity.
 */
export function encodeRmcpPlusPacket(
  fields: RmcpPlusFields,
  security?: SessionSecurity,
  iv?: Buffer,
): Buffer {
  const encrypted = security !== undefined && hasConfidentiality(security.suite);
  const authenticated = security !== undefined && integrityAuthCodeLength(security.suite) > 0;
  let payload = fields.payload;
  if (encrypted) {
    if (!iv) throw new IpmiConfigError("RMCP+ packet: an encrypted payload needs an IV");
    payload = encryptPayload(security.suite, security.k2, payload, iv);
  }
  if (payload.length > 0xffff) throw new IpmiConfigError("RMCP+ packet: payload too long");
  const header = Buffer.alloc(12);
  header[0] = AuthType.rmcpPlus;
  header[1] =
    (fields.payloadType & 0x3f) |
    (encrypted ? ENCRYPTED_BIT : 0) |
    (authenticated ? AUTHENTICATED_BIT : 0);
  header.writeUInt32LE(fields.sessionId >>> 0, 2);
  header.writeUInt32LE(fields.sessionSeq >>> 0, 6);
  header.writeUInt16LE(payload.length, 10);
  if (!authenticated) return Buffer.concat([encodeRmcpHeader(RmcpClass.IPMI), header, payload]);
  // The integrity pad makes Auth Type .. Next Header a multiple of 4 bytes.
  const padLength = (4 - ((header.length + payload.length + 2) % 4)) % 4;
  const covered = Buffer.concat([
    header,
    payload,
    Buffer.alloc(padLength, INTEGRITY_PAD_BYTE),
    Buffer.from([padLength, NEXT_HEADER]),
  ]);
  return Buffer.concat([
    encodeRmcpHeader(RmcpClass.IPMI),
    covered,
    integrityAuthCode(security.suite, security.k1, covered),
  ]);
}

export interface RmcpPlusPacket {
  payloadType: number;
  encrypted: boolean;
  authenticated: boolean;
  /** Present for payload type OEM explicit only. */
  oemIana?: number;
  oemPayloadId?: number;
  sessionId: number;
  sessionSeq: number;
  /** The payload as on the wire (still encrypted if `encrypted`). */
  payload: Buffer;
  /** Authenticated packets: the received AuthCode and the bytes it covers. */
  authCode?: Buffer;
  integrityCovered?: Buffer;
}

/**
 * Parses a complete RMCP+ datagram without checking anything cryptographic. The AuthCode length
 * depends on the session's integrity algorithm and is not on the wire, so authenticated packets
 * need `authCodeLength`.
 */
export function decodeRmcpPlusPacket(packet: Buffer, authCodeLength = 0): RmcpPlusPacket {
  const rmcp = decodeRmcpHeader(packet);
  if (rmcp.messageClass !== RmcpClass.IPMI || rmcp.ack) {
    throw new IpmiProtocolError(`RMCP+ packet: RMCP class ${hex(rmcp.messageClass)} is not IPMI`);
  }
  const r = new Reader(packet, "RMCP+ packet", RMCP_HEADER_LENGTH);
  const authType = r.u8("authentication type");
  if (authType !== AuthType.rmcpPlus)
    throw new IpmiProtocolError(`RMCP+ packet: authentication type ${hex(authType)}`);
  const typeByte = r.u8("payload type");
  const payloadType = typeByte & 0x3f;
  const encrypted = (typeByte & ENCRYPTED_BIT) !== 0;
  const authenticated = (typeByte & AUTHENTICATED_BIT) !== 0;
  let oemIana: number | undefined;
  let oemPayloadId: number | undefined;
  if (payloadType === PayloadType.OEM_EXPLICIT) {
    oemIana = r.u32le("OEM IANA");
    oemPayloadId = r.u16le("OEM payload ID");
  }
  const sessionId = r.u32le("session ID");
  const sessionSeq = r.u32le("session sequence number");
  const payloadLength = r.u16le("payload length");
  const payload = r.bytes(payloadLength, "payload");
  const result: RmcpPlusPacket = {
    payloadType,
    encrypted,
    authenticated,
    sessionId,
    sessionSeq,
    payload,
  };
  if (oemIana !== undefined) {
    result.oemIana = oemIana;
    result.oemPayloadId = oemPayloadId!;
  }
  if (!authenticated) {
    if (r.remaining !== 0)
      throw new IpmiProtocolError(`RMCP+ packet: ${r.remaining} bytes after the payload`);
    return result;
  }
  if (authCodeLength <= 0) {
    throw new IpmiProtocolError(
      "RMCP+ packet: authenticated packet, but no integrity algorithm negotiated",
    );
  }
  // Trailer: integrity pad, pad length, next header, AuthCode. Parsed from the end, because the pad
  // length byte sits behind the pad it measures.
  const trailerLength = r.remaining;
  if (trailerLength < authCodeLength + 2)
    throw new IpmiProtocolError("RMCP+ packet: truncated session trailer");
  const end = packet.length;
  const nextHeader = packet[end - authCodeLength - 1]!;
  const padLength = packet[end - authCodeLength - 2]!;
  if (padLength + 2 + authCodeLength !== trailerLength) {
    throw new IpmiProtocolError(
      `RMCP+ packet: integrity pad length ${padLength} does not fit the trailer`,
    );
  }
  if (nextHeader !== NEXT_HEADER)
    throw new IpmiProtocolError(`RMCP+ packet: next header ${hex(nextHeader)}`);
  result.authCode = Buffer.from(packet.subarray(end - authCodeLength));
  result.integrityCovered = Buffer.from(packet.subarray(RMCP_HEADER_LENGTH, end - authCodeLength));
  return result;
}

/**
 * Parses, verifies and decrypts an in-session packet. When the suite has integrity an
 * unauthenticated packet is refused, and when it has confidentiality an unencrypted IPMI payload
 * is refused: a forger must not be able to downgrade the session by clearing bits.
 */
export function openSessionPacket(packet: Buffer, security: SessionSecurity): RmcpPlusPacket {
  const authCodeLength = integrityAuthCodeLength(security.suite);
  const parsed = decodeRmcpPlusPacket(packet, authCodeLength);
  if (authCodeLength > 0) {
    if (!parsed.authenticated)
      throw new IpmiIntegrityError(
        "RMCP+ packet: unauthenticated packet in an authenticated session",
      );
    const expected = integrityAuthCode(security.suite, security.k1, parsed.integrityCovered!);
    if (!constantTimeEqual(expected, parsed.authCode!))
      throw new IpmiIntegrityError("RMCP+ packet: AuthCode does not verify");
  } else if (parsed.authenticated) {
    throw new IpmiProtocolError(
      "RMCP+ packet: authenticated packet, but no integrity algorithm negotiated",
    );
  }
  if (parsed.encrypted) {
    if (!hasConfidentiality(security.suite))
      throw new IpmiProtocolError("RMCP+ packet: encrypted, but no confidentiality negotiated");
    return { ...parsed, payload: decryptPayload(security.suite, security.k2, parsed.payload) };
  }
  if (
    hasConfidentiality(security.suite) &&
    (parsed.payloadType === PayloadType.IPMI || parsed.payloadType === PayloadType.SOL)
  ) {
    throw new IpmiIntegrityError("RMCP+ packet: unencrypted payload in an encrypted session");
  }
  return parsed;
}

/* ---------------------------------------------------------------------------------------------- */
/* RMCP+ Open Session Request / Response (section 13.17, 13.18)                                    */

export interface OpenSessionRequest {
  messageTag: number;
  /** 0 = "the highest level matching the proposed algorithms", as ipmitool sends. */
  requestedMaximumPrivilege: number;
  consoleSessionId: number;
  authentication: number;
  integrity: number;
  confidentiality: number;
}

/** Algorithm payload record: type, 2 reserved, length 08h, algorithm, 3 reserved. */
function algorithmRecord(type: number, algorithm: number): Buffer {
  return Buffer.from([type, 0, 0, 0x08, algorithm & 0x3f, 0, 0, 0]);
}

export function encodeOpenSessionRequest(req: OpenSessionRequest): Buffer {
  const head = Buffer.alloc(8);
  head[0] = req.messageTag & 0xff;
  head[1] = req.requestedMaximumPrivilege & 0x0f;
  head.writeUInt32LE(req.consoleSessionId >>> 0, 4);
  return Buffer.concat([
    head,
    algorithmRecord(0x00, req.authentication),
    algorithmRecord(0x01, req.integrity),
    algorithmRecord(0x02, req.confidentiality),
  ]);
}

function readAlgorithmRecord(r: Reader, expectedType: number, name: string): number {
  const type = r.u8(`${name} payload type`);
  r.skip(2, `${name} reserved`);
  const length = r.u8(`${name} payload length`);
  const algorithm = r.u8(`${name} algorithm`) & 0x3f;
  r.skip(3, `${name} reserved`);
  if (type !== expectedType || length !== 0x08) {
    throw new IpmiProtocolError(
      `RMCP+ Open Session: malformed ${name} payload (type ${hex(type)}, length ${length})`,
    );
  }
  return algorithm;
}

export function decodeOpenSessionRequest(payload: Buffer): OpenSessionRequest {
  const r = new Reader(payload, "RMCP+ Open Session Request");
  const messageTag = r.u8("message tag");
  const requestedMaximumPrivilege = r.u8("requested maximum privilege level") & 0x0f;
  r.skip(2, "reserved");
  const consoleSessionId = r.u32le("remote console session ID");
  const authentication = readAlgorithmRecord(r, 0x00, "authentication");
  const integrity = readAlgorithmRecord(r, 0x01, "integrity");
  const confidentiality = readAlgorithmRecord(r, 0x02, "confidentiality");
  r.expectEnd();
  return {
    messageTag,
    requestedMaximumPrivilege,
    consoleSessionId,
    authentication,
    integrity,
    confidentiality,
  };
}

/** An Open Session Response that accepted the request: the session's IDs and algorithms. */
export interface OpenSessionAccepted {
  messageTag: number;
  statusCode: 0;
  maximumPrivilege: number;
  consoleSessionId: number;
  managedSystemSessionId: number;
  authentication: number;
  integrity: number;
  confidentiality: number;
}

/** A refusal: tag and status, and the console session ID when the BMC sends it (ipmi_sim does not). */
export interface OpenSessionRefused {
  messageTag: number;
  /** Any RMCP+ status code but 0. */
  statusCode: number;
  consoleSessionId?: number;
  /** Absent, which also keeps an accepted response from passing for a refusal. */
  managedSystemSessionId?: undefined;
}

/** Narrow with {@link isAccepted}: only an accepted response carries the session's fields. */
export type OpenSessionResponse = OpenSessionAccepted | OpenSessionRefused;

/** True for an Open Session Response or RAKP 2/4 message with status 0, whose fields are all present. */
export function isAccepted<M extends { statusCode: number }>(
  m: M,
): m is Extract<M, { statusCode: 0 }> {
  return m.statusCode === 0;
}

export function encodeOpenSessionResponse(rsp: OpenSessionResponse): Buffer {
  if (!isAccepted(rsp)) {
    const parts: Buffer[] = [Buffer.from([rsp.messageTag & 0xff, rsp.statusCode & 0xff])];
    if (rsp.consoleSessionId !== undefined)
      parts.push(Buffer.from([0, 0]), u32le(rsp.consoleSessionId));
    return Buffer.concat(parts);
  }
  const head = Buffer.alloc(12);
  head[0] = rsp.messageTag & 0xff;
  head[1] = 0;
  head[2] = rsp.maximumPrivilege & 0x0f;
  head.writeUInt32LE(rsp.consoleSessionId >>> 0, 4);
  head.writeUInt32LE(rsp.managedSystemSessionId >>> 0, 8);
  return Buffer.concat([
    head,
    algorithmRecord(0x00, rsp.authentication),
    algorithmRecord(0x01, rsp.integrity),
    algorithmRecord(0x02, rsp.confidentiality),
  ]);
}

export function decodeOpenSessionResponse(payload: Buffer): OpenSessionResponse {
  const r = new Reader(payload, "RMCP+ Open Session Response");
  const messageTag = r.u8("message tag");
  const statusCode = r.u8("status code");
  if (statusCode !== 0) {
    // Refusals are short: ipmi_sim sends just these two bytes; others add the console session ID.
    const rsp: OpenSessionRefused = { messageTag, statusCode };
    if (r.remaining >= 6) {
      r.skip(2, "reserved");
      rsp.consoleSessionId = r.u32le("remote console session ID");
    }
    return rsp;
  }
  const maximumPrivilege = r.u8("maximum privilege level") & 0x0f;
  r.skip(1, "reserved");
  const consoleSessionId = r.u32le("remote console session ID");
  const managedSystemSessionId = r.u32le("managed system session ID");
  const authentication = readAlgorithmRecord(r, 0x00, "authentication");
  const integrity = readAlgorithmRecord(r, 0x01, "integrity");
  const confidentiality = readAlgorithmRecord(r, 0x02, "confidentiality");
  if (managedSystemSessionId === 0)
    throw new IpmiProtocolError("RMCP+ Open Session Response: managed system session ID 0");
  return {
    messageTag,
    statusCode,
    maximumPrivilege,
    consoleSessionId,
    managedSystemSessionId,
    authentication,
    integrity,
    confidentiality,
  };
}

/* ---------------------------------------------------------------------------------------------- */
/* RAKP messages 1-4 (section 13.20-13.23)                                                         */

export const RANDOM_NUMBER_LENGTH = 16;
export const GUID_LENGTH = 16;
/** RAKP 1 role bit 4: name-only lookup (the privilege is not part of the user lookup). */
export const NAME_ONLY_LOOKUP = 0x10;

export interface Rakp1 {
  messageTag: number;
  managedSystemSessionId: number;
  consoleRandom: Buffer;
  /** Requested maximum privilege (bits 3:0) with the lookup bit. */
  requestedRole: number;
  username: Buffer;
}

export function encodeRakp1(m: Rakp1): Buffer {
  if (m.consoleRandom.length !== RANDOM_NUMBER_LENGTH)
    throw new IpmiConfigError("RAKP 1: Rm must be 16 bytes");
  if (m.username.length > 16) throw new IpmiConfigError("RAKP 1: user name longer than 16 bytes");
  const head = Buffer.alloc(8);
  head[0] = m.messageTag & 0xff;
  head.writeUInt32LE(m.managedSystemSessionId >>> 0, 4);
  return Buffer.concat([
    head,
    m.consoleRandom,
    Buffer.from([m.requestedRole & 0xff, 0, 0, m.username.length]),
    m.username,
  ]);
}

export function decodeRakp1(payload: Buffer): Rakp1 {
  const r = new Reader(payload, "RAKP 1");
  const messageTag = r.u8("message tag");
  r.skip(3, "reserved");
  const managedSystemSessionId = r.u32le("managed system session ID");
  const consoleRandom = r.bytes(RANDOM_NUMBER_LENGTH, "remote console random number");
  const requestedRole = r.u8("requested maximum privilege");
  r.skip(2, "reserved");
  const nameLength = r.u8("user name length");
  if (nameLength > 16) throw new IpmiProtocolError(`RAKP 1: user name length ${nameLength}`);
  const username = r.bytes(nameLength, "user name");
  r.expectEnd();
  return { messageTag, managedSystemSessionId, consoleRandom, requestedRole, username };
}

/** RAKP 2 with status 0: the BMC's random number, GUID and key exchange code. */
export interface Rakp2Accepted {
  messageTag: number;
  statusCode: 0;
  consoleSessionId: number;
  managedSystemRandom: Buffer;
  managedSystemGuid: Buffer;
  keyExchangeAuthCode: Buffer;
}

/** A RAKP 2 or RAKP 4 refusal: the console session ID only when the BMC sends it. */
export interface RakpRefused {
  messageTag: number;
  /** Any RMCP+ status code but 0. */
  statusCode: number;
  consoleSessionId?: number;
  /** Absent, which also keeps an accepted message from passing for a refusal. */
  keyExchangeAuthCode?: undefined;
  integrityCheckValue?: undefined;
}

/** Narrow with {@link isAccepted}. */
export type Rakp2 = Rakp2Accepted | RakpRefused;

export function encodeRakp2(m: Rakp2): Buffer {
  if (!isAccepted(m)) return rakpHead(m.messageTag, m.statusCode, m.consoleSessionId ?? 0);
  return Buffer.concat([
    rakpHead(m.messageTag, m.statusCode, m.consoleSessionId),
    m.managedSystemRandom,
    m.managedSystemGuid,
    m.keyExchangeAuthCode,
  ]);
}

/** The Key Exchange Authentication Code is the rest of the payload; its length is checked by the caller. */
export function decodeRakp2(payload: Buffer): Rakp2 {
  const r = new Reader(payload, "RAKP 2");
  const messageTag = r.u8("message tag");
  const statusCode = r.u8("status code");
  if (statusCode !== 0) return readRakpRefusal(r, messageTag, statusCode);
  r.skip(2, "reserved");
  const consoleSessionId = r.u32le("remote console session ID");
  const managedSystemRandom = r.bytes(RANDOM_NUMBER_LENGTH, "managed system random number");
  const managedSystemGuid = r.bytes(GUID_LENGTH, "managed system GUID");
  return {
    messageTag,
    statusCode: 0,
    consoleSessionId,
    managedSystemRandom,
    managedSystemGuid,
    keyExchangeAuthCode: r.rest(),
  };
}

export interface Rakp3 {
  messageTag: number;
  statusCode: number;
  managedSystemSessionId: number;
  keyExchangeAuthCode: Buffer;
}

export function encodeRakp3(m: Rakp3): Buffer {
  return Buffer.concat([
    rakpHead(m.messageTag, m.statusCode, m.managedSystemSessionId),
    m.keyExchangeAuthCode,
  ]);
}

export function decodeRakp3(payload: Buffer): Rakp3 {
  const r = new Reader(payload, "RAKP 3");
  const messageTag = r.u8("message tag");
  const statusCode = r.u8("status code");
  r.skip(2, "reserved");
  const managedSystemSessionId = r.u32le("managed system session ID");
  return { messageTag, statusCode, managedSystemSessionId, keyExchangeAuthCode: r.rest() };
}

/** RAKP 4 with status 0: the BMC's integrity check value. */
export interface Rakp4Accepted {
  messageTag: number;
  statusCode: 0;
  consoleSessionId: number;
  integrityCheckValue: Buffer;
}

/** Narrow with {@link isAccepted}. */
export type Rakp4 = Rakp4Accepted | RakpRefused;

export function encodeRakp4(m: Rakp4): Buffer {
  if (!isAccepted(m)) return rakpHead(m.messageTag, m.statusCode, m.consoleSessionId ?? 0);
  return Buffer.concat([
    rakpHead(m.messageTag, m.statusCode, m.consoleSessionId),
    m.integrityCheckValue,
  ]);
}

export function decodeRakp4(payload: Buffer): Rakp4 {
  const r = new Reader(payload, "RAKP 4");
  const messageTag = r.u8("message tag");
  const statusCode = r.u8("status code");
  if (statusCode !== 0) return readRakpRefusal(r, messageTag, statusCode);
  r.skip(2, "reserved");
  const consoleSessionId = r.u32le("remote console session ID");
  return { messageTag, statusCode: 0, consoleSessionId, integrityCheckValue: r.rest() };
}

/** RAKP 2, 3 and 4 start alike: message tag, status code, 2 reserved bytes, a session ID. */
function rakpHead(messageTag: number, statusCode: number, sessionId: number): Buffer {
  const head = Buffer.alloc(8);
  head[0] = messageTag & 0xff;
  head[1] = statusCode & 0xff;
  head.writeUInt32LE(sessionId >>> 0, 4);
  return head;
}

/** The rest of a RAKP 2 or 4 refusal, which may end right after its status code. */
function readRakpRefusal(r: Reader, messageTag: number, statusCode: number): RakpRefused {
  if (r.remaining < 6) return { messageTag, statusCode };
  r.skip(2, "reserved");
  return { messageTag, statusCode, consoleSessionId: r.u32le("remote console session ID") };
}
