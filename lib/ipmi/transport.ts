/**
 * The UDP side of the client: one socket on an ephemeral port, connected to the BMC (so the
 * kernel drops datagrams from anyone else), and a request/response exchange with retransmission.
 * The only place with sockets and timers.
 */
import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import {
  IpmiError,
  IpmiNetworkError,
  IpmiSessionError,
  IpmiTimeoutError,
  formatSeconds,
} from "./errors.js";

export type Log = (line: string) => void;

/** The part of a `dgram.Socket` the transport uses: a stand-in (the snapshot warm-up) implements just this. */
export interface DatagramSocket {
  on(event: "error", listener: (err: Error) => void): unknown;
  on(event: "message", listener: (msg: Buffer) => void): unknown;
  once(event: "error", listener: (err: Error) => void): unknown;
  off(event: "error", listener: (err: Error) => void): unknown;
  off(event: "message", listener: (msg: Buffer) => void): unknown;
  bind(port: number, callback: () => void): unknown;
  connect(port: number, address: string, callback: () => void): void;
  send(msg: Buffer, callback: (error: Error | null) => void): void;
  close(): unknown;
  unref(): unknown;
}

/** Makes the transport's socket; the default is node:dgram's. */
export type DatagramSocketFactory = (type: "udp4" | "udp6") => DatagramSocket;

const createDgramSocket: DatagramSocketFactory = (type) => dgram.createSocket(type);

/**
 * Retransmission intervals grow by half from the first one, up to this. The cap is low because a
 * lost datagram is far more common than a BMC slower than half a second, and each request's
 * total time is bounded anyway: within 2 s this sends 5 times, so a request still gets through
 * a link that loses 20% each way 99.4% of the time.
 */
const MAX_RETRANSMIT_INTERVAL_MS = 500;
const RETRANSMIT_BACKOFF = 1.5;

export interface Exchange<T> {
  /** Names the request in log lines and the timeout message, e.g. "Get Chassis Status". */
  what: string;
  /** Total time for this exchange, retransmissions included. */
  timeoutMs: number;
  /** First retransmission after this long; then growing by half, at most 0.5 s apart. */
  retransmitMs: number;
  /**
   * The datagram for attempt 0, 1, ... Called again for each retransmission so that an in-session
   * request can go out with a fresh session sequence number and IV.
   */
  packet: (attempt: number) => Buffer;
  /**
   * Looks at every datagram that arrives while waiting: returns the answer, or undefined for a
   * datagram that is not the answer (a stale or duplicate response). A thrown IpmiError means a
   * malformed or unauthentic datagram: it is dropped and logged, and waiting goes on.
   */
  match: (datagram: Buffer) => T | undefined;
}

export class UdpTransport {
  private closed = false;
  /** Ends the exchange in progress, if any: set while one is. */
  private abortExchange: (() => void) | undefined;

  private constructor(
    private readonly socket: DatagramSocket,
    /** "host:port" of the BMC, for messages. */
    readonly peer: string,
    private readonly log: Log,
  ) {}

  /**
   * Resolves the host (bounded by `timeoutMs`) and connects a socket bound to an ephemeral port.
   * `createSocket` replaces node:dgram (the snapshot warm-up's in-process BMC).
   */
  static async open(
    host: string,
    port: number,
    timeoutMs: number,
    log: Log,
    createSocket: DatagramSocketFactory = createDgramSocket,
  ): Promise<UdpTransport> {
    const peer = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
    const address = isIP(host) ? host : await resolve(host, peer, timeoutMs);
    const socket = createSocket(isIP(address) === 6 ? "udp6" : "udp4");
    // A late ICMP error or a send failure must not crash the process; a missing answer is
    // reported by the exchange's own timeout.
    socket.on("error", (err) => log(`ipmi: socket error: ${err.message}`));
    try {
      await new Promise<void>((ok, fail) => {
        socket.once("error", fail);
        socket.bind(0, () => {
          socket.connect(port, address, () => {
            socket.off("error", fail);
            ok();
          });
        });
      });
    } catch (err) {
      socket.close();
      throw new IpmiNetworkError(
        `cannot open a UDP socket to BMC ${peer}: ${(err as Error).message}`,
      );
    }
    // An open socket alone must not keep the process alive; pending exchanges hold timers that do.
    socket.unref();
    return new UdpTransport(socket, peer, log);
  }

