/**
 * The UDP side of the client: one socket on an ephemeral port that takes datagrams from the BMC's
 * address only, and a request/response exchange with retransmission. The only place with sockets
 * and timers.
 *
 * The socket is not connect()ed: a connected socket would also drop answers that come from the
 * BMC's address but another port (FreeIPMI's ipmipower takes those, ipmitool's connected socket
 * does not; some BMC firmware sends from another socket than the one it listens on), and Node
 * cannot send on a socket connected to an IPv6 address with a zone id (`fe80::1%eth0`). What is
 * accepted is safe: setup answers are matched by random session IDs and tags, and nothing in a
 * session counts unless its AuthCode verifies.
 */
import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import {
  IpmiConfigError,
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
  on(event: "message", listener: (msg: Buffer, from: DatagramSource) => void): unknown;
  once(event: "error", listener: (err: Error) => void): unknown;
  off(event: "error", listener: (err: Error) => void): unknown;
  off(event: "message", listener: (msg: Buffer, from: DatagramSource) => void): unknown;
  bind(port: number, callback: () => void): unknown;
  send(msg: Buffer, port: number, address: string, callback: (error: Error | null) => void): void;
  close(): unknown;
  unref(): unknown;
}

/** Where a datagram came from (the part of node:dgram's RemoteInfo the transport reads). */
export interface DatagramSource {
  address: string;
  port: number;
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
export const MAX_RETRANSMIT_INTERVAL_MS = 500;
const RETRANSMIT_BACKOFF = 1.5;

export interface Exchange<T> {
  /** Names the request in log lines and the timeout message, e.g. "Get Chassis Status". */
  what: string;
  /** Total time for this exchange, retransmissions included. */
  timeoutMs: number;
  /**
   * First retransmission after this long (or half as long again as the BMC's quickest answer so
   * far, if that is longer); then growing by half, at most `maxRetransmitMs` apart.
   */
  retransmitMs: number;
  /** Longest interval between retransmissions; default 0.5 s. */
  maxRetransmitMs?: number;
  /** Added to the timeout message: what silence most likely means at this step. */
  silenceHint?: string;
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
  /** Set once the BMC has sent anything that answered a request. */
  private answeredOnce = false;
  /** The other source ports the BMC has answered from (logged once each). */
  private readonly otherPorts = new Set<number>();
  /**
   * The quickest the BMC has answered, from a request's first sending: an upper bound of its
   * answer time. Retransmitting sooner than that only makes it answer twice.
   */
  private quickestAnswerMs: number | undefined;

  private constructor(
    private readonly socket: DatagramSocket,
    /** "host:port" of the BMC, for messages. */
    readonly peer: string,
    private readonly address: string,
    private readonly port: number,
    /** Whether a source address is the BMC's (in any of its spellings). */
    private readonly fromBmc: (address: string) => boolean,
    private readonly log: Log,
  ) {}

  /** True once the BMC has answered a request: it is alive, and worth waiting for. */
  get answered(): boolean {
    return this.answeredOnce;
  }

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
    checkZone(host);
    const address = isIP(host) ? host : await resolve(host, peer, timeoutMs);
    const bmcAddress = canonicalAddress(address);
    const fromBmc = (from: string): boolean => canonicalAddress(from) === bmcAddress;
    const socket = createSocket(isIP(address) === 6 ? "udp6" : "udp4");
    // A late ICMP error or a send failure must not crash the process; a missing answer is
    // reported by the exchange's own timeout.
    socket.on("error", (err) => log(`ipmi: socket error: ${err.message}`));
    try {
      await new Promise<void>((ok, fail) => {
        socket.once("error", fail);
        socket.bind(0, () => {
          socket.off("error", fail);
          ok();
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
    return new UdpTransport(socket, peer, address, port, fromBmc, log);
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
      // Fixed intervals (maxRetransmitMs) are the first request's; later ones wait for a BMC
      // known to be slow at least half as long again as it took.
      const seen = x.maxRetransmitMs === undefined ? (this.quickestAnswerMs ?? 0) : 0;
      let interval = Math.max(1, x.retransmitMs, Math.round(seen * RETRANSMIT_BACKOFF));
      const longest = Math.max(interval, x.maxRetransmitMs ?? MAX_RETRANSMIT_INTERVAL_MS);
      let retransmitTimer: NodeJS.Timeout | undefined;
      let done = false;
      /** Datagrams from the BMC that did not answer: silence is then not what the hint says. */
      let unanswering = 0;

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
        this.socket.send(datagram, this.port, this.address, (err) => {
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
          interval = Math.min(Math.round(interval * RETRANSMIT_BACKOFF), longest);
          if (!done) scheduleRetransmit();
        }, interval);
      };
      const onMessage = (datagram: Buffer, from: DatagramSource): void => {
        if (!this.fromBmc(from.address)) {
          this.log(
            `ipmi: ignored ${datagram.length}-byte datagram from ${from.address}, not the BMC`,
          );
          return;
        }
        unanswering++;
        if (from.port !== this.port && !this.otherPorts.has(from.port)) {
          this.otherPorts.add(from.port);
          this.log(`ipmi: the BMC answers from port ${from.port}, not ${this.port}`);
        }
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
        unanswering--;
        this.answeredOnce = true;
        const took = Date.now() - started;
        this.quickestAnswerMs = Math.min(this.quickestAnswerMs ?? took, took);
        finish();
        resolvePromise(answer);
      };

      this.abortExchange = () =>
        fail(new IpmiSessionError(`BMC ${this.peer}: session closed while waiting for ${x.what}`));
      const deadlineTimer = setTimeout(
        () => {
          const hint =
            unanswering > 0
              ? `${unanswering} ${unanswering === 1 ? "datagram" : "datagrams"} from the BMC, none an answer to it`
              : x.silenceHint;
          fail(new IpmiTimeoutError(this.peer, x.timeoutMs, x.what, hint));
        },
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

/** An IPv6 zone id ("fe80::1%eth0") must name a network interface of this host (or be its index). */
function checkZone(host: string): void {
  const zone = host.indexOf("%");
  if (zone === -1 || isIP(host) !== 6) return;
  const name = host.slice(zone + 1);
  const interfaces = Object.keys(networkInterfaces());
  if (/^[0-9]+$/.test(name) || interfaces.includes(name)) return;
  throw new IpmiConfigError(
    `BMC address ${host}: no network interface '${name}' on this host (interfaces: ${interfaces.join(", ")})`,
  );
}

/**
 * An IP address in one spelling, for comparing a datagram's source with the BMC's address:
 * without the zone id, which Node leaves off (or puts on) received addresses, and with IPv6 in
 * its canonical form ("FE80:0::01" and "fe80::1" are one address).
 */
function canonicalAddress(address: string): string {
  const zone = address.indexOf("%");
  const bare = zone === -1 ? address : address.slice(0, zone);
  if (isIP(bare) !== 6) return bare;
  try {
    return new URL(`http://[${bare}]/`).hostname;
  } catch {
    return bare;
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
