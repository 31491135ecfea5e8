/**
 * RMCP+ cipher suites (section 22.15.2) and the cryptography of an IPMI 2.0 session: the RAKP key
 * exchange codes (section 13.31), session keys SIK/K1/K2 (section 13.32), the integrity AuthCode
 * (section 13.28.4) and AES-CBC-128 confidentiality (section 13.29). All pure: keys, nonces and
 * IVs come in as arguments.
 */
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import { hex } from "./bytes.js";
import { IpmiConfigError, IpmiIntegrityError } from "./errors.js";

export const AuthenticationAlgorithm = {
  RAKP_none: 0x00,
  RAKP_HMAC_SHA1: 0x01,
  RAKP_HMAC_MD5: 0x02,
  RAKP_HMAC_SHA256: 0x03,
} as const;

export const IntegrityAlgorithm = {
  none: 0x00,
  HMAC_SHA1_96: 0x01,
  HMAC_MD5_128: 0x02,
  MD5_128: 0x03,
  HMAC_SHA256_128: 0x04,
} as const;

export const ConfidentialityAlgorithm = {
  none: 0x00,
  AES_CBC_128: 0x01,
  xRC4_128: 0x02,
  xRC4_40: 0x03,
} as const;

export interface CipherSuite {
  id: number;
  authentication: number;
  integrity: number;
  confidentiality: number;
}

/**
 * The suites kvmha implements. 3 (SHA-1) and 17 (SHA-256) are the ones to use; 0-2 and 15-16 lack
 * integrity or confidentiality and are accepted only when configured explicitly. The MD5-based
 * suites (6-14) are not implemented.
 */
const SUITES: readonly CipherSuite[] = [
  { id: 0, authentication: 0x00, integrity: 0x00, confidentiality: 0x00 },
  { id: 1, authentication: 0x01, integrity: 0x00, confidentiality: 0x00 },
  { id: 2, authentication: 0x01, integrity: 0x01, confidentiality: 0x00 },
  { id: 3, authentication: 0x01, integrity: 0x01, confidentiality: 0x01 },
  { id: 15, authentication: 0x03, integrity: 0x00, confidentiality: 0x00 },
  { id: 16, authentication: 0x03, integrity: 0x04, confidentiality: 0x00 },
  { id: 17, authentication: 0x03, integrity: 0x04, confidentiality: 0x01 },
];

export const SUPPORTED_CIPHER_SUITES: readonly number[] = SUITES.map((s) => s.id);

/** Tried in this order when no cipher suite is configured; both authenticate and encrypt. */
export const DEFAULT_CIPHER_SUITE_PREFERENCE: readonly number[] = [17, 3];

export function cipherSuite(id: number): CipherSuite {
  const suite = SUITES.find((s) => s.id === id);
  if (!suite) {
    throw new IpmiConfigError(
      `cipher suite ${id} is not supported (supported: ${SUPPORTED_CIPHER_SUITES.join(", ")})`,
    );
  }
  return suite;
}

type Hash = "sha1" | "sha256";

function authenticationHash(suite: CipherSuite): Hash | undefined {
  switch (suite.authentication) {
    case AuthenticationAlgorithm.RAKP_HMAC_SHA1:
      return "sha1";
    case AuthenticationAlgorithm.RAKP_HMAC_SHA256:
      return "sha256";
    case AuthenticationAlgorithm.RAKP_none:
      return undefined;
    default:
      throw new IpmiConfigError(
        `authentication algorithm ${hex(suite.authentication)} is not supported`,
      );
  }
}

function integrityHash(suite: CipherSuite): { hash: Hash; length: number } | undefined {
  switch (suite.integrity) {
    case IntegrityAlgorithm.HMAC_SHA1_96:
      return { hash: "sha1", length: 12 };
    case IntegrityAlgorithm.HMAC_SHA256_128:
      return { hash: "sha256", length: 16 };
    case IntegrityAlgorithm.none:
      return undefined;
    default:
      throw new IpmiConfigError(`integrity algorithm ${hex(suite.integrity)} is not supported`);
  }
}

/** Length of the Key Exchange Authentication Code in RAKP messages 2 and 3: the full HMAC. */
export function keyExchangeAuthCodeLength(suite: CipherSuite): number {
  const hash = authenticationHash(suite);
  return hash === "sha1" ? 20 : hash === "sha256" ? 32 : 0;
}

/** Length of RAKP message 4's Integrity Check Value: HMAC-SHA1-96 or HMAC-SHA256-128. */
export function rakp4IcvLength(suite: CipherSuite): number {
  const hash = authenticationHash(suite);
  return hash === "sha1" ? 12 : hash === "sha256" ? 16 : 0;
}

