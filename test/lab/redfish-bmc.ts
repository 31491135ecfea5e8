// Why one file: one device: its resources, sessions, tasks and quirks act on one shared state.
/**
 * A Redfish BMC for the lab: HTTPS on loopback with a certificate made at start (openssl, signed by
 * a lab CA), serving real vendors' resources (test/fixtures/redfish: iDRAC, iLO 5, OpenBMC, a
 * two-node HPE Cray blade) with the power simulated, sessions and tasks made in the shape of DMTF's
 * examples, and each vendor's own way of answering a reset (iDRAC: 204, 409 "already on"; iLO: 200
 * with a Success message, 400 InvalidOperationForSystemState; OpenBMC: 200). Quirks are switchable
 * while it runs (`bmc.quirks`), and every request is logged (`bmc.requests`) for the tests.
 *
 * Written here, sharing no code with lib/redfish. In-process for the tests; `serve` (at the end)
 * runs one as a process with a plain-HTTP control port, for the bench (hyperfine blocks its caller).
 */
import { execFileSync } from "node:child_process";
import { X509Certificate, randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { requireProgram } from "./bins.js";
import { labBaseDir, makeLabDir, removeLabDir } from "./daemon.js";

export type Vendor = "dell" | "hpe-ilo5" | "openbmc" | "hpe-cray-ex425";
export const VENDORS: readonly Vendor[] = ["dell", "hpe-ilo5", "openbmc", "hpe-cray-ex425"];

export interface RedfishLabUser {
  readonly name: string;
  readonly password: string;
  readonly role: "Administrator" | "Operator" | "ReadOnly";
}

export const REDFISH_ADMIN: RedfishLabUser = {
  name: "admin",
  password: "lab-Redfish-admin-7",
  role: "Administrator",
};
export const REDFISH_OPERATOR: RedfishLabUser = {
  name: "operator",
  password: "lab-Redfish-operator-7",
  role: "Operator",
};
export const REDFISH_READONLY: RedfishLabUser = {
  name: "monitor",
  password: "lab-Redfish-monitor-7",
  role: "ReadOnly",
};
const USERS = [REDFISH_ADMIN, REDFISH_OPERATOR, REDFISH_READONLY];

export interface RedfishQuirks {
  /** How a reset is answered: as the vendor does (default), or 202 with a task monitor. */
  resetAnswer?: "vendor" | "task";
  /** The power changes this long after a reset is accepted (0: before the answer). */
  transitionMs?: number;
  /** While a change is pending, PowerState reads PoweringOn/PoweringOff (else still the old state). */
  transitional?: boolean;
  /** A task (resetAnswer "task") ends in TaskState Exception and the power does not change. */
  taskFails?: boolean;
  /** ResetType values this firmware lacks: not offered, and refused with 400. */
  without?: readonly string[];
  /** The reset action lists no ResetType values at all (neither inline nor in an ActionInfo). */
  noAllowableValues?: boolean;
  /** POST to the session collection answers 405: Basic authentication only. */
  sessionsRefused?: boolean;
  /** A session token stops being accepted (401) after this many requests made with it. */
  sessionExpiresAfter?: number;
  /** Every answer is held this long. */
  slowMs?: number;
  /** Connections are accepted and never answered, not even the TLS handshake. */
  dead?: boolean;
  /** Resets are accepted but the power never changes. */
  stuck?: boolean;
  /** PowerState reads this instead of the simulated state (null, "Paused", ...). */
  powerStateOverride?: unknown;
  /** Every answer carries Connection: close. */
  noKeepAlive?: boolean;
  /** Bodies are sent with chunked transfer coding instead of Content-Length. */
  chunked?: boolean;
  /** An idle kept connection is closed after this long, silently (as HTTP servers do). */
  idleCloseMs?: number;
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly auth: "none" | "basic" | "session";
  /** The ResetType of a reset request. */
  readonly resetType?: string;
}

export interface LabCertificates {
  readonly caFile: string;
  /** A CA that signed nothing this BMC serves: trusting it must not be enough. */
  readonly otherCaFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** SHA-256 of the BMC's certificate, "AB:CD:…". */
  readonly fingerprint: string;
  /** A self-signed certificate instead, as BMCs ship (`selfSigned`), its key and fingerprint. */
  readonly selfSignedCertFile: string;
  readonly selfSignedKeyFile: string;
  readonly selfSignedFingerprint: string;
}

interface SimulatedSystem {
  readonly id: string;
  readonly uri: string;
  power: "on" | "off";
  pending: { to: "on" | "off"; at: number; timer: NodeJS.Timeout } | undefined;
  nmis: number;
  restarts: number;
}

interface LabTask {
  readonly id: string;
  readonly monitor: string;
  readonly doneAt: number;
  readonly fails: boolean;
  readonly type: string;
}

interface LabSession {
  readonly id: string;
  readonly token: string;
  readonly user: RedfishLabUser;
  uses: number;
}

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/redfish");
const ROOT = "/redfish/v1";

/** A vendor's resources, by path (no trailing slash). */
function loadMockup(dir: string): Map<string, Record<string, unknown>> {
  const resources = new Map<string, Record<string, unknown>>();
  const walk = (sub: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(sub, entry.name));
      else if (entry.name === "index.json") {
        const uri = sub === "" ? ROOT : `${ROOT}/${sub.split(path.sep).join("/")}`;
        resources.set(
          uri,
          JSON.parse(fs.readFileSync(path.join(dir, sub, entry.name), "utf8")) as Record<
            string,
            unknown
          >,
        );
      }
    }
  };
  walk("");
  return resources;
}

