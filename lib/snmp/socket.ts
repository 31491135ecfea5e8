/**
 * The SNMP session's datagram socket, connected to the PDU as fence_ipmi's is: the kernel then
 * delivers only datagrams from the PDU's own address and port (a forged reply from anywhere else
 * never reaches the decoder, where only the request id would stand between it and a false "off"),
 * and reports an ICMP "port unreachable" as ECONNREFUSED instead of leaving it to a timeout.
 * The host is resolved here, once, so that a name that does not resolve is said as such.
 * net-snmp sends with an address and port; a connected socket takes neither, so this module
 * stands in for node:dgram (net-snmp's `dgramModule` option) and drops them. Node cannot connect
 * a socket to a scoped IPv6 address (fe80::1%eth0): there the socket stays unconnected, and every
 * datagram from another address or port is dropped here instead.
 */
import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { EventEmitter } from "node:events";
import { isIP } from "node:net";
import { SnmpNetworkError } from "./errors.js";

/** Stands in for node:dgram in net-snmp (this module; the codec exercise and fuzz tests' loopback). */
export interface DatagramModule {
  createSocket(type: string): EventEmitter;
}

export interface PduLink {
  /** To hand to net-snmp as `dgramModule`. */
  readonly datagrams: DatagramModule;
  /** Called when the PDU's host answers with ICMP port unreachable (set by the client). */
  onRefused: (err: SnmpNetworkError) => void;
}

/**
 * A link to `host`:`port` over `transport`, resolved and connected at the first send, the lookup
 * bounded by `timeoutMs`. Errors (no such host, refused) are SnmpNetworkErrors.
 */
export function pduLink(
  host: string,
  port: number,
  transport: "udp4" | "udp6",
  timeoutMs: number,
  peer: string,
): PduLink {
  const link: PduLink = {
    datagrams: { createSocket: () => new ConnectedSocket(transport, connectTo, refused) },
    onRefused: () => {},
  };
  const connectTo = async (socket: dgram.Socket): Promise<Peer | undefined> => {
    const address = isIP(host) !== 0 ? host : await resolve(host, transport, timeoutMs);
    await new Promise<void>((ok, fail) => {
      const onError = (err: Error): void => fail(err);
      socket.once("error", onError);
      socket.connect(port, address, () => {
        socket.off("error", onError);
        ok();
      });
    }).catch((err: unknown) => {
      throw new SnmpNetworkError(
        `cannot open a UDP socket to PDU ${peer}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
      );
    });
    try {
      socket.remoteAddress();
      return undefined;
    } catch {
      // Not connected after all (a scoped IPv6 address): send to the peer, filter what comes.
      return { address, port };
    }
  };
  const refused = (): void =>
    link.onRefused(
      new SnmpNetworkError(
        `PDU ${peer} refused SNMP (ICMP port unreachable): nothing listens on UDP port ${port} there; check ipport and that the PDU's SNMP agent is enabled`,
      ),
    );
  return link;
}

async function resolve(
  host: string,
  transport: "udp4" | "udp6",
  timeoutMs: number,
): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = await Promise.race([
      lookup(host, { family: transport === "udp6" ? 6 : 4 }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new SnmpNetworkError(
                `cannot resolve host ${host}: no answer from the resolver within ${Math.round(timeoutMs / 100) / 10} s`,
              ),
            ),
          Math.max(0, timeoutMs),
        );
      }),
    ]);
    return answer.address;
  } catch (err) {
    if (err instanceof SnmpNetworkError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? "lookup failed";
    throw new SnmpNetworkError(
      `cannot resolve host ${host} (${code})${transport === "udp6" ? " as IPv6" : ""}; check ip`,
    );
  } finally {
    clearTimeout(timer);
  }
}

type SendCallback = (error: Error | null, bytes: number) => void;

interface Peer {
  readonly address: string;
  readonly port: number;
}

/** An IPv6 address without its zone, lower-case: how a reply's source is compared to the PDU's. */
function bare(address: string): string {
  return address.replace(/%.*$/, "").toLowerCase();
}

/** The part of a dgram socket net-snmp uses, over a socket connected at the first send. */
class ConnectedSocket extends EventEmitter {
  private readonly socket: dgram.Socket;
  /** Resolves to the peer to send to and filter by when the socket could not be connected. */
  private connected: Promise<Peer | undefined> | undefined;
  private unconnectedPeer: Peer | undefined;
  private closed = false;

  constructor(
    transport: "udp4" | "udp6",
    private readonly connectTo: (socket: dgram.Socket) => Promise<Peer | undefined>,
    private readonly refused: () => void,
  ) {
    super();
    this.socket = dgram.createSocket(transport);
    this.socket.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      const peer = this.unconnectedPeer;
      if (
        peer !== undefined &&
        (rinfo.port !== peer.port || bare(rinfo.address) !== bare(peer.address))
      )
        return; // not the PDU's
      this.emit("message", msg, rinfo);
    });
    this.socket.on("close", () => this.emit("close"));
    this.socket.on("error", (err: NodeJS.ErrnoException) => {
      // On a connected socket a later ICMP error arrives as a receive error.
      if (err.code === "ECONNREFUSED") this.refused();
    });
  }

  send(
    buffer: Buffer,
    offset: number,
    length: number,
    _port: number,
    _address: string,
    callback: SendCallback,
  ): void {
    this.connected ??= this.connectTo(this.socket);
    this.connected.then(
      (peer) => {
        if (this.closed) return callback(new Error("socket closed"), 0);
        this.unconnectedPeer = peer;
        const done = (err: Error | null, bytes: number): void => {
          if (err && (err as NodeJS.ErrnoException).code === "ECONNREFUSED") this.refused();
          callback(err, bytes);
        };
        const datagram = buffer.subarray(offset, offset + length);
        if (peer === undefined) this.socket.send(datagram, done);
        else this.socket.send(datagram, peer.port, peer.address, done);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), 0),
    );
  }

  bind(): void {
    // Connecting binds an ephemeral port; net-snmp binds only when given a source port.
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }
}
