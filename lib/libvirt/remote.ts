/**
 * A domain's state asked of libvirtd over its UNIX socket, without starting virsh: what every
 * monitor does, every few seconds for every guest, so the ~25 ms of a virsh process (loading
 * libvirt, connecting, its threads) are most of what is left to save. Only for a local socket
 * that virsh would use too (lib/libvirt/rpc.ts speaks the protocol), and only as a first try:
 * anything this client does not expect (another transport, SASL, an error other than "no such
 * domain", bytes it cannot read, no answer within its share of the time) and the caller asks
 * virsh, so what it reports and how it words it stay virsh's.
 */
import net from "node:net";
import type { Deadline } from "../deadline.js";
import {
  AuthType,
  ERR_NO_DOMAIN,
  MessageStatus,
  MessageType,
  Proc,
  REMOTE_PROGRAM,
  type RemoteError,
  connectOpenArgs,
  decodeAuthList,
  decodeAuthPolkit,
  decodeDomain,
  decodeError,
  decodeState,
  domstateLine,
  encodeCall,
  getStateArgs,
  lookupByNameArgs,
  takeMessages,
} from "./rpc.js";
import { messageOf } from "../errors.js";

/** Where libvirtd listens for a URI, and the URI it is opened with there (socket parameter dropped). */
export interface LocalEndpoint {
  readonly socket: string;
  readonly name: string;
}

export interface EndpointContext {
  /** Whether a path exists (for the default sockets). */
  readonly exists: (path: string) => boolean;
  /** /etc/libvirt/libvirt.conf, the client configuration virsh reads as root ("" if none); read only when needed. */
  readonly clientConf: () => string;
  readonly euid: number;
}

/** The system sockets virsh picks from, in its order (remote_sockets.c, mode "auto"). */
export function systemSockets(driver: string): string[] {
  return [`/var/run/libvirt/virt${driver}d-sock`, "/var/run/libvirt/libvirt-sock"];
}

/**
 * Drivers that live only in a daemon: virsh reaches them through a socket even without `+unix`.
 * (Others, `test` and the ESX/Hyper-V/VMware ones, virsh may run inside its own process.)
 */
const DAEMON_DRIVERS: ReadonlySet<string> = new Set(["qemu"]);

/**
 * The socket for `uri` when virsh would use that same local UNIX socket: `DRIVER+unix:///PATH`
 * (or `qemu:///PATH`) with a `socket` parameter and nothing else, or `DRIVER+unix:///system` /
 * `qemu:///system` (the driver's own daemon's socket if it exists, else libvirtd's); as root, and
 * with no `remote_mode` chosen in libvirt.conf. The driver must be written as libvirt matches it
 * (lower case: libvirt compares schemes exactly and names the daemon's socket after them); the
 * transport in any case, as libvirt does. Otherwise undefined: virsh is asked.
 */
export function localEndpoint(
  uri: string | undefined,
  c: EndpointContext,
): LocalEndpoint | undefined {
  if (uri === undefined || c.euid !== 0) return undefined;
  // No ';' anywhere: libvirt also splits parameters on it.
  const m = /^([a-z][a-z0-9]*)(\+unix)?:\/\/\/([^?#;]*)(?:\?([^#;]*))?$/.exec(
    uri.replace(/^([a-z][a-z0-9]*)\+unix:/i, (_, d: string) => `${d}+unix:`),
  );
  if (m === null) return undefined;
  const driver = m[1]!;
  const path = m[3]!;
  if (m[2] === undefined && !DAEMON_DRIVERS.has(driver)) return undefined;
  let socket: string | undefined;
  for (const param of (m[4] ?? "").split("&").filter((p) => p !== "")) {
    const eq = param.indexOf("=");
    const key = eq < 0 ? param : param.slice(0, eq);
    if (key !== "socket" || eq < 0) return undefined;
    try {
      socket = decodeURIComponent(param.slice(eq + 1)); // %XX only, as libvirt unescapes ('+' stays)
    } catch {
      return undefined;
    }
  }
  const name = `${driver}:///${path}`;
  if (socket !== undefined) return socket.startsWith("/") ? { socket, name } : undefined;
  if (path !== "system" || /^\s*remote_mode\s*=/m.test(c.clientConf())) return undefined;
  const found = systemSockets(driver).find((s) => c.exists(s));
  return found === undefined ? undefined : { socket: found, name };
}

export type RemoteStateAnswer =
  /** The state as `virsh domstate --reason` prints it. */
  | { readonly kind: "state"; readonly line: string }
  | { readonly kind: "gone" }
  /** No answer this client can vouch for: ask virsh. */
  | { readonly kind: "unavailable"; readonly why: string };

class CallFailed extends Error {
  constructor(readonly error: RemoteError) {
    super(error.message);
  }
}

/** One connection, one call at a time (libvirtd may run a client's calls concurrently). */
class Connection {
  private buffered: Buffer = Buffer.alloc(0);
  private serial = 0;
  private waiting:
    { serial: number; resolve: (body: Buffer) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => this.received(chunk));
    socket.on("error", (err) => this.fail(err));
    socket.on("close", () => this.fail(new Error("libvirtd closed the connection")));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
  }

  private received(chunk: Buffer): void {
    try {
      const { messages, rest } = takeMessages(
        this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]),
      );
      this.buffered = rest;
      for (const m of messages) {
        // Anything else (another program, a late reply) is not the answer awaited.
        const w = this.waiting;
        if (
          w === undefined ||
          m.program !== REMOTE_PROGRAM ||
          m.type !== MessageType.REPLY ||
          m.serial !== w.serial
        )
          continue;
        this.waiting = undefined;
        if (m.status === MessageStatus.OK) w.resolve(m.body);
        else w.reject(new CallFailed(decodeError(m.body)));
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      this.socket.destroy();
    }
  }

  call(proc: number, body?: Buffer): Promise<Buffer> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const serial = this.serial++;
    return new Promise((resolve, reject) => {
      this.waiting = { serial, resolve, reject };
      this.socket.write(encodeCall(proc, serial, body));
    });
  }

  /** Says goodbye without waiting for the answer. */
  close(): void {
    if (this.failure === undefined && !this.socket.destroyed)
      this.socket.end(encodeCall(Proc.CONNECT_CLOSE, this.serial++));
    this.socket.destroy();
  }
}

