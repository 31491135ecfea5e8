/**
 * The thin I/O layer over the `net-snmp` package: one session over a socket connected to the PDU
 * (socket.ts), bounded requests, library errors turned into typed kvmha errors whose messages
 * never carry a community or password (some of the library's own messages do, so none is passed
 * through). Messages name the step ("reading outlet 3's state"), not the OIDs: those go to the
 * debug log.
 */
import { EventEmitter } from "node:events";
import snmp from "net-snmp";
import {
  SnmpAuthError,
  SnmpError,
  SnmpNetworkError,
  SnmpProtocolError,
  SnmpRequestError,
  SnmpTimeoutError,
} from "./errors.js";
import { type DatagramModule, pduLink } from "./socket.js";
import { type SnmpValue, compareOids, isUnder, toSnmpValue } from "./values.js";

export type { DatagramModule } from "./socket.js";

export type SnmpVersion = "1" | "2c" | "3";
export type SnmpSecurityLevel = "noAuthNoPriv" | "authNoPriv" | "authPriv";
export type SnmpAuthProtocol = "md5" | "sha" | "sha224" | "sha256" | "sha384" | "sha512";
export type SnmpPrivProtocol = "des" | "aes" | "aes256b" | "aes256r";

export interface SnmpUser {
  readonly name: string;
  readonly level: SnmpSecurityLevel;
  readonly authProtocol?: SnmpAuthProtocol;
  readonly authPassword?: string;
  readonly privProtocol?: SnmpPrivProtocol;
  readonly privPassword?: string;
}

export interface SnmpTarget {
  readonly host: string;
  readonly port: number;
  readonly version: SnmpVersion;
  readonly transport: "udp4" | "udp6";
  /** v1 and v2c. */
  readonly community?: string;
  /** v3. */
  readonly user?: SnmpUser;
}

export interface SnmpRow {
  readonly oid: string;
  readonly value: SnmpValue;
}

/**
 * `step` names what a request is for, in messages ("reading the outlet states"); without one a
 * message names the request by a short OID summary.
 */
export interface SnmpClient {
  readonly peer: string;
  get(oids: readonly string[], step?: string): Promise<SnmpValue[]>;
  setInteger(oid: string, value: number, step?: string): Promise<void>;
  /**
   * The rows of one column (or any subtree), in order, at most `maxRows`. The walk ends at the
   * first object outside `base`, at "end of MIB view", and, with SNMPv1, at the noSuchName with
   * which v1 answers a GETNEXT past the agent's last object.
   */
  walk(base: string, maxRows: number, step?: string): Promise<SnmpRow[]>;
  close(): void;
}

const VERSIONS: Record<"1" | "2c", number> = { "1": snmp.Version1, "2c": snmp.Version2c };

/** net-snmp's ResponseInvalidCode numbers (index.js) that mean a security failure. */
const COULD_NOT_DECRYPT = 4;
const AUTH_FAILURE = 5;

function errorStatusName(status: number): string {
  const name = snmp.ErrorStatus[status];
  return typeof name === "string"
    ? name.charAt(0).toLowerCase() + name.slice(1)
    : `error status ${status}`;
}

/** A request in messages: its step, or "GET 1.3.6.1.2.1.1.2.0 and 10 more OIDs". */
export function requestSummary(kind: string, oids: readonly string[]): string {
  const [first] = oids;
  if (first === undefined) return kind;
  return oids.length === 1
    ? `${kind} ${first}`
    : `${kind} ${first} and ${oids.length - 1} more OID${oids.length === 2 ? "" : "s"}`;
}

