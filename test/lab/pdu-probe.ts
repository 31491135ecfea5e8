// A minimal SNMPv2c GET for the PDU lab's readiness check: enough BER to
// ask one agent for a few OIDs and read back whether each has a value.
// Deliberately independent of lib/snmp (the code under test) and of the
// net-snmp command-line tools (checked separately by the tests).

import { pollUdp } from "./ports.js";

export interface ProbeVarbind {
  oid: string;
  /** BER tag of the value: 0x02 INTEGER, 0x04 OCTET STRING, 0x06 OID, 0x80-0x82 exceptions. */
  tag: number;
  /** The value: a number (INTEGER), string (OCTET STRING, as latin1), dotted OID; undefined otherwise. */
  value: number | string | undefined;
}

export interface ProbeResponse {
  errorStatus: number;
  errorIndex: number;
  varbinds: ProbeVarbind[];
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

function encodeInteger(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v !== 0 && v !== -1);
  if (n >= 0 && (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  if (n < 0 && (bytes[0]! & 0x80) === 0) bytes.unshift(0xff);
  return tlv(0x02, Buffer.from(bytes));
}

function encodeOid(oid: string): Buffer {
  const arcs = oid.replace(/^\./, "").split(".").map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isInteger(a) || a < 0))
    throw new Error(`bad OID '${oid}'`);
  const bytes: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128))
      chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** An SNMPv2c GetRequest for `oids`. */
export function encodeGetRequest(
  community: string,
  requestId: number,
  oids: readonly string[],
): Buffer {
  const varbinds = oids.map((oid) =>
    tlv(0x30, Buffer.concat([encodeOid(oid), Buffer.from([0x05, 0x00])])),
  );
  const pdu = tlv(
    0xa0,
    Buffer.concat([
      encodeInteger(requestId),
      encodeInteger(0),
      encodeInteger(0),
      tlv(0x30, Buffer.concat(varbinds)),
    ]),
  );
  return tlv(
    0x30,
    Buffer.concat([encodeInteger(1), tlv(0x04, Buffer.from(community, "latin1")), pdu]),
  );
}

interface Tlv {
  tag: number;
  body: Buffer;
  next: number;
}

function readTlv(buf: Buffer, at: number): Tlv {
  if (at + 2 > buf.length) throw new Error("truncated");
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    if (count === 0 || count > 4 || start + count > buf.length) throw new Error("bad length");
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + buf[start + i]!;
    start += count;
  }
  if (start + len > buf.length) throw new Error("truncated");
  return { tag, body: buf.subarray(start, start + len), next: start + len };
}

function children(body: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < body.length;) {
    const t = readTlv(body, at);
    out.push(t);
    at = t.next;
  }
  return out;
}

function decodeInteger(body: Buffer): number {
  let v = body.length > 0 && (body[0]! & 0x80) !== 0 ? -1 : 0;
  for (const b of body) v = v * 256 + b;
  return v;
}

function decodeOid(body: Buffer): string {
  if (body.length === 0) return "";
  const arcs = [
    Math.min(2, Math.floor(body[0]! / 40)),
    body[0]! - Math.min(2, Math.floor(body[0]! / 40)) * 40,
  ];
  let v = 0;
  for (const b of body.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  return arcs.join(".");
}

/** Decode a v2c Response PDU; undefined for anything else (or if `requestId` differs). */
export function decodeResponse(buf: Buffer, requestId?: number): ProbeResponse | undefined {
  try {
    const msg = readTlv(buf, 0);
    if (msg.tag !== 0x30) return undefined;
    const [, , pdu] = children(msg.body);
    if (!pdu || pdu.tag !== 0xa2) return undefined;
    const [id, status, index, list] = children(pdu.body);
    if (!id || !status || !index || !list) return undefined;
    if (requestId !== undefined && decodeInteger(id.body) !== requestId) return undefined;
    const varbinds = children(list.body).map((vb) => {
      const [name, value] = children(vb.body);
      if (!name || !value) throw new Error("bad varbind");
      let decoded: number | string | undefined;
      if (value.tag === 0x02) decoded = decodeInteger(value.body);
      else if (value.tag === 0x04) decoded = value.body.toString("latin1");
      else if (value.tag === 0x06) decoded = decodeOid(value.body);
      return { oid: decodeOid(name.body), tag: value.tag, value: decoded };
    });
    return {
      errorStatus: decodeInteger(status.body),
      errorIndex: decodeInteger(index.body),
      varbinds,
    };
  } catch {
    return undefined;
  }
}

/**
 * Send a v2c GET for `oids` every 250 ms until an answer comes, `deadline`
 * (a Date.now() value) passes, or `shouldStop()` says so.
 */
export function probeGet(
  host: string,
  port: number,
  community: string,
  oids: readonly string[],
  deadline: number,
  shouldStop: () => boolean = () => false,
): Promise<ProbeResponse | undefined> {
  const requestId = 1 + Math.floor(Math.random() * 0x7ffffffe);
  const request = encodeGetRequest(community, requestId, oids);
  return pollUdp(
    host,
    port,
    request,
    (buf) => decodeResponse(buf, requestId),
    deadline,
    shouldStop,
    250,
  );
}
