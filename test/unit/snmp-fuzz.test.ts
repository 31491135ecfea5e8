/**
 * Hostile answers through the whole SNMP client (net-snmp's decoder and our mapping): every
 * request is answered with a mutated response. Whatever comes back, the client either resolves
 * with typed values or rejects with a typed SnmpError; nothing escapes, nothing hangs.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { asGetResponse, loopbackDatagrams, openSnmp } from "../../lib/snmp/client.js";
import { SnmpError } from "../../lib/snmp/errors.js";

/** xorshift32: the same mutations on every run. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function mutate(packet: Buffer, random: () => number): Buffer {
  const out = Buffer.from(packet);
  switch (Math.floor(random() * 4)) {
    case 0: // flip a few bytes
      for (let i = 0; i < 1 + Math.floor(random() * 4); i += 1)
        out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
      return out;
    case 1: // truncate
      return out.subarray(0, Math.floor(random() * out.length));
    case 2: // trailing junk
      return Buffer.concat([
        out,
        Buffer.from(
          Array.from({ length: 1 + Math.floor(random() * 16) }, () => Math.floor(random() * 256)),
        ),
      ]);
    default: // corrupt a length byte
      out[1 + Math.floor(random() * Math.min(8, out.length - 1))] = Math.floor(random() * 256);
      return out;
  }
}

describe("SNMP client under hostile answers", () => {
  it("resolves with typed values or rejects with an SnmpError, for 600 mutated responses", async () => {
    const random = prng(2026);
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on("uncaughtException", onUncaught);
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 600 }, async () => {
          const answer = (request: Buffer) => {
            const response = asGetResponse(request);
            return response === undefined ? undefined : mutate(response, random);
          };
          const client = openSnmp(
            { host: "127.0.0.1", port: 161, version: "2c", transport: "udp4", community: "public" },
            200,
            undefined,
            loopbackDatagrams(answer),
          );
          try {
            const values = await client.get(["1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.1"]);
            for (const v of values)
              assert.ok(["integer", "string", "oid", "missing", "other"].includes(v.kind));
            return "resolved";
          } catch (err) {
            assert.ok(err instanceof SnmpError, `not an SnmpError: ${String(err)}`);
            assert.doesNotMatch(err.message, /\n/);
            return "rejected";
          } finally {
            client.close();
          }
        }),
      );
      assert.equal(outcomes.length, 600);
      assert.ok(outcomes.includes("rejected"));
    } finally {
      process.off("uncaughtException", onUncaught);
    }
    assert.deepEqual(uncaught, []);
  });

  it("never reads a value of the wrong type as a number", async () => {
    // A response whose value is an OCTET STRING "2" where the state integer belongs.
    const answer = (request: Buffer) => {
      const response = asGetResponse(request);
      if (response === undefined) return undefined;
      // Replace the trailing NULL (05 00) with OCTET STRING "2" (04 01 32), fixing the lengths.
      const body = Buffer.concat([
        response.subarray(0, response.length - 2),
        Buffer.from([0x04, 0x01, 0x32]),
      ]);
      for (const at of [1, body.indexOf(0xa2) + 1]) body[at] = (body[at] as number) + 1;
      const varbindList = body.indexOf(
        0x30,
        body.indexOf(0x02, body.indexOf(0x02, body.indexOf(0x02, body.indexOf(0xa2)) + 1) + 1) + 1,
      );
      body[varbindList + 1] = (body[varbindList + 1] as number) + 1;
      body[varbindList + 3] = (body[varbindList + 3] as number) + 1;
      return body;
    };
    const client = openSnmp(
      { host: "127.0.0.1", port: 161, version: "2c", transport: "udp4", community: "public" },
      500,
      undefined,
      loopbackDatagrams(answer),
    );
    try {
      const [value] = await client.get(["1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.1"]);
      assert.deepEqual(value, { kind: "string", value: "2" });
    } finally {
      client.close();
    }
  });
});
