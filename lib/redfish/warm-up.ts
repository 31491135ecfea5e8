/**
 * The snapshot warm-up: runs the client's whole path (connection, certificate check, session
 * login, Systems discovery, PowerState, reset, logout; the HTTP codec both ways) against an
 * in-process stand-in BMC behind an injected TLS socket. No network, no files, no timers that
 * fire, no state at module level. Called while the startup snapshot is built (lib/cli/main.ts
 * `preloadShippedCommands`), so the executable starts with this code compiled.
 */
import { EventEmitter } from "node:events";
import { Deadline } from "../deadline.js";
import { RedfishClient } from "./client.js";
import type { TlsConnector, TlsSocketLike } from "./connection.js";
import { RedfishSystem } from "./system.js";

const ROOT = "/redfish/v1";
const SYSTEM = `${ROOT}/Systems/1`;

function answer(status: number, reason: string, body?: unknown, headers = ""): string {
  const text = body === undefined ? "" : JSON.stringify(body);
  const length = status === 204 ? "" : `Content-Length: ${Buffer.byteLength(text)}\r\n`;
  return `HTTP/1.1 ${status} ${reason}\r\n${headers}${length}\r\n${text}`;
}

/** What a BMC would say to each request the fence agent makes. */
function respond(request: string, power: { state: string }): string {
  const line = request.slice(0, request.indexOf("\r\n"));
  const [method, path] = line.split(" ");
  if (method === "POST" && path === `${ROOT}/SessionService/Sessions`)
    return answer(
      201,
      "Created",
      { "@odata.id": `${ROOT}/SessionService/Sessions/1` },
      `X-Auth-Token: warm-up\r\nLocation: ${ROOT}/SessionService/Sessions/1\r\n`,
    );
  if (method === "GET" && path === `${ROOT}/Systems`)
    return answer(200, "OK", { Members: [{ "@odata.id": SYSTEM }] });
  if (method === "GET" && path === SYSTEM)
    return answer(200, "OK", {
      "@odata.id": SYSTEM,
      PowerState: power.state,
      Actions: {
        "#ComputerSystem.Reset": {
          target: `${SYSTEM}/Actions/ComputerSystem.Reset`,
          "ResetType@Redfish.AllowableValues": ["On", "ForceOff"],
        },
      },
    });
  if (method === "POST" && path === `${SYSTEM}/Actions/ComputerSystem.Reset`) {
    power.state = request.includes("ForceOff") ? "Off" : "On";
    return answer(204, "No Content");
  }
  if (method === "DELETE") return answer(204, "No Content");
  return answer(404, "Not Found", { error: { message: "not here" } });
}

/** A TLS socket that is already connected to the stand-in BMC. */
class StandInSocket extends EventEmitter implements TlsSocketLike {
  readonly authorized = true;
  private readonly power = { state: "On" };

  constructor() {
    super();
    // Connected as soon as anyone listens: the handshake is over before the first listener.
    this.on("newListener", (event: string) => {
      if (event === "secureConnect") queueMicrotask(() => this.emit("secureConnect"));
    });
  }

  getPeerCertificate(): { raw: Buffer } {
    return { raw: Buffer.from("warm-up certificate") };
  }

  write(data: Buffer): boolean {
    const reply = Buffer.from(respond(data.toString("latin1"), this.power), "latin1");
    // In two pieces, as a network delivers it.
    queueMicrotask(() => this.emit("data", reply.subarray(0, 20)));
    queueMicrotask(() => this.emit("data", reply.subarray(20)));
    return true;
  }

  destroy(): this {
    return this;
  }
}

const standIn: TlsConnector = async () => new StandInSocket();

/**
 * Logs in, reads the state, powers off and reads it back, logs out. Resolves to whether the
 * whole path ran; never rejects and logs nothing (a failure only means a colder start).
 */
export async function exerciseRedfishClient(): Promise<boolean> {
  try {
    const client = await RedfishClient.open(
      {
        endpoint: { host: "127.0.0.1", port: 443 },
        trust: { kind: "insecure" },
        username: "warm-up",
        password: "warm-up",
        auth: "session",
        root: ROOT,
      },
      { loginDeadline: Deadline.in(3000), requestTimeoutMs: 1000 },
      () => {},
      standIn,
    );
    try {
      const system = new RedfishSystem(client, ROOT, undefined, () => {});
      const before = await system.read();
      await system.reset("off", "off", Deadline.in(1000));
      const after = await system.read();
      return before.state === "on" && after.state === "off";
    } finally {
      await client.close();
    }
  } catch {
    return false;
  }
}