function fixture(relative: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, relative), "utf8")) as Record<
    string,
    unknown
  >;
}

/**
 * Makes a lab CA, a BMC certificate it signs (for 127.0.0.1 and localhost), another CA, and a
 * self-signed BMC certificate (what iDRAC and iLO ship with).
 */
export function makeLabCertificates(
  dir: string,
  /** More IP addresses the BMC's certificates name (the cluster lab's management address). */
  extraIps: readonly string[] = [],
): LabCertificates {
  const san = ["IP:127.0.0.1", ...extraIps.map((ip) => `IP:${ip}`), "DNS:localhost"].join(",");
  const openssl = requireProgram("openssl");
  const run = (...args: string[]): void => {
    execFileSync(openssl, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  };
  // A self-signed certificate and its key (NAME.pem, NAME.key), with the given extensions.
  const selfSigned = (name: string, cn: string, ...extensions: string[]): void =>
    run(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "3",
      "-subj",
      `/CN=${cn}`,
      ...extensions.flatMap((e) => ["-addext", e]),
    );
  selfSigned("ca", "kvmha lab Redfish CA");
  selfSigned("other-ca", "kvmha lab unrelated CA");
  selfSigned("self", "idrac-kvmha-lab", `subjectAltName=${san}`);
  run(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "bmc.key",
    "-out",
    "bmc.csr",
    "-subj",
    "/CN=kvmha-lab-bmc",
  );
  fs.writeFileSync(
    path.join(dir, "bmc.ext"),
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
  );
  run(
    "x509",
    "-req",
    "-in",
    "bmc.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "bmc.pem",
    "-days",
    "3",
    "-extfile",
    "bmc.ext",
  );
  const certFile = path.join(dir, "bmc.pem");
  const selfSignedCertFile = path.join(dir, "self.pem");
  return {
    selfSignedCertFile,
    selfSignedKeyFile: path.join(dir, "self.key"),
    selfSignedFingerprint: new X509Certificate(fs.readFileSync(selfSignedCertFile)).fingerprint256,
    caFile: path.join(dir, "ca.pem"),
    otherCaFile: path.join(dir, "other-ca.pem"),
    certFile,
    keyFile: path.join(dir, "bmc.key"),
    fingerprint: new X509Certificate(fs.readFileSync(certFile)).fingerprint256,
  };
}

function redfishError(status: number, messageId: string, message: string): unknown {
  return {
    error: {
      code: status === 400 || status === 409 ? "Base.1.8.GeneralError" : messageId,
      message,
      "@Message.ExtendedInfo": [
        { MessageId: messageId, Message: message, Severity: "Critical", MessageArgs: [] },
      ],
    },
  };
}

const POWER_WORD = { on: "On", off: "Off" } as const;

export class RedfishBmc {
  readonly host = "127.0.0.1";
  port = 0;
  readonly quirks: RedfishQuirks;
  readonly requests: RequestRecord[] = [];
  readonly systems: SimulatedSystem[] = [];
  /**
   * Called when a reset changes a system's power (not for setPower): the cluster lab passes it
   * on to the node's power, as ipmi_sim's chassis hook does for an IPMI BMC.
   */
  onPowerChange: ((state: "on" | "off", systemId: string) => void) | undefined;
  private readonly resources: Map<string, Record<string, unknown>>;
  private readonly sessions = new Map<string, LabSession>();
  private readonly tasks = new Map<string, LabTask>();
  /** Every connection accepted, so that stop() ends them all (held ones included). */
  private readonly sockets = new Set<net.Socket>();
  private readonly tcp: net.Server;
  private readonly tlsServer: https.Server;
  private control: http.Server | undefined;
  private sequence = 0;

  private constructor(
    readonly vendor: Vendor,
    readonly dir: string,
    readonly certificates: LabCertificates,
    power: "on" | "off",
    quirks: RedfishQuirks,
    selfSigned: boolean,
  ) {
    this.quirks = { ...quirks };
    this.resources = loadMockup(path.join(FIXTURES, vendor));
    const members = (this.resources.get(`${ROOT}/Systems`)?.Members ?? []) as {
      "@odata.id": string;
    }[];
    for (const member of members) {
      const uri = member["@odata.id"].replace(/\/+$/, "");
      this.systems.push({
        id: uri.split("/").pop() as string,
        uri,
        power,
        pending: undefined,
        nmis: 0,
        restarts: 0,
      });
    }
    this.tlsServer = https.createServer(
      {
        key: fs.readFileSync(selfSigned ? certificates.selfSignedKeyFile : certificates.keyFile),
        cert: fs.readFileSync(selfSigned ? certificates.selfSignedCertFile : certificates.certFile),
      },
      (req, res) => this.handle(req, res),
    );
    this.tcp = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => this.sockets.delete(socket));
      // Idle for that long (no byte either way): closed, without a word.
      const idle = this.quirks.idleCloseMs;
      if (idle !== undefined) socket.setTimeout(idle, () => socket.destroy());
      // dead: accept and say nothing, as a BMC whose web server hangs.
      if (this.quirks.dead !== true) this.tlsServer.emit("connection", socket);
    });
  }

  static async start(
    options: {
      vendor?: Vendor;
      power?: "on" | "off";
      quirks?: RedfishQuirks;
      /** Reuse certificates made for another lab BMC (saves openssl runs). */
      certificates?: LabCertificates;
      /** Serve the self-signed certificate instead of the lab CA's. */
      selfSigned?: boolean;
      /** More IP addresses its certificates name (made here; not with `certificates`). */
      extraIps?: readonly string[];
    } = {},
  ): Promise<RedfishBmc> {
    const dir = await makeLabDir(labBaseDir(), "kvmha-redfish-", "the lab Redfish BMC");
    const certificates = options.certificates ?? makeLabCertificates(dir, options.extraIps);
    const bmc = new RedfishBmc(
      options.vendor ?? "dell",
      dir,
      certificates,
      options.power ?? "on",
      options.quirks ?? {},
      options.selfSigned === true,
    );
    await new Promise<void>((resolve, reject) => {
      bmc.tcp.once("error", reject);
      bmc.tcp.listen(0, bmc.host, () => resolve());
    });
    bmc.port = (bmc.tcp.address() as net.AddressInfo).port;
    return bmc;
  }

  /** The first (or named) system's simulated power. */
  readPower(systemId?: string): "on" | "off" {
    return this.system(systemId).power;
  }

  setPower(state: "on" | "off", systemId?: string): void {
    const system = this.system(systemId);
    if (system.pending !== undefined) clearTimeout(system.pending.timer);
    system.pending = undefined;
    system.power = state;
  }

  nmis(systemId?: string): number {
    return this.system(systemId).nmis;
  }

  restarts(systemId?: string): number {
    return this.system(systemId).restarts;
  }

  /** Every session token handed out, for tests that prove none is ever printed. */
  readonly tokens: string[] = [];

  /** Sessions still open (a session the agent did not delete stays here). */
  openSessions(): number {
    return this.sessions.size;
  }

  /** Requests from now on: `const mark = bmc.mark(); … bmc.since(mark)`. */
  mark(): number {
    return this.requests.length;
  }
  since(mark: number): RequestRecord[] {
    return this.requests.slice(mark);
  }

  async stop(): Promise<void> {
    for (const system of this.systems) if (system.pending) clearTimeout(system.pending.timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    this.tlsServer.close();
    if (this.control !== undefined) {
      this.control.closeAllConnections();
      await new Promise<void>((resolve) => this.control?.close(() => resolve()));
    }
    await removeLabDir(this.dir);
  }

  /** A plain-HTTP port on loopback to set and read the power (`PUT /power/on`), for the bench. */
  async listenControl(): Promise<number> {
    this.control = http.createServer((req, res) => {
      const match = /^\/power\/(on|off)$/.exec(req.url ?? "");
      if (req.method === "PUT" && match !== null) this.setPower(match[1] as "on" | "off");
      res.end(`${this.readPower()}\n`);
    });
    await new Promise<void>((resolve) => this.control?.listen(0, this.host, () => resolve()));
    return (this.control.address() as net.AddressInfo).port;
  }

  private system(id?: string): SimulatedSystem {
    const found = id === undefined ? this.systems[0] : this.systems.find((s) => s.id === id);
    if (found === undefined) throw new Error(`no system ${id ?? "at all"} on this lab BMC`);
    return found;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const respond = (): void => this.route(req, Buffer.concat(chunks), res);
      if ((this.quirks.slowMs ?? 0) > 0) setTimeout(respond, this.quirks.slowMs);
      else respond();
    });
  }

  private send(
    res: http.ServerResponse,
    record: Omit<RequestRecord, "status">,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): void {
    this.requests.push({ ...record, status });
    const text = body === undefined ? "" : JSON.stringify(body);
    const out: Record<string, string> = { ...headers, "OData-Version": "4.0" };
    if (text !== "") out["Content-Type"] = "application/json;odata.metadata=minimal;charset=utf-8";
    if (this.quirks.noKeepAlive === true) out.Connection = "close";
    if (this.quirks.chunked !== true && status !== 204)
      out["Content-Length"] = String(Buffer.byteLength(text));
    res.writeHead(status, out);
    res.end(text);
  }

  private authenticate(req: http.IncomingMessage): {
    kind: RequestRecord["auth"];
    user: RedfishLabUser | undefined;
  } {
    const token = req.headers["x-auth-token"];
    if (typeof token === "string") {
      const session = [...this.sessions.values()].find((s) => s.token === token);
      if (session === undefined) return { kind: "session", user: undefined };
      session.uses += 1;
      const limit = this.quirks.sessionExpiresAfter;
      if (limit !== undefined && session.uses > limit) {
        this.sessions.delete(session.id);
        return { kind: "session", user: undefined };
      }
      return { kind: "session", user: session.user };
    }
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
    if (basic !== null) {
      const [name, ...rest] = Buffer.from(basic[1] as string, "base64")
        .toString("utf8")
        .split(":");
      const user = USERS.find((u) => u.name === name && u.password === rest.join(":"));
      return { kind: "basic", user };
    }
    return { kind: "none", user: undefined };
  }

  private route(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    const method = req.method ?? "GET";
    const url = (req.url ?? "/").split("?")[0] as string;
    const uri = url.length > 1 ? url.replace(/\/+$/, "") : url;
    const sessionsUri = `${ROOT}/SessionService/Sessions`;
    // The service root and the session login need no authentication (DSP0266).
    if (method === "GET" && (uri === ROOT || uri === "/redfish")) {
      this.send(res, { method, path: uri, auth: "none" }, 200, this.resources.get(ROOT));
      return;
    }
    if (method === "POST" && uri === sessionsUri) {
      this.login(body, res);
      return;
    }
    const auth = this.authenticate(req);
    const record = { method, path: uri, auth: auth.kind };
    if (auth.user === undefined) {
      this.send(
        res,
        record,
        401,
        redfishError(
          401,
          "Base.1.8.NoValidSession",
          "There is no valid session established with the implementation.",
        ),
        { "WWW-Authenticate": 'Basic realm="lab"' },
      );
      return;
    }
    if (method === "DELETE" && uri.startsWith(`${sessionsUri}/`)) {
      const id = uri.slice(sessionsUri.length + 1);
      const existed = this.sessions.delete(id);
      this.send(
        res,
        record,
        existed ? 204 : 404,
        existed
          ? undefined
          : redfishError(
              404,
              "Base.1.8.ResourceMissingAtURI",
              `The resource at the URI ${uri} was not found.`,
            ),
      );
      return;
    }
    const system = this.systems.find((s) => uri === `${s.uri}/Actions/ComputerSystem.Reset`);
    if (method === "POST" && system !== undefined) {
      this.reset(res, record, system, auth.user, body);
      return;
    }
    if (method === "GET") {
      const task = [...this.tasks.values()].find(
        (t) => t.monitor === uri || `${ROOT}/TaskService/Tasks/${t.id}` === uri,
      );
      if (task !== undefined) {
        this.taskAnswer(res, record, task, uri === task.monitor);
        return;
      }
      const resource = this.resource(uri);
      if (resource !== undefined) {
        this.send(res, record, 200, resource);
        return;
      }
    }
    this.send(
      res,
      record,
      method === "GET" ? 404 : 405,
      redfishError(
        404,
        "Base.1.8.ResourceMissingAtURI",
        `The resource at the URI ${uri} was not found.`,
      ),
    );
  }

  private login(body: Buffer, res: http.ServerResponse): void {
    const record = {
      method: "POST",
      path: `${ROOT}/SessionService/Sessions`,
      auth: "none" as const,
    };
    if (this.quirks.sessionsRefused === true) {
      this.send(
        res,
        record,
        405,
        redfishError(
          405,
          "Base.1.8.OperationNotAllowed",
          "The HTTP method is not allowed on this resource.",
        ),
        { Allow: "GET" },
      );
      return;
    }
    let credentials: { UserName?: unknown; Password?: unknown } = {};
    try {
      credentials = JSON.parse(body.toString("utf8")) as typeof credentials;
    } catch {
      // an empty or broken body is a refused login below
    }
    const user = USERS.find(
      (u) => u.name === credentials.UserName && u.password === credentials.Password,
    );
    if (user === undefined) {
      this.send(
        res,
        record,
        401,
        redfishError(
          401,
          "Base.1.8.ResourceAtUriUnauthorized",
          "While accessing the resource at the URI, the service received an authorization error.",
        ),
      );
      return;
    }
    const id = String(++this.sequence);
    const token = randomBytes(16).toString("hex");
    this.tokens.push(token);
    this.sessions.set(id, { id, token, user, uses: 0 });
    const uri = `${ROOT}/SessionService/Sessions/${id}`;
    // iLO 5 gives the Location as an absolute URL with a trailing slash; the others as a path.
    const location = this.vendor === "hpe-ilo5" ? `https://${this.host}:${this.port}${uri}/` : uri;
    const template = fixture("dmtf/SessionService/Sessions/1234567890ABCDEF/index.json");
    this.send(
      res,
      record,
      201,
      { ...template, Id: id, UserName: user.name, "@odata.id": uri },
      {
        "X-Auth-Token": token,
        Location: location,
      },
    );
  }

  /** A resource with the simulated power and the quirks applied. */
  private resource(uri: string): Record<string, unknown> | undefined {
    const stored = this.resources.get(uri);
    if (stored === undefined) return undefined;
    const resource = structuredClone(stored);
    const system = this.systems.find((s) => s.uri === uri);
    if (system !== undefined) {
      resource.PowerState =
        "powerStateOverride" in this.quirks
          ? this.quirks.powerStateOverride
          : this.powerWord(system);
      const reset = (resource.Actions as Record<string, Record<string, unknown>> | undefined)?.[
        "#ComputerSystem.Reset"
      ];
      if (reset !== undefined) {
        const inline = reset["ResetType@Redfish.AllowableValues"];
        if (this.quirks.noAllowableValues === true) {
          delete reset["ResetType@Redfish.AllowableValues"];
          delete reset["@Redfish.ActionInfo"];
        } else if (Array.isArray(inline)) {
          reset["ResetType@Redfish.AllowableValues"] = inline.filter(
            (v) => !this.lacks(v as string),
          );
        }
      }
    }
    if (Array.isArray(resource.Parameters) && uri.endsWith("/ResetActionInfo")) {
      for (const parameter of resource.Parameters as Record<string, unknown>[]) {
        if (parameter.Name === "ResetType" && Array.isArray(parameter.AllowableValues))
          parameter.AllowableValues = parameter.AllowableValues.filter(
            (v) => !this.lacks(v as string),
          );
      }
    }
    return resource;
  }

  private lacks(type: string): boolean {
    return (this.quirks.without ?? []).includes(type);
  }

  private powerWord(system: SimulatedSystem): string {
    if (system.pending !== undefined && this.quirks.transitional === true)
      return system.pending.to === "on" ? "PoweringOn" : "PoweringOff";
    return POWER_WORD[system.power];
  }

  /** The ResetType values the system's firmware takes (inline or ActionInfo, less the quirk's). */
  private offered(system: SimulatedSystem): string[] {
    const stored = this.resources.get(system.uri) ?? {};
    const reset =
      (stored.Actions as Record<string, Record<string, unknown>> | undefined)?.[
        "#ComputerSystem.Reset"
      ] ?? {};
    let values = reset["ResetType@Redfish.AllowableValues"] as string[] | undefined;
    if (values === undefined && typeof reset["@Redfish.ActionInfo"] === "string") {
      const info = this.resources.get(reset["@Redfish.ActionInfo"].replace(/\/+$/, ""));
      const parameter = (info?.Parameters as Record<string, unknown>[] | undefined)?.find(
        (p) => p.Name === "ResetType",
      );
      values = parameter?.AllowableValues as string[] | undefined;
    }
    return (values ?? []).filter((v) => !this.lacks(v));
  }

  private reset(
    res: http.ServerResponse,
    record: Omit<RequestRecord, "status">,
    system: SimulatedSystem,
    user: RedfishLabUser,
    body: Buffer,
  ): void {
    let type: unknown;
    try {
      type = (JSON.parse(body.toString("utf8")) as { ResetType?: unknown }).ResetType;
    } catch {
      type = undefined;
    }
    const resetType = typeof type === "string" ? type : String(type);
    const rec = { ...record, resetType };
    if (user.role === "ReadOnly") {
      this.send(
        res,
        rec,
        403,
        redfishError(
          403,
          "Base.1.8.InsufficientPrivilege",
          "There are insufficient privileges for the account or credentials associated with the current session to perform the requested operation.",
        ),
      );
      return;
    }
    if (!this.offered(system).includes(resetType)) {
      this.send(
        res,
        rec,
        400,
        redfishError(
          400,
          "Base.1.8.ActionParameterValueNotInList",
          `The value ${resetType} for the parameter ResetType in the action ComputerSystem.Reset is not in the list of acceptable values.`,
        ),
      );
      return;
    }
    const to = (
      { On: "on", ForceOn: "on", ForceOff: "off", Off: "off", GracefulShutdown: "off" } as const
    )[resetType as "On"];
    const settled = system.pending?.to ?? system.power;
    if (this.quirks.resetAnswer !== "task" && to !== undefined && to === settled) {
      // What each firmware says to a reset into the state it is in.
      if (this.vendor === "dell") {
        const word = to === "on" ? "ON" : "OFF";
        this.send(
          res,
          rec,
          409,
          redfishError(
            409,
            to === "on" ? "IDRAC.2.1.PSU501" : "IDRAC.2.1.PSU502",
            `Server is already powered ${word}.`,
          ),
        );
        return;
      }
      if (this.vendor === "hpe-ilo5") {
        this.send(
          res,
          rec,
          400,
          redfishError(400, "iLO.2.14.InvalidOperationForSystemState", `Power is ${to}`),
        );
        return;
      }
    }
    if (this.quirks.resetAnswer === "task") {
      const id = String(++this.sequence);
      const task: LabTask = {
        id,
        monitor: `${ROOT}/TaskService/TaskMonitors/${id}`,
        doneAt: Date.now() + (this.quirks.transitionMs ?? 0),
        fails: this.quirks.taskFails === true,
        type: resetType,
      };
      this.tasks.set(id, task);
      if (!task.fails) this.apply(system, resetType);
      this.send(res, rec, 202, this.taskBody(task), {
        Location: task.monitor,
        "Retry-After": "1",
      });
      return;
    }
    this.apply(system, resetType);
    switch (this.vendor) {
      case "dell":
      case "hpe-cray-ex425":
        this.send(res, rec, 204);
        return;
      case "hpe-ilo5":
        this.send(res, rec, 200, {
          error: {
            code: "iLO.0.10.ExtendedInfo",
            message: "See @Message.ExtendedInfo for more information.",
            "@Message.ExtendedInfo": [{ MessageId: "Base.1.4.Success" }],
          },
        });
        return;
      case "openbmc":
        this.send(res, rec, 200, {
          "@Message.ExtendedInfo": [
            {
              "@odata.type": "#Message.v1_1_1.Message",
              Message: "The request completed successfully.",
              MessageArgs: [],
              MessageId: "Base.1.13.0.Success",
              MessageSeverity: "OK",
              Resolution: "None",
            },
          ],
        });
        return;
    }
  }

  /** Starts the power change a reset asks for (after transitionMs), unless stuck. */
  private apply(system: SimulatedSystem, type: string): void {
    if (this.quirks.stuck === true) return;
    if (type === "Nmi") {
      system.nmis += 1;
      return;
    }
    if (type === "ForceRestart" || type === "GracefulRestart" || type === "PowerCycle") {
      system.restarts += 1;
      return;
    }
    const to =
      type === "PushPowerButton"
        ? system.power === "on"
          ? "off"
          : "on"
        : ["On", "ForceOn"].includes(type)
          ? "on"
          : "off";
    if (system.pending !== undefined) clearTimeout(system.pending.timer);
    const delay = this.quirks.transitionMs ?? 0;
    if (delay <= 0) {
      system.pending = undefined;
      system.power = to;
      this.onPowerChange?.(to, system.id);
      return;
    }
    const timer = setTimeout(() => {
      system.power = to;
      system.pending = undefined;
      this.onPowerChange?.(to, system.id);
    }, delay);
    system.pending = { to, at: Date.now() + delay, timer };
  }

  private taskBody(task: LabTask): Record<string, unknown> {
    const template = fixture("dmtf/TaskService/Tasks/545/index.json");
    const running = Date.now() < task.doneAt;
    const state = running ? "Running" : task.fails ? "Exception" : "Completed";
    return {
      ...template,
      Id: task.id,
      Name: `Task ${task.id}`,
      "@odata.id": `${ROOT}/TaskService/Tasks/${task.id}`,
      TaskState: state,
      TaskStatus: task.fails && !running ? "Critical" : "OK",
      Messages:
        task.fails && !running
          ? [
              {
                MessageId: "Base.1.8.GeneralError",
                Message: `The ${task.type} request could not be carried out.`,
                Severity: "Critical",
              },
            ]
          : [],
    };
  }

  private taskAnswer(
    res: http.ServerResponse,
    record: Omit<RequestRecord, "status">,
    task: LabTask,
    viaMonitor: boolean,
  ): void {
    const body = this.taskBody(task);
    if (!viaMonitor || body.TaskState !== "Completed") {
      // The monitor answers 202 while the task runs; a failed task shows itself with 200.
      this.send(
        res,
        record,
        viaMonitor && body.TaskState === "Running" ? 202 : 200,
        body,
        viaMonitor ? { Location: task.monitor } : {},
      );
      return;
    }
    // Done: the monitor answers with the operation's own response, then is gone.
    this.tasks.delete(task.id);
    this.send(res, record, 204);
  }
}

