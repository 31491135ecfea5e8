import { timingSafeEqual } from "node:crypto";
import { IpmiProtocolError } from "./errors.js";

/**
 * A bounds-checked cursor over received bytes. Every read past the end throws IpmiProtocolError
 * naming the structure and field, so decoders never raise RangeError on hostile input and never
 * read outside the buffer they were given.
 */
export class Reader {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = Math.min(end, buf.length);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new IpmiProtocolError(
        `${this.what}: truncated at ${field} (needs ${n} byte(s) at offset ${this.pos}, ${Math.max(0, this.end - this.pos)} left)`,
      );
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  u16le(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32le(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u32be(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A copy, so callers may keep it after the packet buffer is reused. */
  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }

  rest(): Buffer {
    return this.bytes(this.remaining, "rest");
  }

  /** Trailing bytes after a fixed-size structure are a malformed packet, not padding to ignore. */
  expectEnd(): void {
    if (this.pos !== this.end) {
      throw new IpmiProtocolError(
        `${this.what}: ${this.end - this.pos} unexpected trailing byte(s)`,
      );
    }
  }
}

/** IPMB two's-complement checksum: the covered bytes plus the checksum sum to 0 mod 256. */
export function ipmbChecksum(buf: Buffer, start = 0, end = buf.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + buf[i]!) & 0xff;
  return (0x100 - sum) & 0xff;
}

export function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

export function hex(n: number, width = 2): string {
  return "0x" + n.toString(16).toUpperCase().padStart(width, "0");
}

/** Compares MACs without leaking, through timing, how many leading bytes matched. */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
