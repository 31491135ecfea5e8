/**
 * HTTP/1.1 as a Redfish client needs it, pure: a request becomes bytes, bytes become responses.
 * No sockets, no clock. The connection layer (connection.ts) owns the TLS socket and its timers;
 * keeping the codec here lets it be tested byte for byte and lets the connection check the BMC's
 * certificate before a single byte (credentials included) is written.
 *
 * What a BMC sends: a status line, headers, then a body framed by Content-Length, by chunked
 * transfer coding, or by the end of the connection; 1xx interim answers are skipped. Sizes are
 * bounded so that a broken BMC cannot make the agent hold unbounded memory.
 */
import { RedfishProtocolError } from "./errors.js";

export type Method = "GET" | "POST" | "DELETE";

export interface HttpRequest {
  readonly method: Method;
  /** The request target: an absolute path (and query), as Redfish URIs are. */
  readonly path: string;
  /** Header name → value; names as they should be sent. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

export interface HttpResponse {
  readonly status: number;
  readonly reason: string;
  /** Lower-case header names; repeated headers joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
  /** May the connection carry another request after this response? */
  readonly keepAlive: boolean;
}

/** Longest status line plus headers accepted. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Largest body accepted: a ComputerSystem resource is tens of kilobytes. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Bytes that may not appear in a request target or a header value (no header injection). */
const UNSAFE_TARGET = /[^\x21-\x7e]/;
const UNSAFE_VALUE = /[\r\n\0]/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Checks a request target: an absolute path of visible ASCII (a BMC's URIs are used as given). */
export function checkTarget(path: string): void {
  if (!path.startsWith("/") || UNSAFE_TARGET.test(path))
    throw new RedfishProtocolError(
      `not a usable Redfish URI: ${JSON.stringify(path.slice(0, 120))}`,
    );
}

/** The bytes of one request. Content-Length is always sent for a body, and 0 for a bodiless POST. */
export function encodeRequest(request: HttpRequest): Buffer {
  checkTarget(request.path);
  const lines = [`${request.method} ${request.path} HTTP/1.1`];
  for (const [name, value] of Object.entries(request.headers)) {
    if (!TOKEN.test(name) || UNSAFE_VALUE.test(value))
      throw new RedfishProtocolError(`header ${JSON.stringify(name)} cannot be sent`);
    lines.push(`${name}: ${value}`);
  }
  const body = request.body ?? Buffer.alloc(0);
  if (body.length > 0 || request.method === "POST") lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), body]);
}

type Framing =
  | { readonly kind: "none" }
  | { readonly kind: "length"; readonly length: number }
  | { readonly kind: "chunked" }
  | { readonly kind: "close" };

interface Head {
  readonly version: "1.0" | "1.1";
  readonly status: number;
  readonly reason: string;
  readonly headers: Map<string, string>;
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;

function parseHead(text: string): Head {
  const lines = text.split("\r\n");
  const match = STATUS_LINE.exec(lines[0] ?? "");
  if (match === null)
    throw new RedfishProtocolError(
      `the BMC did not answer in HTTP/1.x (${JSON.stringify((lines[0] ?? "").slice(0, 40))})`,
    );
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new RedfishProtocolError("the BMC sent a malformed HTTP header line");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  return {
    version: match[1] === "0" ? "1.0" : "1.1",
    status: Number(match[2]),
    reason: match[3] ?? "",
    headers,
  };
}

function framingOf(head: Head): Framing {
  if (head.status === 204 || head.status === 304) return { kind: "none" };
  const te = head.headers.get("transfer-encoding");
  if (te !== undefined) {
    if (te.toLowerCase().split(",").pop()?.trim() === "chunked") return { kind: "chunked" };
    return { kind: "close" };
  }
  const cl = head.headers.get("content-length");
  if (cl !== undefined) {
    // Repeated identical values ("12, 12") are tolerated, as browsers do; anything else is not.
    const values = new Set(cl.split(",").map((v) => v.trim()));
    const [only] = values;
    if (values.size !== 1 || only === undefined || !/^\d{1,10}$/.test(only))
      throw new RedfishProtocolError("the BMC sent an invalid Content-Length");
    const length = Number(only);
    if (length > MAX_BODY_BYTES) throw tooLarge();
    return { kind: "length", length };
  }
  return { kind: "close" };
}

function wantsKeepAlive(head: Head, framing: Framing): boolean {
  if (framing.kind === "close") return false;
  const tokens = (head.headers.get("connection") ?? "")
    .toLowerCase()
    .split(",")
    .map((t) => t.trim());
  if (tokens.includes("close")) return false;
  return head.version === "1.1" || tokens.includes("keep-alive");
}

function tooLarge(): RedfishProtocolError {
  return new RedfishProtocolError(
    `the BMC's answer is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`,
  );
}

/**
 * Reads one response to one request, fed in pieces as they arrive. `feed` returns the response
 * once it is complete (bytes past it are an error: no pipelining here); `end` is called when the
 * connection closed and returns the response if the close completed it (a body framed by close).
 */
export class ResponseReader {
  private buffer: Buffer = Buffer.alloc(0);
  private head: Head | undefined;
  private framing: Framing | undefined;
  private readonly chunks: Buffer[] = [];
  private bodyBytes = 0;
  /** Chunked coding: bytes still due in the current chunk, or undefined while reading a size line. */
  private chunkLeft: number | undefined;
  private trailers = false;
  private done: HttpResponse | undefined;