  exchange<T>(x: Exchange<T>): Promise<T> {
    if (this.closed)
      return Promise.reject(
        new IpmiSessionError(`cannot send ${x.what} to BMC ${this.peer}: session closed`),
      );
    if (this.abortExchange) throw new Error("UdpTransport: one exchange at a time");
    return new Promise<T>((resolvePromise, rejectPromise) => {
      const started = Date.now();
      let attempt = 0;
      let interval = Math.max(1, x.retransmitMs);
      let retransmitTimer: NodeJS.Timeout | undefined;
      let done = false;

      const finish = (): void => {
        done = true;
        this.abortExchange = undefined;
        clearTimeout(retransmitTimer);
        clearTimeout(deadlineTimer);
        this.socket.off("message", onMessage);
      };
      const fail = (err: unknown): void => {
        if (done) return;
        finish();
        rejectPromise(err instanceof Error ? err : new Error(String(err)));
      };
      const send = (): void => {
        let datagram: Buffer;
        try {
          datagram = x.packet(attempt);
        } catch (err) {
          fail(err);
          return;
        }
        this.socket.send(datagram, (err) => {
          if (err) this.log(`ipmi: sending ${x.what} failed: ${err.message}`);
        });
      };
      const scheduleRetransmit = (): void => {
        const left = x.timeoutMs - (Date.now() - started);
        if (left <= interval) return; // the deadline comes first
        retransmitTimer = setTimeout(() => {
          attempt++;
          this.log(
            `ipmi: no answer to ${x.what} after ${formatSeconds(Date.now() - started)}, retransmission ${attempt}`,
          );
          send();
          interval = Math.min(
            Math.round(interval * RETRANSMIT_BACKOFF),
            MAX_RETRANSMIT_INTERVAL_MS,
          );
          if (!done) scheduleRetransmit();
        }, interval);
      };
      const onMessage = (datagram: Buffer): void => {
        let answer: T | undefined;
        try {
          answer = x.match(datagram);
        } catch (err) {
          if (err instanceof IpmiError) {
            this.log(
              `ipmi: dropped ${datagram.length}-byte datagram while waiting for ${x.what}: ${err.message}`,
            );
            return;
          }
          fail(err); // a bug, not a hostile packet: do not hide it
          return;
        }
        if (answer === undefined) {
          this.log(`ipmi: ignored ${datagram.length}-byte datagram that does not answer ${x.what}`);
          return;
        }
        finish();
        resolvePromise(answer);
      };

      this.abortExchange = () =>
        fail(new IpmiSessionError(`BMC ${this.peer}: session closed while waiting for ${x.what}`));
      const deadlineTimer = setTimeout(
        () => fail(new IpmiTimeoutError(this.peer, x.timeoutMs, x.what)),
        Math.max(0, x.timeoutMs),
      );
      this.socket.on("message", onMessage);
      send();
      if (!done) scheduleRetransmit();
    });
  }

  /** Closes the socket; an exchange still waiting fails at once (its timers would send on a closed socket). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abortExchange?.();
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

async function resolve(host: string, peer: string, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = await Promise.race([
      lookup(host),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new IpmiTimeoutError(peer, timeoutMs, "host name lookup")),
          Math.max(0, timeoutMs),
        );
      }),
    ]);
    return answer.address;
  } catch (err) {
    if (err instanceof IpmiError) throw err;
    throw new IpmiNetworkError(
      `cannot resolve BMC host ${peer}: ${(err as NodeJS.ErrnoException).code ?? "lookup failed"}`,
    );
  } finally {
    clearTimeout(timer);
  }
}
