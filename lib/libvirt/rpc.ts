/**
 * The few calls of libvirt's RPC protocol (the remote program spoken on libvirtd's UNIX socket)
 * that a monitor needs to read one domain's state: list the auth types, pass polkit (root is let
 * through), open the connection, look the domain up by name, get its state and reason, close.
 * Pure: values in, bytes out and bytes in, values out; lib/libvirt/remote.ts does the I/O.
 *
 * Wire format (RFC 4506 XDR, big-endian, 4-byte aligned): every message is a 4-byte total length,
 * a header (program, version, procedure, type, serial, status) and the procedure's body. A reply
 * with status ERROR carries a remote_error instead.
 */

export const REMOTE_PROGRAM = 0x20008086;
export const REMOTE_PROTOCOL_VERSION = 1;

/** The procedures used here (remote_protocol.x numbers). */
export const Proc = {
  CONNECT_OPEN: 1,
  CONNECT_CLOSE: 2,
  DOMAIN_LOOKUP_BY_NAME: 23,
  AUTH_LIST: 66,
  AUTH_POLKIT: 70,
  DOMAIN_GET_STATE: 212,
} as const;

export const MessageType = { CALL: 0, REPLY: 1 } as const;
export const MessageStatus = { OK: 0, ERROR: 1 } as const;

/** remote_auth_type. */
export const AuthType = { NONE: 0, SASL: 1, POLKIT: 2 } as const;

/** virErrorNumber VIR_ERR_NO_DOMAIN: the domain does not exist. */
export const ERR_NO_DOMAIN = 42;

const HEADER_BYTES = 24;
/** libvirt's own cap on one message (virnetprotocol.x VIR_NET_MESSAGE_MAX): a longer length is garbage. */
export const MESSAGE_MAX = 32 * 1024 * 1024;

/** Bytes that are not a message this client can read: the caller falls back to virsh. */
export class RpcProtocolError extends Error {
  override readonly name = "RpcProtocolError";
}

// --- XDR ---

export class XdrWriter {
  private readonly parts: Buffer[] = [];

  int(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }

  uint(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
    return this;
  }