export function openSnmp(
  target: SnmpTarget,
  requestTimeoutMs: number,
  log: (line: string) => void = () => {},
  dgramModule?: DatagramModule,
): SnmpClient {
  const peer =
    target.transport === "udp6"
      ? `[${target.host}]:${target.port}`
      : `${target.host}:${target.port}`;
  // A socket connected to the PDU (replies from anywhere else never arrive), unless a stand-in
  // network is given.
  const link =
    dgramModule === undefined
      ? pduLink(target.host, target.port, target.transport, requestTimeoutMs, peer)
      : undefined;
  // Retransmit well inside the budget: a lost datagram costs one interval, not the whole timeout.
  const intervalMs = Math.max(200, Math.min(1000, Math.floor(requestTimeoutMs / 4)));
  const options: snmp.SessionOptions = {
    port: target.port,
    transport: target.transport,
    timeout: intervalMs,
    retries: Math.max(0, Math.floor(requestTimeoutMs / intervalMs) - 1),
    backoff: 1,
    // A GET answered for another OID must never be read as this one's value.
    reportOidMismatchErrors: true,
    backwardsGetNexts: false,
    dgramModule: dgramModule ?? link?.datagrams,
  };
  const session = createSession(target, options);
  // Undecodable datagrams (a garbage answer) are emitted as errors; they must not end the process.
  session.on("error", (err: unknown) =>
    log(
      `snmp: ignored an undecodable datagram from ${peer}: ${err instanceof Error ? err.name : "error"}`,
    ),
  );
  const failure = failureOf(target, peer, requestTimeoutMs);

  /** Fails the request in flight, if any (an ICMP "port unreachable" needs no more waiting). */
  let abortPending: ((err: SnmpError) => void) | undefined;
  if (link !== undefined) link.onRefused = (err) => abortPending?.(err);

  /** One request, bounded by our own timer too, whatever the library's retransmissions do. */
  const request = (
    what: string,
    step: string,
    start: (callback: snmp.ResponseCallback) => void,
  ): Promise<snmp.Varbind[]> =>
    new Promise((resolve, reject) => {
      let done = false;
      const finish = (err: unknown, varbinds?: snmp.Varbind[]): void => {
        if (done) return;
        done = true;
        abortPending = undefined;
        clearTimeout(timer);
        if (err) reject(failure(err, step));
        else resolve(varbinds ?? []);
      };
      const timer = setTimeout(
        () => finish(new snmp.RequestTimedOutError("timeout")),
        requestTimeoutMs + 250,
      );
      abortPending = (err) => finish(err);
      log(`snmp: -> ${what}`);
      try {
        start((err, varbinds) => finish(err, varbinds));
      } catch (err) {
        finish(err);
      }
    });

  return {
    peer,
    async get(oids, step) {
      const varbinds = await request(
        `GET ${oids.join(" ")}`,
        step ?? requestSummary("GET", oids),
        (cb) => session.get([...oids], cb),
      );
      if (varbinds.length !== oids.length)
        throw new SnmpProtocolError(
          `PDU ${peer} answered ${varbinds.length} values for ${oids.length} OIDs (${step ?? requestSummary("GET", oids)})`,
        );
      return varbinds.map((vb) => toSnmpValue(vb.type, vb.value));
    },
    async setInteger(oid, value, step) {
      const varbinds = await request(
        `SET ${oid} = ${value}`,
        step ?? `SET ${oid} = ${value}`,
        (cb) => session.set([{ oid, type: snmp.ObjectType.Integer, value }], cb),
      );
      const echoed =
        varbinds[0] === undefined ? undefined : toSnmpValue(varbinds[0].type, varbinds[0].value);
      if (echoed?.kind === "missing")
        throw new SnmpRequestError(
          `PDU ${peer} has no object ${oid} (${echoed.reason})`,
          echoed.reason,
        );
    },
    async walk(base, maxRows, step) {
      const rows: SnmpRow[] = [];
      let cursor = base;
      while (rows.length < maxRows) {
        let vb: snmp.Varbind | undefined;
        try {
          [vb] = await request(`GETNEXT ${cursor}`, step ?? `GETNEXT ${cursor}`, (cb) =>
            session.getNext([cursor], cb),
          );
        } catch (err) {
          // SNMPv1 has no endOfMibView: a GETNEXT past the agent's last object is noSuchName.
          if (
            target.version === "1" &&
            err instanceof SnmpRequestError &&
            err.status === "noSuchName"
          )
            break;
          throw err;
        }
        if (vb === undefined) break;
        const value = toSnmpValue(vb.type, vb.value);
        if (value.kind === "missing" || !isUnder(vb.oid, base)) break;
        // An agent that answers GETNEXT with an OID that does not follow would loop forever.
        if (compareOids(vb.oid, cursor) <= 0)
          throw new SnmpProtocolError(`PDU ${peer} walked backwards at ${vb.oid}`);
        rows.push({ oid: vb.oid, value });
        cursor = vb.oid;
      }
      return rows;
    },
    close() {
      try {
        session.close();
      } catch {
        // already closed
      }
    },
  };
}

function createSession(target: SnmpTarget, options: snmp.SessionOptions): snmp.Session {
  if (target.version !== "3")
    return snmp.createSession(target.host, target.community ?? "", {
      ...options,
      version: VERSIONS[target.version],
    });
  const user = target.user;
  if (user === undefined) throw new SnmpProtocolError("SNMPv3 needs a user");
  return snmp.createV3Session(
    target.host,
    {
      name: user.name,
      level: snmp.SecurityLevel[user.level],
      ...(user.level === "noAuthNoPriv"
        ? {}
        : {
            authProtocol: snmp.AuthProtocols[user.authProtocol ?? "sha"],
            authKey: user.authPassword ?? "",
          }),
      ...(user.level === "authPriv"
        ? {
            privProtocol: snmp.PrivProtocols[user.privProtocol ?? "aes"],
            privKey: user.privPassword ?? "",
          }
        : {}),
    },
    options,
  );
}