export function startRedfishBmc(
  options: Parameters<typeof RedfishBmc.start>[0] = {},
): Promise<RedfishBmc> {
  return RedfishBmc.start(options);
}

/**
 * `node --import tsx test/lab/redfish-bmc.ts serve VENDOR`: one lab BMC as a process, for the
 * bench. Prints one JSON line ({port, controlPort, caFile, fingerprint, dir}) and serves until
 * SIGTERM or SIGINT; `curl -X PUT http://127.0.0.1:CONTROL/power/on` switches its power.
 */
async function serve(vendor: Vendor): Promise<void> {
  const bmc = await RedfishBmc.start({ vendor });
  const controlPort = await bmc.listenControl();
  const stop = (): void => {
    void bmc.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  process.stdout.write(
    `${JSON.stringify({ port: bmc.port, controlPort, caFile: bmc.certificates.caFile, fingerprint: bmc.certificates.fingerprint, dir: bmc.dir, pid: process.pid })}\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "serve") {
  const vendor = (process.argv[3] ?? "dell") as Vendor;
  if (!VENDORS.includes(vendor)) {
    process.stderr.write(`unknown vendor ${vendor} (${VENDORS.join(", ")})\n`);
    process.exit(2);
  }
  serve(vendor).catch((err: unknown) => {
    process.stderr.write(`redfish-bmc: ${String(err)}\n`);
    process.exit(1);
  });
}
