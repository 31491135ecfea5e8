/**
 * Hostile input: thousands of random and mutated datagrams (seeded, so every run is the same)
 * through every decoder. A decoder may accept or reject, but it may only reject with
 * IpmiProtocolError: no RangeError, no TypeError, no hang.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeGetChannelAuthCapabilitiesResponse } from "../../lib/ipmi/channel-auth.js";
import { decodeGetChassisStatusResponse } from "../../lib/ipmi/chassis.js";
import {
  cipherSuite,
  decryptPayload,
  deriveSessionKeys,
  userKey,
} from "../../lib/ipmi/cipher-suites.js";
import { IpmiProtocolError } from "../../lib/ipmi/errors.js";
import { decodeIpmiRequest, decodeIpmiResponse } from "../../lib/ipmi/message.js";
import { decodeAsfPresencePong, decodeRmcpHeader } from "../../lib/ipmi/rmcp.js";
import {
  decodeOpenSessionRequest,
  decodeOpenSessionResponse,
  decodeRakp1,
  decodeRakp2,
  decodeRakp3,
  decodeRakp4,
  decodeRmcpPlusPacket,
  openSessionPacket,
  type SessionSecurity,
} from "../../lib/ipmi/rmcpplus.js";
import {
  decodeActivateSessionRequest,
  decodeActivateSessionResponse,
  decodeGetSessionChallengeResponse,
  decodeSetSessionPrivilegeLevelResponse,
} from "../../lib/ipmi/session-commands.js";
import {
  decodeSession15Packet,
  passwordKey15,
  verifySession15AuthCode,
} from "../../lib/ipmi/session15.js";
import { loadVector } from "../vectors/ipmi/vectors.js";

/** mulberry32: a small, seedable PRNG, so a failure can be replayed exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = prng(0x1f2e3d4c);
const int = (n: number): number => Math.floor(rand() * n);
const randomBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));

/** Real datagrams and payloads from the captures, as seeds for mutation. */
function seeds(): Buffer[] {
  const out: Buffer[] = [];
  for (const name of [
    "rmcpplus_C3_chassis_status",
    "rmcpplus_C17_rejected",
    "ipmi15_md5_chassis_status",
  ]) {
    for (const p of loadVector(name).packets) {
      const b = Buffer.from(p.hex, "hex");
      out.push(b, b.subarray(4), b.subarray(16), b.subarray(17), b.subarray(30));
    }
  }
  return out;
}

function mutate(seed: Buffer): Buffer {
  const b = Buffer.from(seed);
  switch (int(7)) {
    case 0: // flip bits
      for (let k = 0, n = 1 + int(4); k < n && b.length; k++) b[int(b.length)]! ^= 1 << int(8);
      return b;
    case 1: // truncate
      return b.subarray(0, int(b.length + 1));
    case 2: // extend with junk
      return Buffer.concat([b, randomBytes(1 + int(40))]);
    case 3: // extreme byte values, often landing on length fields
      for (let k = 0, n = 1 + int(3); k < n && b.length; k++)
        b[int(b.length)] = [0x00, 0xff, 0x7f, 0x80, 0x10][int(5)]!;
      return b;
    case 4: // the length fields of RMCP+ (offsets 14/15) and IPMI 1.5 (offset 29 or 13)
      for (const at of [13, 14, 15, 29]) if (at < b.length && rand() < 0.5) b[at] = int(256);
      return b;
    case 5: // splice two halves
      return Buffer.concat([b.subarray(0, int(b.length + 1)), randomBytes(int(20))]);
    default:
      return randomBytes(int(300));
  }
}

