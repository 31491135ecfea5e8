/**
 * The one TLS connection to the BMC, and the only place with sockets and timers. It is opened,
 * and the BMC's certificate checked, before any byte is written: with a pinned fingerprint the
 * certificate is not verifiable by a CA at all, so the check has to come after the handshake and
 * before the first request (which carries the credentials). One request at a time; the connection
 * is kept between requests when the BMC allows it, and opened again when the BMC closed it.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import type { Deadline } from "../deadline.js";
import { formatSeconds } from "../ipmi/errors.js";
import {
  RedfishCertificateError,
  type RedfishError,
  RedfishNetworkError,
  RedfishTimeoutError,
} from "./errors.js";
import { type HttpRequest, type HttpResponse, ResponseReader, encodeRequest } from "./http.js";

export type Log = (line: string) => void;

/** How the BMC's certificate is trusted. */
export type Trust =
  /** A CA must vouch for it and it must name the host (`ca`: PEM text; absent: the default CAs). */
  | { readonly kind: "verify"; readonly ca?: string }
  /** Its SHA-256 fingerprint must be one of these (32-byte digests), whoever signed it. */
  | { readonly kind: "pinned"; readonly fingerprints: readonly Buffer[] }
  /** Anything (ssl_insecure). */
  | { readonly kind: "insecure" };

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** The part of a TLS socket the connection uses; a stand-in (the snapshot warm-up) implements it. */
export interface TlsSocketLike {
  readonly authorized: boolean;
  /** Closed (by either side): it cannot carry another request. */
  readonly destroyed?: boolean;
  readonly authorizationError?: Error | string | null;
  getPeerCertificate(detailed?: boolean): { raw?: Buffer } | null;
  write(data: Buffer): unknown;
  destroy(): unknown;
  on(event: "data", listener: (data: Buffer) => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  on(event: "close" | "end" | "secureConnect", listener: () => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

type Listener = (...args: never[]) => void;

/**
 * The listeners one wait put on the socket, so that exactly those come off again: a socket's own
 * listeners (node:net ends a socket the peer ended through one) must stay.
 */
class Listening {
  private readonly added: [string, Listener][] = [];
  constructor(private readonly socket: TlsSocketLike) {}

  on(event: "data", listener: (data: Buffer) => void): void;
  on(event: "error", listener: (err: Error & { code?: string }) => void): void;
  on(event: "close" | "end" | "secureConnect", listener: () => void): void;
  on(event: "data" | "error" | "close" | "end" | "secureConnect", listener: Listener): void {
    this.socket.on(event as "end", listener);
    this.added.push([event, listener]);
  }

  stop(): void {
    for (const [event, listener] of this.added.splice(0))
      this.socket.off(event, listener as (...args: unknown[]) => void);
  }
}

/** Opens the TLS socket; node:tls by default. */
export type TlsConnector = (options: ConnectionOptions) => Promise<TlsSocketLike>;

/**
 * node:tls is loaded on first use, not at module level: the executable's startup snapshot holds
 * this module initialized, and node:tls cannot be in a snapshot (its native bindings are not).
 * The executable has no dynamic import() of built-ins, hence getBuiltinModule (as lib/cli/entry.ts).
 */
const connectTls: TlsConnector = async (options) =>
  process.getBuiltinModule("node:tls").connect(options);

/** What OpenSSL's and Node's verification error codes mean, for the one-line message. */
const VERIFY_ERRORS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in its chain",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "signed by a CA not trusted here",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "signed by a CA not trusted here",
  UNABLE_TO_GET_ISSUER_CERT: "signed by a CA not trusted here",
  CERT_HAS_EXPIRED: "expired",
  CERT_NOT_YET_VALID: "not yet valid",
  ERR_TLS_CERT_ALTNAME_INVALID: "it does not name this host",
};

/** "AB:CD:…": the form `openssl x509 -fingerprint -sha256` prints, for messages. */
export function formatFingerprint(digest: Buffer): string {
  return (digest.toString("hex").toUpperCase().match(/../g) ?? []).join(":");
}

/** The SHA-256 digest of a certificate's DER bytes. */
export function certificateFingerprint(der: Buffer): Buffer {
  return createHash("sha256").update(der).digest();
}

/** host:port as it goes in messages and the Host header ([v6]:port). */
export function hostPort(endpoint: Endpoint): string {
  return `${isIP(endpoint.host) === 6 ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}

function networkError(err: Error & { code?: string }, where: string): RedfishError {
  switch (err.code) {
    case "ECONNREFUSED":
      return new RedfishNetworkError(`${where} refused the connection`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new RedfishNetworkError(`${where}: the host name does not resolve`);
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new RedfishNetworkError(`${where} is unreachable`);
    case "ECONNRESET":
    case "EPIPE":
      return new RedfishNetworkError(`${where} reset the connection`);
    default:
      return new RedfishNetworkError(`${where}: ${err.message}`);
  }
}

export class HttpsConnection {
  private socket: TlsSocketLike | undefined;
  /** What watches the kept connection between requests. */
  private idle: Listening | undefined;
  /** Has the open socket already carried a request (so a reset before any answer may be stale)? */
  private used = false;
  readonly where: string;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly trust: Trust,
    private readonly log: Log,
    private readonly connector: TlsConnector = connectTls,
  ) {
    this.where = `BMC ${hostPort(endpoint)}`;
  }

  /** Connects and checks the certificate now (the login step), if not connected yet. */
  async open(deadline: Deadline): Promise<void> {
    if (this.socket?.destroyed === true) this.close();
    if (this.socket === undefined) this.socket = await this.connect(deadline);
  }

  /**
   * Sends one request and reads its answer, by `deadline` (connecting first if needed). An answer
   * of any status is returned; only a failure to get one throws. A kept connection the BMC closed
   * meanwhile (no byte of answer) is opened again once and the request sent again.
   */
  async request(request: HttpRequest, deadline: Deadline): Promise<HttpResponse> {
    const bytes = encodeRequest(request);
    for (let attempt = 1; ; attempt += 1) {
      await this.open(deadline);
      const socket = this.socket as TlsSocketLike;
      this.idle?.stop();
      this.idle = undefined;
      const reused = this.used;
      this.used = true;
      try {
        const response = await this.exchange(socket, bytes, request, deadline);
        if (response.keepAlive) this.watchIdle(socket);
        else this.close();
        return response;
      } catch (err) {
        this.close();
        if (err instanceof StaleConnection && reused && attempt === 1) {
          this.log(`${this.where} closed the kept connection; connecting again`);
          continue;
        }
        throw err instanceof StaleConnection ? err.cause : err;
      }
    }
  }

  /**
   * A kept connection the BMC closes while idle (its keep-alive timeout) is dropped at once, so
   * that the next request opens a new one instead of writing into a closed socket.
   */
  private watchIdle(socket: TlsSocketLike): void {
    const gone = (): void => {
      if (this.socket !== socket) return;
      this.log(`${this.where} closed the kept connection; connecting again`);
      this.close();
    };
    this.idle = new Listening(socket);
    this.idle.on("end", gone);
    this.idle.on("close", gone);
    this.idle.on("error", gone);
  }

  close(): void {
    const socket = this.socket;
    this.idle?.stop();
    this.idle = undefined;
    this.socket = undefined;
    this.used = false;
    socket?.destroy();
  }

  private async connect(deadline: Deadline): Promise<TlsSocketLike> {
    const { host, port } = this.endpoint;
    const options: ConnectionOptions = {
      host,
      port,
      // Checked below, after the handshake and before anything is sent (see the module comment).
      rejectUnauthorized: false,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(this.trust.kind === "verify" && this.trust.ca !== undefined ? { ca: this.trust.ca } : {}),
    };
    const waited = deadline.remainingMs();
    let socket: TlsSocketLike;
    try {
      socket = await this.connector(options);
    } catch (err) {
      throw networkError(err as Error, this.where);
    }
    // Kept for the socket's life: an error nobody waits for (on a closed kept connection, say)
    // must not end the process.
    socket.on("error", () => {});
    try {
      return await settleOnce<TlsSocketLike>(
        socket,
        waited,
        () =>
          new RedfishTimeoutError(
            `no TLS connection with ${this.where} within ${formatSeconds(waited)}`,
          ),
        (on, settle) => {
          on.on("secureConnect", () => {
            try {
              this.checkCertificate(socket);
              this.log(`connected to ${this.where} (TLS, certificate ${this.trust.kind})`);
              settle(socket);
            } catch (err) {
              settle(err as RedfishError);
            }
          });
          on.on("error", (err: Error & { code?: string }) => settle(networkError(err, this.where)));
          on.on("close", () =>
            settle(
              new RedfishNetworkError(`${this.where} closed the connection during TLS set-up`),
            ),
          );
        },
      );
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  private checkCertificate(socket: TlsSocketLike): void {
    if (this.trust.kind === "insecure") return;
    const der = socket.getPeerCertificate(false)?.raw;
    const digest = der === undefined ? undefined : certificateFingerprint(der);
    const shown = digest === undefined ? "none" : formatFingerprint(digest);
    if (this.trust.kind === "pinned") {
      if (digest !== undefined && this.trust.fingerprints.some((f) => f.equals(digest))) return;
      throw new RedfishCertificateError(
        `the certificate of ${this.where} does not match ssl_fingerprint (its SHA-256 fingerprint is ${shown})`,
      );
    }
    if (socket.authorized) return;
    const reason = socket.authorizationError;
    const code =
      reason instanceof Error ? ((reason as { code?: string }).code ?? "") : String(reason ?? "");
    const why =
      VERIFY_ERRORS[code] ?? (reason instanceof Error ? reason.message : code || "not trusted");
    throw new RedfishCertificateError(
      `the certificate of ${this.where} is not trusted (${why}; SHA-256 fingerprint ${shown}): give ssl_cacert or ssl_fingerprint, or ssl_insecure=1 to skip the check`,
    );
  }

  private exchange(
    socket: TlsSocketLike,
    bytes: Buffer,
    request: HttpRequest,
    deadline: Deadline,
  ): Promise<HttpResponse> {
    const reader = new ResponseReader();
    const waited = deadline.remainingMs();
    const what = `${request.method} ${request.path}`;
    return settleOnce<HttpResponse>(
      socket,
      waited,
      () =>
        new RedfishTimeoutError(
          `no answer from ${this.where} to ${what} within ${formatSeconds(waited)}`,
        ),
      (on, settle) => {
        const lost = (err: RedfishError): void => {
          settle(reader.started ? err : new StaleConnection(err));
        };
        const ended = (): void => {
          try {
            settle(reader.end());
          } catch (err) {
            lost(err as RedfishError);
          }
        };
        on.on("data", (data: Buffer) => {
          try {
            const response = reader.feed(data);
            if (response !== undefined) settle(response);
          } catch (err) {
            settle(err as Error);
          }
        });
        on.on("end", ended);
        on.on("close", ended);
        on.on("error", (err: Error & { code?: string }) => lost(networkError(err, this.where)));
        socket.write(bytes);
      },
    );
  }
}

/**
 * Waits for one outcome on `socket`: `listen` attaches handlers (through `on`) that call `settle`,
 * and a timer settles with `timeout()` after `ms`. The first outcome wins; the handlers go then.
 */
function settleOnce<T>(
  socket: TlsSocketLike,
  ms: number,
  timeout: () => Error,
  listen: (on: Listening, settle: (result: T | Error) => void) => void,
): Promise<T> {
  const listening = new Listening(socket);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (result: T | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      listening.stop();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => settle(timeout()), ms);
    listen(listening, settle);
  });
}

/** A kept connection that turned out closed before any answer: the request may be sent again. */
class StaleConnection extends Error {
  override readonly cause: RedfishError;
  constructor(cause: RedfishError) {
    super(cause.message);
    this.cause = cause;
  }
}