/** Length of the AuthCode in the trailer of authenticated session packets. */
export function integrityAuthCodeLength(suite: CipherSuite): number {
  return integrityHash(suite)?.length ?? 0;
}

export function hasConfidentiality(suite: CipherSuite): boolean {
  return suite.confidentiality !== ConfidentialityAlgorithm.none;
}

/** IPMI 2.0 passwords (and Kg) are at most 20 bytes. */
export const USER_KEY_LENGTH = 20;

/**
 * Kuid, the user's key: the password zero-padded to 20 bytes. (HMAC pads keys with zeros anyway,
 * but the fixed length keeps the value identical to the spec's.)
 */
export function userKey(password: string): Buffer {
  const bytes = Buffer.from(password, "utf8");
  if (bytes.length > USER_KEY_LENGTH) {
    throw new IpmiConfigError(`IPMI 2.0 passwords are at most ${USER_KEY_LENGTH} bytes`);
  }
  const key = Buffer.alloc(USER_KEY_LENGTH);
  bytes.copy(key);
  return key;
}

/** Kg, the BMC key, from hexadecimal_kg: at most 20 bytes, zero-padded. */
export function bmcKey(kg: Buffer): Buffer {
  if (kg.length > USER_KEY_LENGTH)
    throw new IpmiConfigError(`Kg is at most ${USER_KEY_LENGTH} bytes`);
  const key = Buffer.alloc(USER_KEY_LENGTH);
  kg.copy(key);
  return key;
}

/** Everything the RAKP exchange mixes into its codes, as the bytes appear on the wire. */
export interface RakpValues {
  /** SIDm: the remote console's session ID (ours), little-endian on the wire. */
  consoleSessionId: number;
  /** SIDc: the managed system's (BMC's) session ID. */
  managedSystemSessionId: number;
  /** Rm: our 16-byte random number from RAKP message 1. */
  consoleRandom: Buffer;
  /** Rc: the BMC's 16-byte random number from RAKP message 2. */
  managedSystemRandom: Buffer;
  /** GUIDc: the BMC's GUID from RAKP message 2. */
  managedSystemGuid: Buffer;
  /** RoleM: the requested maximum privilege byte of RAKP message 1, lookup bit included. */
  requestedRole: number;
  username: Buffer;
}

