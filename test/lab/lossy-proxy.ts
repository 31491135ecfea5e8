// A UDP proxy to put between an IPMI client and a lab BMC, to test how the
// client copes with a bad network:
//   - 'forward':   relay datagrams, dropping a fraction in each direction;
//   - 'blackhole': drop everything (the BMC looks powered down / unplugged);
//   - 'garbage':   never forward; answer each request with junk bytes.
// Drops and junk come from seeded PRNGs (one per direction and one for junk),
// so a run with the same seed and the same packet order drops the same
// packets. Each client address:port gets its own upstream socket, so the
// BMC sees distinct sources just as it would without the proxy.

import dgram from "node:dgram";

export type ProxyMode = "forward" | "blackhole" | "garbage";

export interface LossyProxyOptions {
  /** BMC port to relay to. */
  upstreamPort: number;
  /** BMC address; default 127.0.0.1. */
  upstreamHost?: string;
  /** Fraction (0-1) of client-to-BMC datagrams to drop; default 0. */
  lossToBmc?: number;
  /** Fraction (0-1) of BMC-to-client datagrams to drop; default 0. */
  lossFromBmc?: number;
  /** PRNG seed; default 1. */
  seed?: number;
  /** Initial mode; default 'forward'. */
  mode?: ProxyMode;
  /** Loopback address to listen on; default 127.0.0.1. */
  host?: string;
  /** Port to listen on; default one the kernel picks. */
  port?: number;
  /** Close a client's upstream socket after this long without traffic; default 60 s. */
  idleMs?: number;
  /** Called for every datagram, for debugging a test. */
  onPacket?: (event: PacketEvent) => void;
}

export interface PacketEvent {
  direction: "toBmc" | "fromBmc";
  /** What the proxy did with it. */
  fate: "forwarded" | "dropped" | "garbage";
  client: string;
  data: Buffer;
}

export interface DirectionStats {
  received: number;
  forwarded: number;
  dropped: number;
}

export interface ProxyStats {
  mode: ProxyMode;
  toBmc: DirectionStats;
  fromBmc: DirectionStats;
  /** Junk datagrams sent to clients in 'garbage' mode. */
  garbageSent: number;
  /** Client addresses seen so far. */
  clients: number;
}

export interface LossyProxy {
  host: string;
  port: number;
  setMode(mode: ProxyMode): void;
  setLoss(lossToBmc: number, lossFromBmc: number): void;
  stats(): ProxyStats;
  stop(): Promise<void>;
}

/** A small, fast, seedable PRNG (xorshift32 over a splitmix-style scrambled seed). */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    let s = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
    s = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
    s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
    s = (s ^ (s >>> 16)) >>> 0;
    this.state = s === 0 ? 0x6d2b79f5 : s;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.state = x;
    return x;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.nextU32() & 0xff;
    return out;
  }
}

function checkLoss(name: string, v: number): number {
  if (!(v >= 0 && v <= 1)) throw new Error(`${name} must be within 0..1, got ${v}`);
  return v;
}

/**
 * Junk for one request: random bytes, a plausible RMCP/IPMI header followed
 * by random bytes, or the request itself mangled. All from `rng`.
 */
function junkFor(request: Buffer, rng: SeededRandom): Buffer {
  switch (rng.int(0, 3)) {
    case 0:
      return rng.bytes(rng.int(1, 64));
    case 1: {
      // RMCP header, IPMI class; then an RMCP+ or 1.5 session header of noise
      const body = rng.bytes(rng.int(0, 60));
      return Buffer.concat([Buffer.from([0x06, 0x00, 0xff, 0x07]), body]);
    }
    case 2: {
      // The request with a few bytes flipped, sent back as if it were the answer
      const copy = Buffer.from(request);
      const flips = rng.int(1, Math.max(1, Math.min(8, copy.length)));
      for (let i = 0; i < flips && copy.length > 0; i++) {
        const at = rng.int(0, copy.length - 1);
        copy[at] = copy[at]! ^ (1 + (rng.nextU32() % 255));
      }
      return copy;
    }
    default: {
      // Truncated request (possibly empty payload after the header)
      return Buffer.from(request.subarray(0, rng.int(0, request.length)));
    }
  }
}

function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

interface Client {
  address: string;
  port: number;
  upstream: dgram.Socket;
  lastSeen: number;
}

