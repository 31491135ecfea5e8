// The management network of the cluster lab. The simulated BMCs (ipmi_sim)
// and PDUs (snmpd) run as the other labs start them, on the host's loopback;
// the nodes live in their own network namespaces and reach them at addresses
// of the hub namespace (a BMC at 10.77.0.101:623, say). A Node process in the
// hub (hub-relay.mjs) listens there and passes every datagram over a UNIX
// socket to this side, which relays it to the device's loopback port, one
// upstream socket per client as a NAT would, unless the device has no power:
// then the datagram is dropped, as a dead BMC answers nothing.
//
// A TCP target (a Redfish BMC's HTTPS) is relayed by connection: the hub side
// accepts it and pipes it to a UNIX socket of this side, which connects to the
// device while it has power. Without power nothing gets through, either way:
// the client's bytes (its TLS handshake, a request) vanish and no answer comes,
// as from a BMC that lost power; a connection that lost power stays silent.

import dgram from "node:dgram";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { requireProgram } from "../bins.js";
import { readOr, sleep, spawnLogged, terminate, type LabProcess } from "../daemon.js";

const HUB_RELAY = fileURLToPath(new URL("./hub-relay.mjs", import.meta.url));
/** Upstream sockets idle this long are closed. */
const IDLE_MS = 60_000;

export interface RelayTarget {
  /** Where the nodes send to (an address of the hub) and the port. */
  address: string;
  port: number;
  /** The device on the host's loopback. */
  upstreamHost: string;
  upstreamPort: number;
  /** Whether the device has power (answers); checked per datagram (TCP: per chunk). */
  powered(): boolean;
  /** A TCP port (relayed by connection) instead of UDP. */
  tcp?: boolean;
}

export interface Relay {
  /** Datagrams relayed and dropped, per target index. */
  stats(): { relayed: number; dropped: number }[];
  stop(): Promise<void>;
}

interface Upstream {
  sock: dgram.Socket;
  last: number;
}

export async function startRelay(o: {
  dir: string;
  hubNetns: string;
  targets: RelayTarget[];
}): Promise<Relay> {
  const socketPath = path.join(o.dir, "relay.sock");
  const counts = o.targets.map(() => ({ relayed: 0, dropped: 0 }));
  const upstreams = new Map<string, Upstream>();
  let conn: net.Socket | undefined;
  let ready = false;

  const server = net.createServer((c) => {
    if (conn) {
      c.destroy();
      return;
    }
    conn = c;
    c.setEncoding("utf8");
    c.setNoDelay(true);
    let pending = "";
    c.on("data", (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let m: { l?: number; a?: string; p?: number; d?: string; ready?: boolean };
        try {
          m = JSON.parse(line) as typeof m;
        } catch {
          continue;
        }
        if (m.ready) {
          ready = true;
          continue;
        }
        const t = m.l === undefined ? undefined : o.targets[m.l];
        if (!t || m.a === undefined || m.p === undefined || m.d === undefined) continue;
        if (!t.powered()) {
          counts[m.l!]!.dropped++;
          continue;
        }
        counts[m.l!]!.relayed++;
        const key = `${m.l}|${m.a}|${m.p}`;
        let up = upstreams.get(key);
        if (!up) {
          const sock = dgram.createSocket("udp4");
          const l = m.l!;
          const a = m.a;
          const p = m.p;
          sock.on("message", (msg) => {
            // A reply from a device that lost power meanwhile never leaves it.
            if (!o.targets[l]!.powered()) return;
            conn?.write(`${JSON.stringify({ l, a, p, d: msg.toString("base64") })}\n`);
          });
          sock.on("error", () => {
            // ICMP unreachable (device restarting): the client retries
          });
          sock.bind(0, "127.0.0.1");
          up = { sock, last: Date.now() };
          upstreams.set(key, up);
        }
        up.last = Date.now();
        up.sock.send(Buffer.from(m.d, "base64"), t.upstreamPort, t.upstreamHost);
      }
    });
    c.on("error", () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [k, u] of upstreams) {
      if (now - u.last > IDLE_MS) {
        u.sock.close();
        upstreams.delete(k);
      }
    }
  }, 10_000);
  sweep.unref();

  // TCP targets: one UNIX socket each, a connection per client connection.
  const tcpServers: net.Server[] = [];
  const tcpSockets = new Set<net.Socket>();
  const tcpPaths = o.targets.map((t, i) =>
    t.tcp === true ? path.join(o.dir, `relay-tcp-${i}.sock`) : undefined,
  );
  for (const [i, t] of o.targets.entries()) {
    const p = tcpPaths[i];
    if (p === undefined) continue;
    const server = net.createServer((c) => {
      tcpSockets.add(c);
      c.on("close", () => tcpSockets.delete(c));
      c.on("error", () => undefined);
      // Dead from the start, or since: bytes go nowhere, nothing comes back, nothing is closed.
      let silent = !t.powered();
      let up: net.Socket | undefined;
      const check = (): boolean => {
        if (!silent && !t.powered()) {
          silent = true;
          up?.destroy();
        }
        return !silent;
      };
      if (!silent) {
        up = net.createConnection(t.upstreamPort, t.upstreamHost);
        tcpSockets.add(up);
        up.on("close", () => {
          tcpSockets.delete(up!);
          if (!silent) c.end();
        });
        up.on("error", () => undefined);
        up.on("data", (d: Buffer) => {
          if (check()) c.write(d);
        });
      }
      c.on("data", (d: Buffer) => {
        if (check()) {
          counts[i]!.relayed++;
          up!.write(d);
        } else counts[i]!.dropped++;
      });
      c.on("end", () => {
        if (!silent) up?.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(p, () => resolve());
    });
    tcpServers.push(server);
  }

  const listens = o.targets.map((t, i) => ({
    address: t.address,
    port: t.port,
    ...(tcpPaths[i] === undefined ? {} : { tcp: tcpPaths[i] }),
  }));
  const logFile = path.join(o.dir, "relay.log");
  const proc: LabProcess = spawnLogged(
    requireProgram("nsenter"),
    [
      `--net=/run/netns/${o.hubNetns}`,
      "--",
      process.execPath,
      HUB_RELAY,
      socketPath,
      JSON.stringify(listens),
    ],
    { cwd: o.dir, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" }, logFile },
  );
  if (proc.child.pid !== undefined)
    fs.writeFileSync(path.join(o.dir, "relay.pid"), `${proc.child.pid}\n`);

  const stop = async (): Promise<void> => {
    clearInterval(sweep);
    conn?.destroy();
    await terminate(proc, "hub relay", 2_000);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const sock of tcpSockets) sock.destroy();
    for (const t of tcpServers) await new Promise<void>((resolve) => t.close(() => resolve()));
    for (const u of upstreams.values()) u.sock.close();
    upstreams.clear();
  };

  const deadline = Date.now() + 10_000;
  while (!ready && !proc.dead && !proc.spawnError && Date.now() < deadline) await sleep(20);
  if (!ready) {
    await stop();
    throw new Error(
      `hub relay did not start: ${proc.spawnError?.message ?? ""}\n${await readOr(logFile)}`,
    );
  }
  return { stats: () => counts.map((c) => ({ ...c })), stop };
}