function hmac(hash: Hash, key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function sid(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function roleAndName(v: RakpValues): Buffer {
  return Buffer.concat([
    Buffer.from([v.requestedRole & 0xff, v.username.length & 0xff]),
    v.username,
  ]);
}

/** RAKP 2 code: HMAC_Kuid(SIDm, SIDc, Rm, Rc, GUIDc, RoleM, ULengthM, UNameM). */
export function rakp2KeyExchangeAuthCode(suite: CipherSuite, kuid: Buffer, v: RakpValues): Buffer {
  const hash = authenticationHash(suite);
  if (!hash) return Buffer.alloc(0);
  return hmac(
    hash,
    kuid,
    sid(v.consoleSessionId),
    sid(v.managedSystemSessionId),
    v.consoleRandom,
    v.managedSystemRandom,
    v.managedSystemGuid,
    roleAndName(v),
  );
}

/** RAKP 3 code: HMAC_Kuid(Rc, SIDm, RoleM, ULengthM, UNameM). */
export function rakp3KeyExchangeAuthCode(suite: CipherSuite, kuid: Buffer, v: RakpValues): Buffer {
  const hash = authenticationHash(suite);
  if (!hash) return Buffer.alloc(0);
  return hmac(hash, kuid, v.managedSystemRandom, sid(v.consoleSessionId), roleAndName(v));
}

/**
 * SIK = HMAC_KG(Rm, Rc, RoleM, ULengthM, UNameM). Without a configured Kg (the usual case) the
 * spec keys it with Kuid instead.
 */
export function deriveSik(suite: CipherSuite, kgOrKuid: Buffer, v: RakpValues): Buffer {
  const hash = authenticationHash(suite);
  if (!hash) return Buffer.alloc(0);
  return hmac(hash, kgOrKuid, v.consoleRandom, v.managedSystemRandom, roleAndName(v));
}

/** Length of the constants 01h.., 02h.. keyed by the SIK: 20 bytes for every algorithm. */
const KEY_CONSTANT_LENGTH = 20;

/** Kn = HMAC_SIK(Const n), Const n being 20 bytes of n. K1 keys integrity, K2 confidentiality. */
export function deriveAdditionalKey(suite: CipherSuite, sik: Buffer, n: number): Buffer {
  const hash = authenticationHash(suite);
  if (!hash) return Buffer.alloc(0);
  return hmac(hash, sik, Buffer.alloc(KEY_CONSTANT_LENGTH, n));
}

/** RAKP 4 ICV: HMAC_SIK(Rm, SIDc, GUIDc), truncated to 12 (SHA-1) or 16 (SHA-256) bytes. */
export function rakp4IntegrityCheckValue(suite: CipherSuite, sik: Buffer, v: RakpValues): Buffer {
  const hash = authenticationHash(suite);
  if (!hash) return Buffer.alloc(0);
  return hmac(
    hash,
    sik,
    v.consoleRandom,
    sid(v.managedSystemSessionId),
    v.managedSystemGuid,
  ).subarray(0, rakp4IcvLength(suite));
}

export interface SessionKeys {
  sik: Buffer;
  k1: Buffer;
  k2: Buffer;
}

export function deriveSessionKeys(
  suite: CipherSuite,
  kuid: Buffer,
  kg: Buffer | undefined,
  v: RakpValues,
): SessionKeys {
  const sik = deriveSik(suite, kg ?? kuid, v);
  return { sik, k1: deriveAdditionalKey(suite, sik, 1), k2: deriveAdditionalKey(suite, sik, 2) };
}

/** AuthCode over the session packet from Auth Type through Next Header, truncated per algorithm. */
export function integrityAuthCode(suite: CipherSuite, k1: Buffer, covered: Buffer): Buffer {
  const integrity = integrityHash(suite);
  if (!integrity) return Buffer.alloc(0);
  return hmac(integrity.hash, k1, covered).subarray(0, integrity.length);
}

export const AES_BLOCK = 16;

/** AES-CBC-128 uses the first 16 bytes of K2. */
function aesKey(k2: Buffer): Buffer {
  if (k2.length < 16) throw new IpmiConfigError("K2 is shorter than an AES-128 key");
  return k2.subarray(0, 16);
}

/**
 * Confidentiality Header + encrypted payload + Confidentiality Trailer: IV, then AES-CBC-128 of
 * (payload, pad bytes 01h 02h .., pad length) with the pad bringing the total to a 16-byte
 * multiple. The IV must be fresh random bytes for every packet.
 */
export function encryptPayload(
  suite: CipherSuite,
  k2: Buffer,
  plaintext: Buffer,
  iv: Buffer,
): Buffer {
  if (suite.confidentiality === ConfidentialityAlgorithm.none) return Buffer.from(plaintext);
  if (suite.confidentiality !== ConfidentialityAlgorithm.AES_CBC_128) {
    throw new IpmiConfigError(
      `confidentiality algorithm ${hex(suite.confidentiality)} is not supported`,
    );
  }
  if (iv.length !== AES_BLOCK) throw new IpmiConfigError("AES-CBC-128 needs a 16-byte IV");
  const padLength = (AES_BLOCK - ((plaintext.length + 1) % AES_BLOCK)) % AES_BLOCK;
  const pad = Buffer.alloc(padLength + 1);
  for (let i = 0; i < padLength; i++) pad[i] = i + 1;
  pad[padLength] = padLength;
  const cipher = createCipheriv("aes-128-cbc", aesKey(k2), iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([iv, cipher.update(Buffer.concat([plaintext, pad])), cipher.final()]);
}

/** Inverse of encryptPayload; a payload whose length or pad length does not fit is an integrity error. */
export function decryptPayload(suite: CipherSuite, k2: Buffer, payload: Buffer): Buffer {
  if (suite.confidentiality === ConfidentialityAlgorithm.none) return Buffer.from(payload);
  if (suite.confidentiality !== ConfidentialityAlgorithm.AES_CBC_128) {
    throw new IpmiConfigError(
      `confidentiality algorithm ${hex(suite.confidentiality)} is not supported`,
    );
  }
  if (payload.length < 2 * AES_BLOCK || payload.length % AES_BLOCK !== 0) {
    throw new IpmiIntegrityError(
      `AES-CBC-128 payload of ${payload.length} bytes is not IV + whole blocks`,
    );
  }
  const decipher = createDecipheriv("aes-128-cbc", aesKey(k2), payload.subarray(0, AES_BLOCK));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(payload.subarray(AES_BLOCK)), decipher.final()]);
  const padLength = plain[plain.length - 1]!;
  if (padLength >= AES_BLOCK || padLength + 1 > plain.length) {
    throw new IpmiIntegrityError(`AES-CBC-128 confidentiality pad length ${padLength} is invalid`);
  }
  // The pad bytes should be 01h, 02h, ... but are not checked: the AuthCode already covers them,
  // and rejecting a BMC that pads differently would buy nothing.
  return plain.subarray(0, plain.length - 1 - padLength);
}