const suite3 = cipherSuite(3);
const suite17 = cipherSuite(17);
const values = {
  consoleSessionId: 0xa0a2a3a4,
  managedSystemSessionId: 0xb502,
  consoleRandom: Buffer.alloc(16, 1),
  managedSystemRandom: Buffer.alloc(16, 2),
  managedSystemGuid: Buffer.alloc(16, 3),
  requestedRole: 0x14,
  username: Buffer.from("admin"),
};
const keys3 = deriveSessionKeys(suite3, userKey("secret"), undefined, values);
const keys17 = deriveSessionKeys(suite17, userKey("secret"), undefined, values);
const security3: SessionSecurity = { suite: suite3, k1: keys3.k1, k2: keys3.k2 };
const security17: SessionSecurity = { suite: suite17, k1: keys17.k1, k2: keys17.k2 };
const key15 = passwordKey15("secret");

const decoders: Record<string, (b: Buffer) => unknown> = {
  decodeRmcpHeader,
  decodeAsfPresencePong,
  decodeIpmiRequest,
  decodeIpmiResponse,
  decodeGetChannelAuthCapabilitiesResponse,
  decodeSession15Packet,
  verifySession15AuthCode: (b) => verifySession15AuthCode(decodeSession15Packet(b), key15),
  decodeGetSessionChallengeResponse,
  decodeActivateSessionRequest,
  decodeActivateSessionResponse,
  decodeSetSessionPrivilegeLevelResponse,
  decodeRmcpPlusPacket: (b) => decodeRmcpPlusPacket(b),
  "decodeRmcpPlusPacket(12)": (b) => decodeRmcpPlusPacket(b, 12),
  "decodeRmcpPlusPacket(16)": (b) => decodeRmcpPlusPacket(b, 16),
  "openSessionPacket(3)": (b) => openSessionPacket(b, security3),
  "openSessionPacket(17)": (b) => openSessionPacket(b, security17),
  decodeOpenSessionRequest,
  decodeOpenSessionResponse,
  decodeRakp1,
  decodeRakp2,
  decodeRakp3,
  decodeRakp4,
  decodeGetChassisStatusResponse,
  "decryptPayload(3)": (b) => decryptPayload(suite3, keys3.k2, b),
};

describe("decoders under hostile input", () => {
  it("only ever throw IpmiProtocolError, for 4000 random and mutated inputs each", () => {
    const pool = seeds();
    const ITERATIONS = 4000;
    const inputs: Buffer[] = [Buffer.alloc(0), Buffer.alloc(1), Buffer.alloc(4096, 0xff)];
    for (let k = 0; k < ITERATIONS; k++)
      inputs.push(k % 4 === 0 ? randomBytes(int(80)) : mutate(pool[int(pool.length)]!));
    let accepted = 0;
    let rejected = 0;
    for (const [name, decode] of Object.entries(decoders)) {
      for (const input of inputs) {
        try {
          decode(input);
          accepted++;
        } catch (err) {
          if (!(err instanceof IpmiProtocolError)) {
            assert.fail(
              `${name}(${input.toString("hex")}) threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
            );
          }
          rejected++;
        }
      }
    }
    // Both outcomes must actually occur, or the mutations are not reaching the decoders.
    assert.ok(accepted > 1000, `accepted ${accepted}`);
    assert.ok(rejected > 1000, `rejected ${rejected}`);
  });

  it("mutated real session packets are all rejected by the session keys they were made with", () => {
    // A capture's own session: any change to an authenticated packet must fail.
    const v = loadVector("rmcpplus_C3_chassis_status");
    const rakp2 = v.packets.find((p) => p.k1)!;
    const security: SessionSecurity = {
      suite: suite3,
      k1: Buffer.from(rakp2.k1!, "hex"),
      k2: Buffer.from(rakp2.k2!, "hex"),
    };
    const sessionPackets = v.packets
      .map((p) => Buffer.from(p.hex, "hex"))
      .filter((b) => b[5] === 0xc0);
    for (let k = 0; k < 2000; k++) {
      const original = sessionPackets[int(sessionPackets.length)]!;
      // The 4-byte RMCP header is outside the AuthCode by design; everything after it is covered.
      const m = Buffer.concat([original.subarray(0, 4), mutate(original.subarray(4))]);
      if (m.equals(original)) continue;
      assert.throws(() => openSessionPacket(m, security), IpmiProtocolError);
    }
  });
});