  /** Has any byte of the answer arrived? (A connection reset before that may be retried.) */
  get started(): boolean {
    return this.head !== undefined || this.buffer.length > 0;
  }

  feed(data: Buffer): HttpResponse | undefined {
    if (this.done !== undefined) {
      if (data.length > 0)
        throw new RedfishProtocolError("the BMC sent bytes after its complete answer");
      return this.done;
    }
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    for (;;) {
      if (this.head === undefined) {
        const end = this.buffer.indexOf("\r\n\r\n");
        if (end === -1) {
          if (this.buffer.length > MAX_HEAD_BYTES)
            throw new RedfishProtocolError("the BMC's HTTP headers are too long");
          return undefined;
        }
        const head = parseHead(this.buffer.subarray(0, end).toString("latin1"));
        this.buffer = this.buffer.subarray(end + 4);
        if (head.status >= 100 && head.status < 200) continue; // 100 Continue and the like
        this.head = head;
        this.framing = framingOf(head);
      }
      const result = this.readBody();
      if (result !== undefined && this.buffer.length > 0 && this.framing?.kind !== "close")
        throw new RedfishProtocolError("the BMC sent bytes after its complete answer");
      return result;
    }
  }

  /** The connection closed: the answer, if the close completes it; else a protocol error. */
  end(): HttpResponse {
    if (this.done !== undefined) return this.done;
    if (this.head !== undefined && this.framing?.kind === "close") {
      this.done = this.finish(false);
      return this.done;
    }
    throw new RedfishProtocolError(
      this.started
        ? "the BMC closed the connection in the middle of its answer"
        : "the BMC closed the connection without answering",
    );
  }

  private take(n: number): void {
    if (n === 0) return;
    this.bodyBytes += n;
    if (this.bodyBytes > MAX_BODY_BYTES) throw tooLarge();
    this.chunks.push(this.buffer.subarray(0, n));
    this.buffer = this.buffer.subarray(n);
  }

  private readBody(): HttpResponse | undefined {
    const framing = this.framing as Framing;
    switch (framing.kind) {
      case "none":
        return (this.done = this.finish(true));
      case "length": {
        this.take(Math.min(this.buffer.length, framing.length - this.bodyBytes));
        return this.bodyBytes === framing.length ? (this.done = this.finish(true)) : undefined;
      }
      case "close":
        this.take(this.buffer.length);
        return undefined;
      case "chunked":
        return this.readChunks();
    }
  }

  private readChunks(): HttpResponse | undefined {
    for (;;) {
      if (this.trailers) {
        // Trailer fields end with an empty line; their content is not used.
        const end = this.buffer.indexOf("\r\n");
        if (end === -1) return undefined;
        const line = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end + 2);
        if (line.length === 0) return (this.done = this.finish(true));
        continue;
      }
      if (this.chunkLeft === undefined) {
        const end = this.buffer.indexOf("\r\n");
        if (end === -1) {
          if (this.buffer.length > 1024)
            throw new RedfishProtocolError("the BMC sent a malformed chunk size");
          return undefined;
        }
        const sizeText = this.buffer.subarray(0, end).toString("latin1").split(";")[0]?.trim();
        if (sizeText === undefined || !/^[0-9a-fA-F]{1,8}$/.test(sizeText))
          throw new RedfishProtocolError("the BMC sent a malformed chunk size");
        this.buffer = this.buffer.subarray(end + 2);
        const size = Number.parseInt(sizeText, 16);
        if (size === 0) {
          this.trailers = true;
          continue;
        }
        if (this.bodyBytes + size > MAX_BODY_BYTES) throw tooLarge();
        this.chunkLeft = size;
      }
      if (this.chunkLeft > 0) {
        const n = Math.min(this.buffer.length, this.chunkLeft);
        this.take(n);
        this.chunkLeft -= n;
        if (this.chunkLeft > 0) return undefined;
      }
      // The chunk's data is followed by CRLF.
      if (this.buffer.length < 2) return undefined;
      if (this.buffer[0] !== 0x0d || this.buffer[1] !== 0x0a)
        throw new RedfishProtocolError("the BMC sent a malformed chunk");
      this.buffer = this.buffer.subarray(2);
      this.chunkLeft = undefined;
    }
  }

  private finish(complete: boolean): HttpResponse {
    const head = this.head as Head;
    const framing = this.framing as Framing;
    return {
      status: head.status,
      reason: head.reason,
      headers: head.headers,
      body: this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks),
      keepAlive: complete && wantsKeepAlive(head, framing),
    };
  }
}