/** Turns whatever a request failed with into a typed error naming the PDU and the step. */
function failureOf(
  target: SnmpTarget,
  peer: string,
  requestTimeoutMs: number,
): (err: unknown, step: string) => SnmpError {
  return (err, step) => {
    if (err instanceof SnmpError) return err;
    const seconds = Math.round(requestTimeoutMs / 100) / 10;
    if (err instanceof snmp.RequestTimedOutError) {
      return new SnmpTimeoutError(
        target.version === "3"
          ? `no answer from PDU ${peer} within ${seconds} s (${step}): the PDU is down or unreachable${
              target.user?.level === "authPriv"
                ? ", or snmp_priv_passwd or snmp_priv_prot is wrong (a PDU drops what it cannot decrypt)"
                : ""
            }`
          : `no answer from PDU ${peer} within ${seconds} s (${step}): the PDU is down or unreachable, or the community is wrong (SNMP v${target.version} does not answer a wrong community)`,
      );
    }
    if (err instanceof snmp.ResponseInvalidError) {
      const user = target.user?.name ?? "";
      if (err.code === COULD_NOT_DECRYPT || /decrypt/i.test(err.message)) {
        return new SnmpAuthError(
          `PDU ${peer} could not decrypt, or be decrypted by, SNMPv3 user '${user}': wrong snmp_priv_passwd or snmp_priv_prot`,
        );
      }
      if (err.code === AUTH_FAILURE) {
        if (/unknown user/i.test(err.message))
          return new SnmpAuthError(`PDU ${peer} does not know SNMPv3 user '${user}'`);
        if (/wrong digest|digest/i.test(err.message))
          return new SnmpAuthError(
            `PDU ${peer} refused the SNMPv3 authentication of user '${user}': wrong password or snmp_auth_prot`,
          );
        if (/security level/i.test(err.message))
          return new SnmpAuthError(
            `PDU ${peer} does not allow security level ${target.user?.level ?? ""} for SNMPv3 user '${user}'`,
          );
        if (/time window/i.test(err.message))
          return new SnmpAuthError(`PDU ${peer} answered outside the SNMPv3 time window`);
        return new SnmpAuthError(
          `PDU ${peer} refused the SNMPv3 security parameters of user '${user}'`,
        );
      }
      return new SnmpProtocolError(
        `unexpected answer from PDU ${peer} (${step}): response check ${String(snmp.ResponseInvalidCode[err.code] ?? err.code)} failed`,
      );
    }
    if (err instanceof snmp.RequestFailedError) {
      const status = errorStatusName(err.status);
      return new SnmpRequestError(`PDU ${peer} refused ${step}: ${status}`, status);
    }
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === "ENETUNREACH" || code === "EHOSTUNREACH")
      return new SnmpNetworkError(`no route to PDU ${peer} (${code}, ${step})`);
    return new SnmpProtocolError(
      `SNMP request to PDU ${peer} failed (${step}): ${typeof code === "string" ? code : err instanceof Error ? err.name : "unknown error"}`,
    );
  };
}

/**
 * Runs one SNMPv2c GET through net-snmp's encoder and decoder with no network: the datagram
 * socket is a stand-in that answers each request with the request itself turned into a response.
 * Called while the startup snapshot is built, so the executable starts with that code compiled.
 */
export async function exerciseSnmpCodec(): Promise<void> {
  const client = openSnmp(
    { host: "127.0.0.1", port: 161, version: "2c", transport: "udp4", community: "public" },
    1000,
    undefined,
    loopbackDatagrams(asGetResponse),
  );
  try {
    await client.get(["1.3.6.1.2.1.1.2.0"]);
  } catch {
    // Only speed is at stake here.
  } finally {
    client.close();
  }
}

/**
 * A datagram "network" in the process: every packet sent is answered at once with
 * `answer(packet)` (or not at all when that is undefined).
 */
export function loopbackDatagrams(answer: (request: Buffer) => Buffer | undefined): DatagramModule {
  class LoopbackSocket extends EventEmitter {
    send(
      buffer: Buffer,
      offset: number,
      length: number,
      port: number,
      address: string,
      callback: (error: Error | null, bytes: number) => void,
    ): void {
      callback(null, length);
      const response = answer(buffer.subarray(offset, offset + length));
      if (response !== undefined)
        setImmediate(() =>
          this.emit("message", response, { address, port, family: "IPv4", size: response.length }),
        );
    }
    bind(): void {}
    close(): void {
      this.emit("close");
    }
    ref(): void {}
    unref(): void {}
  }
  return { createSocket: () => new LoopbackSocket() };
}

/** A v1/v2c GetRequest turned into a GetResponse (PDU tag 0xA0 → 0xA2), or undefined. */
export function asGetResponse(request: Buffer): Buffer | undefined {
  const skipHeader = (at: number): number => {
    const first = request[at + 1] ?? 0;
    return at + 2 + (first & 0x80 ? first & 0x7f : 0);
  };
  let at = skipHeader(0); // SEQUENCE
  at = skipHeader(at) + (request[at + 1] ?? 0); // version
  at = skipHeader(at) + (request[at + 1] ?? 0); // community
  if (request[at] !== 0xa0) return undefined;
  const response = Buffer.from(request);
  response[at] = 0xa2;
  return response;
}