  /** A string: length, bytes, zero padding to 4. */
  string(s: string): this {
    const bytes = Buffer.from(s, "utf8");
    this.uint(bytes.length);
    this.parts.push(bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4));
    return this;
  }

  /** An optional string (remote_string, a pointer): present flag, then the string. */
  optionalString(s: string | undefined): this {
    if (s === undefined) return this.uint(0);
    return this.uint(1).string(s);
  }

  /** Fixed-length opaque data (a UUID): the bytes, padded to 4. */
  fixedOpaque(bytes: Uint8Array): this {
    this.parts.push(Buffer.from(bytes), Buffer.alloc((4 - (bytes.length % 4)) % 4));
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class XdrReader {
  private offset = 0;

  constructor(private readonly buf: Buffer) {}

  private need(n: number, what: string): void {
    if (this.offset + n > this.buf.length)
      throw new RpcProtocolError(`truncated ${what} at byte ${this.offset} of ${this.buf.length}`);
  }

  int(): number {
    this.need(4, "int");
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  uint(): number {
    this.need(4, "unsigned int");
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  string(max = MESSAGE_MAX): string {
    const n = this.uint();
    if (n > max) throw new RpcProtocolError(`string of ${n} bytes`);
    const padded = n + ((4 - (n % 4)) % 4);
    this.need(padded, "string");
    const s = this.buf.toString("utf8", this.offset, this.offset + n);
    this.offset += padded;
    return s;
  }

  optionalString(): string | undefined {
    const present = this.uint();
    if (present > 1) throw new RpcProtocolError(`optional flag ${present}`);
    return present === 1 ? this.string() : undefined;
  }

  fixedOpaque(n: number): Buffer {
    const padded = n + ((4 - (n % 4)) % 4);
    this.need(padded, "opaque");
    const b = Buffer.from(this.buf.subarray(this.offset, this.offset + n));
    this.offset += padded;
    return b;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }
}

// --- messages ---

export interface Message {
  readonly program: number;
  readonly version: number;
  readonly proc: number;
  readonly type: number;
  readonly serial: number;
  readonly status: number;
  readonly body: Buffer;
}

/** One CALL, framed: length, header, body. */
export function encodeCall(proc: number, serial: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = new XdrWriter()
    .uint(HEADER_BYTES + 4 + body.length)
    .uint(REMOTE_PROGRAM)
    .uint(REMOTE_PROTOCOL_VERSION)
    .int(proc)
    .int(MessageType.CALL)
    .uint(serial)
    .int(MessageStatus.OK)
    .bytes();
  return Buffer.concat([header, body]);
}

/** One REPLY, framed: what libvirtd sends (for the snapshot warm-up and a scripted daemon in tests). */
export function encodeReply(
  proc: number,
  serial: number,
  body: Buffer = Buffer.alloc(0),
  status: number = MessageStatus.OK,
): Buffer {
  const m = encodeCall(proc, serial, body);
  m.writeInt32BE(MessageType.REPLY, 16);
  m.writeInt32BE(status, 24);
  return m;
}

/**
 * The complete messages at the start of `buf` and what is left over (a message still arriving).
 * Throws RpcProtocolError on a length no message can have.
 */
export function takeMessages(buf: Buffer): { messages: Message[]; rest: Buffer } {
  const messages: Message[] = [];
  let at = 0;
  while (buf.length - at >= 4) {
    const length = buf.readUInt32BE(at);
    if (length < 4 + HEADER_BYTES || length > MESSAGE_MAX)
      throw new RpcProtocolError(`message length ${length}`);
    if (buf.length - at < length) break;
    const r = new XdrReader(buf.subarray(at + 4, at + length));
    messages.push({
      program: r.uint(),
      version: r.uint(),
      proc: r.int(),
      type: r.int(),
      serial: r.uint(),
      status: r.int(),
      body: buf.subarray(at + 4 + HEADER_BYTES, at + length),
    });
    at += length;
  }
  return { messages, rest: buf.subarray(at) };
}

// --- procedure bodies ---

/** remote_nonnull_domain: what every domain call names its domain by. */
export interface RemoteDomain {
  readonly name: string;
  readonly uuid: Buffer;
  /** The running domain's ID, -1 when inactive. */
  readonly id: number;
}

export function connectOpenArgs(name: string, flags = 0): Buffer {
  return new XdrWriter().optionalString(name).uint(flags).bytes();
}

export function lookupByNameArgs(name: string): Buffer {
  return new XdrWriter().string(name).bytes();
}

export function getStateArgs(dom: RemoteDomain, flags = 0): Buffer {
  return new XdrWriter().string(dom.name).fixedOpaque(dom.uuid).int(dom.id).uint(flags).bytes();
}

export function decodeAuthList(body: Buffer): number[] {
  const r = new XdrReader(body);
  const n = r.uint();
  if (n > 20) throw new RpcProtocolError(`${n} auth types`);
  return Array.from({ length: n }, () => r.int());
}

/** remote_auth_polkit_ret: complete (1) or not. */
export function decodeAuthPolkit(body: Buffer): boolean {
  return new XdrReader(body).int() === 1;
}

export function decodeDomain(body: Buffer): RemoteDomain {
  const r = new XdrReader(body);
  return { name: r.string(), uuid: r.fixedOpaque(16), id: r.int() };
}

export function decodeState(body: Buffer): { state: number; reason: number } {
  const r = new XdrReader(body);
  return { state: r.int(), reason: r.int() };
}

/** What a caller needs of a remote_error: the error number and libvirt's message. */
export interface RemoteError {
  readonly code: number;
  readonly domain: number;
  readonly message: string;
}

export function decodeError(body: Buffer): RemoteError {
  const r = new XdrReader(body);
  const code = r.int();
  const domain = r.int();
  const message = r.optionalString() ?? `libvirt error ${code}`;
  return { code, domain, message };
}

// --- states, as virsh names them ---

const STATE_NAMES = [
  "no state",
  "running",
  "idle",
  "paused",
  "in shutdown",
  "shut off",
  "crashed",
  "pmsuspended",
];

/** virDomain*Reason, per state, in virsh's words (virsh-domain-monitor.c). */
const REASON_NAMES: readonly (readonly string[])[] = [
  ["unknown"],
  [
    "unknown",
    "booted",
    "migrated",
    "restored",
    "from snapshot",
    "unpaused",
    "migration canceled",
    "save canceled",
    "event wakeup",
    "crashed",
    "post-copy",
    "post-copy failed",
  ],
  ["unknown"],
  [
    "unknown",
    "user",
    "migrating",
    "saving",
    "dumping",
    "I/O error",
    "watchdog",
    "from snapshot",
    "shutting down",
    "creating snapshot",
    "crashed",
    "starting up",
    "post-copy",
    "post-copy failed",
    "api error",
  ],
  ["unknown", "user"],
  [
    "unknown",
    "shutdown",
    "destroyed",
    "crashed",
    "migrated",
    "saved",
    "failed",
    "from snapshot",
    "daemon",
  ],
  ["unknown", "panicked"],
  ["unknown"],
];

/** The line `virsh domstate --reason` prints for a state and reason, e.g. `paused (I/O error)`. */
export function domstateLine(state: number, reason: number): string {
  const name = STATE_NAMES[state] ?? "no state";
  const why = REASON_NAMES[state]?.[reason] ?? "unknown";
  return `${name} (${why})`;
}