/** Connects, or says why not; bounded by the caller's timer. */
function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path });
    s.once("connect", () => {
      s.removeListener("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

async function ask(
  endpoint: LocalEndpoint,
  domain: string,
  opened: (s: net.Socket) => void,
): Promise<RemoteStateAnswer> {
  const socket = await connect(endpoint.socket);
  opened(socket);
  const c = new Connection(socket);
  try {
    const auth = decodeAuthList(await c.call(Proc.AUTH_LIST));
    if (auth.length > 0 && !auth.includes(AuthType.NONE)) {
      if (!auth.includes(AuthType.POLKIT))
        return {
          kind: "unavailable",
          why: `libvirtd asks for authentication (types ${auth.join(",")})`,
        };
      // libvirtd lets root through polkit without asking polkit.
      if (!decodeAuthPolkit(await c.call(Proc.AUTH_POLKIT)))
        return { kind: "unavailable", why: "polkit authentication not complete" };
    }
    await c.call(Proc.CONNECT_OPEN, connectOpenArgs(endpoint.name));
    let body: Buffer;
    try {
      body = await c.call(Proc.DOMAIN_LOOKUP_BY_NAME, lookupByNameArgs(domain));
    } catch (err) {
      if (err instanceof CallFailed && err.error.code === ERR_NO_DOMAIN) return { kind: "gone" };
      throw err;
    }
    const { state, reason } = decodeState(
      await c.call(Proc.DOMAIN_GET_STATE, getStateArgs(decodeDomain(body))),
    );
    return { kind: "state", line: domstateLine(state, reason) };
  } finally {
    c.close();
  }
}

/**
 * `virsh domstate --reason DOMAIN` without virsh: the state line, "gone" (no such domain), or why
 * virsh should be asked instead. Never throws; never takes longer than `deadline`.
 */
export async function remoteDomainState(
  endpoint: LocalEndpoint,
  domain: string,
  deadline: Deadline,
): Promise<RemoteStateAnswer> {
  const ms = deadline.remainingMs();
  if (ms <= 0) return { kind: "unavailable", why: "no time left" };
  let socket: net.Socket | undefined;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<RemoteStateAnswer>((resolve) => {
    timer = setTimeout(() => {
      socket?.destroy();
      resolve({ kind: "unavailable", why: `no answer from ${endpoint.socket} within ${ms} ms` });
    }, ms);
  });
  try {
    return await Promise.race([
      ask(endpoint, domain, (s) => {
        socket = s;
        if (done) s.destroy(); // connected after the time ran out
      }).catch((err: unknown): RemoteStateAnswer => {
        socket?.destroy();
        return {
          kind: "unavailable",
          why: `${endpoint.socket}: ${messageOf(err)}`,
        };
      }),
      timeout,
    ]);
  } finally {
    done = true;
    clearTimeout(timer);
    socket?.destroy();
  }
}