/** Start a proxy listening on loopback that relays to upstreamHost:upstreamPort. */
export async function startLossyProxy(opts: LossyProxyOptions): Promise<LossyProxy> {
  const host = opts.host ?? "127.0.0.1";
  const upstreamHost = opts.upstreamHost ?? "127.0.0.1";
  if (!isLoopback(host) || !isLoopback(upstreamHost)) {
    throw new Error("the lossy proxy only listens on and relays to 127.0.0.0/8 addresses");
  }
  let lossToBmc = checkLoss("lossToBmc", opts.lossToBmc ?? 0);
  let lossFromBmc = checkLoss("lossFromBmc", opts.lossFromBmc ?? 0);
  let mode: ProxyMode = opts.mode ?? "forward";
  const seed = opts.seed ?? 1;
  const rngTo = new SeededRandom(seed);
  const rngFrom = new SeededRandom(seed ^ 0x5bd1e995);
  const rngJunk = new SeededRandom(seed ^ 0x27d4eb2f);
  const idleMs = opts.idleMs ?? 60_000;

  const toBmc: DirectionStats = { received: 0, forwarded: 0, dropped: 0 };
  const fromBmc: DirectionStats = { received: 0, forwarded: 0, dropped: 0 };
  let garbageSent = 0;
  const seen = new Set<string>();
  const clients = new Map<string, Client>();
  let stopping = false;

  const front = dgram.createSocket("udp4");
  front.on("error", () => {
    // e.g. ICMP unreachable from a client that went away: nothing to do
  });

  const closeSocket = (s: dgram.Socket) =>
    new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });

  const clientFor = (address: string, port: number): Client => {
    const key = `${address}:${port}`;
    let c = clients.get(key);
    if (c) return c;
    const upstream = dgram.createSocket("udp4");
    c = { address, port, upstream, lastSeen: Date.now() };
    const client = c;
    upstream.on("error", () => {
      // ICMP port unreachable when the BMC is stopped: the client times out
    });
    upstream.on("message", (buf) => {
      if (stopping) return;
      fromBmc.received++;
      client.lastSeen = Date.now();
      // blackhole drops late answers too; garbage mode never forwards
      const drop = mode !== "forward" || (lossFromBmc > 0 && rngFrom.next() < lossFromBmc);
      opts.onPacket?.({
        direction: "fromBmc",
        fate: drop ? "dropped" : "forwarded",
        client: key,
        data: buf,
      });
      if (drop) {
        fromBmc.dropped++;
        return;
      }
      fromBmc.forwarded++;
      front.send(buf, client.port, client.address);
    });
    upstream.bind(0, "127.0.0.1");
    clients.set(key, c);
    return c;
  };

  front.on("message", (buf, rinfo) => {
    if (stopping) return;
    toBmc.received++;
    const key = `${rinfo.address}:${rinfo.port}`;
    seen.add(key);
    if (mode === "blackhole") {
      toBmc.dropped++;
      opts.onPacket?.({ direction: "toBmc", fate: "dropped", client: key, data: buf });
      return;
    }
    if (mode === "garbage") {
      toBmc.dropped++;
      garbageSent++;
      opts.onPacket?.({ direction: "toBmc", fate: "garbage", client: key, data: buf });
      front.send(junkFor(buf, rngJunk), rinfo.port, rinfo.address);
      return;
    }
    if (lossToBmc > 0 && rngTo.next() < lossToBmc) {
      toBmc.dropped++;
      opts.onPacket?.({ direction: "toBmc", fate: "dropped", client: key, data: buf });
      return;
    }
    opts.onPacket?.({ direction: "toBmc", fate: "forwarded", client: key, data: buf });
    const c = clientFor(rinfo.address, rinfo.port);
    c.lastSeen = Date.now();
    toBmc.forwarded++;
    c.upstream.send(buf, opts.upstreamPort, upstreamHost);
  });

  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.bind(opts.port ?? 0, host, () => {
      front.off("error", reject);
      resolve();
    });
  });
  const port = front.address().port;

  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const [key, c] of clients) {
        if (now - c.lastSeen > idleMs) {
          clients.delete(key);
          void closeSocket(c.upstream);
        }
      }
    },
    Math.max(1_000, Math.min(idleMs, 10_000)),
  );
  sweeper.unref();

  let stopped: Promise<void> | undefined;
  return {
    host,
    port,
    setMode(m) {
      if (m !== "forward" && m !== "blackhole" && m !== "garbage")
        throw new Error(`unknown proxy mode '${String(m)}'`);
      mode = m;
    },
    setLoss(to, from) {
      lossToBmc = checkLoss("lossToBmc", to);
      lossFromBmc = checkLoss("lossFromBmc", from);
    },
    stats: () => ({
      mode,
      toBmc: { ...toBmc },
      fromBmc: { ...fromBmc },
      garbageSent,
      clients: seen.size,
    }),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(sweeper);
        const all = [...clients.values()].map((c) => closeSocket(c.upstream));
        clients.clear();
        await Promise.all([...all, closeSocket(front)]);
      })();
      return stopped;
    },
  };
}
