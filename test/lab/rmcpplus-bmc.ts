/**
 * A small RMCP+ BMC of our own, for what OpenIPMI's ipmi_sim 2.0.33 cannot do: cipher suite 17
 * (RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128). It is written straight from the IPMI 2.0
 * spec with node:crypto, shares no code with lib/ipmi, and is itself checked by an independent
 * client (ipmitool -I lanplus -C 17) before fence_ipmi is tested against it.
 *
 * It also offers fault modes ipmi_sim lacks: answering garbage, and refusing a user's privilege.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { LAB_USERS, type LabUser } from "./ipmi-bmc.js";

type Hash = "sha1" | "sha256";

interface Suite {
  auth: number;
  integrity: number;
  hash: Hash;
  /** Length of the RAKP4 integrity check value and of the session AuthCode. */
  icvLength: number;
}

/** Cipher suites this BMC accepts: 17, and 3 so that fall-back paths can be exercised too. */
const SUITES: Record<number, Suite> = {
  17: { auth: 0x03, integrity: 0x04, hash: "sha256", icvLength: 16 },
  3: { auth: 0x01, integrity: 0x01, hash: "sha1", icvLength: 12 },
};

interface TestBmcUser {
  name: string;
  password: string;
  /** Highest privilege level: 1 callback, 2 user, 3 operator, 4 administrator. */
  maxPrivilege: number;
}

const LEVEL: Record<LabUser["privilege"], number> = { callback: 1, user: 2, operator: 3, admin: 4 };

export interface TestBmcOptions {
  /** Default: the lab's users (admin, operator, viewer), as on the ipmi_sim BMCs. */
  users?: readonly Readonly<LabUser>[];
  /** Cipher suites accepted in Open Session; default [17] (a SHA-256-only BMC). */
  suites?: number[];
  power?: "on" | "off";
}

interface Session {
  consoleId: Buffer;
  bmcId: Buffer;
  suite: Suite;
  rm?: Buffer;
  rc?: Buffer;
  role?: number;
  user?: TestBmcUser;
  k1?: Buffer;
  k2?: Buffer;
  active: boolean;
  outSeq: number;
  privilege: number;
}

export interface TestBmc {
  readonly host: string;
  readonly port: number;
  power: "on" | "off";
  /** Power state changes stop happening (the BMC still says yes). */
  stuck: boolean;
  /** Answer every packet with random bytes. */
  garbage: boolean;
  readonly log: string[];
  stop(): Promise<void>;
}

const GUID = Buffer.from("5a5a5a5a00112233445566778899aabb", "hex");

function hmac(hash: Hash, key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function checksum(bytes: Buffer): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return (0x100 - sum) & 0xff;
}

function passwordKey(password: string): Buffer {
  const key = Buffer.alloc(20);
  Buffer.from(password, "utf8").copy(key, 0, 0, 20);
  return key;
}

/** The IPMI response message for a request message. */
function response(request: Buffer, cc: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const rqAddr = request[3] as number;
  const netFn = (request[1] as number) >> 2;
  const header = Buffer.from([rqAddr, ((netFn | 1) << 2) | ((request[4] as number) & 3)]);
  const body = Buffer.concat([
    Buffer.from([0x20, request[4] as number, request[5] as number, cc]),
    data,
  ]);
  return Buffer.concat([
    header,
    Buffer.from([checksum(header)]),
    body,
    Buffer.from([checksum(body)]),
  ]);
}

export async function startTestBmc(options: TestBmcOptions = {}): Promise<TestBmc> {
  const users: TestBmcUser[] = (options.users ?? LAB_USERS).map((u) => ({
    name: u.name,
    password: u.password,
    maxPrivilege: LEVEL[u.privilege],
  }));
  const accepted = options.suites ?? [17];
  const sessions = new Map<string, Session>();
  const socket = dgram.createSocket("udp4");
  const log: string[] = [];

  const state = {
    power: options.power ?? "on",
    stuck: false,
    garbage: false,
  } as { power: "on" | "off"; stuck: boolean; garbage: boolean };

  const rmcp = Buffer.from([0x06, 0x00, 0xff, 0x07]);

  /** An unauthenticated RMCP+ packet (session setup payloads). */
  function v2Plain(payloadType: number, payload: Buffer): Buffer {
    const header = Buffer.alloc(12);
    header[0] = 0x06;
    header[1] = payloadType;
    header.writeUInt16LE(payload.length, 10);
    return Buffer.concat([rmcp, header, payload]);
  }

  function v2Session(session: Session, message: Buffer): Buffer {
    const k1 = session.k1 as Buffer;
    const k2 = session.k2 as Buffer;
    const padLength = 16 - ((message.length + 1) % 16 === 0 ? 16 : (message.length + 1) % 16);
    const pad = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
    const iv = randomBytes(16);
    const cipher = createCipheriv("aes-128-cbc", k2.subarray(0, 16), iv).setAutoPadding(false);
    const encrypted = Buffer.concat([
      iv,
      cipher.update(Buffer.concat([message, pad, Buffer.from([padLength])])),
      cipher.final(),
    ]);
    session.outSeq += 1;
    const header = Buffer.alloc(12);
    header[0] = 0x06;
    header[1] = 0xc0;
    session.consoleId.copy(header, 2);
    header.writeUInt32LE(session.outSeq, 6);
    header.writeUInt16LE(encrypted.length, 10);
    const covered = Buffer.concat([header, encrypted]);
    const integrityPad = (4 - ((covered.length + 2) % 4)) % 4;
    const trailer = Buffer.concat([
      Buffer.alloc(integrityPad, 0xff),
      Buffer.from([integrityPad, 0x07]),
    ]);
    const signed = Buffer.concat([covered, trailer]);
    const code = hmac(session.suite.hash, k1, signed).subarray(0, session.suite.icvLength);
    return Buffer.concat([rmcp, signed, code]);
  }

  function handleIpmi(request: Buffer, session: Session | undefined): Buffer | undefined {
    if (request.length < 7) return undefined;
    const netFn = (request[1] as number) >> 2;
    const cmd = request[5] as number;
    const data = request.subarray(6, request.length - 1);
    const key = `${netFn.toString(16)}/${cmd.toString(16)}`;
    log.push(`ipmi ${key}`);
    if (key === "6/38")
      return response(request, 0, Buffer.from([0x01, 0x80 | 0x04, 0x04, 0x02, 0, 0, 0, 0]));
    if (session === undefined) return response(request, 0xd4);
    switch (key) {
      case "6/3b": {
        const asked = (data[0] ?? 0) & 0x0f;
        const max = session.user?.maxPrivilege ?? 0;
        const level = asked === 0 ? session.privilege : asked;
        if (level > max) return response(request, 0x81);
        session.privilege = level;
        return response(request, 0, Buffer.from([level]));
      }
      case "6/1":
        return response(
          request,
          0,
          Buffer.from([0x20, 0x01, 0x01, 0x00, 0x02, 0x9f, 0x57, 0x01, 0x00, 0x00, 0x01]),
        );
      case "0/1":
        return response(request, 0, Buffer.from([state.power === "on" ? 0x01 : 0x00, 0x00, 0x40]));
      case "0/2": {
        if (session.privilege < 3) return response(request, 0xd4);
        const control = (data[0] ?? 0xff) & 0x0f;
        log.push(`chassis control ${control}`);
        if (control > 5) return response(request, 0xcc);
        if (!state.stuck) {
          if (control === 0 || control === 5) state.power = "off";
          if (control === 1 || control === 2 || control === 3) state.power = "on";
        }
        return response(request, 0);
      }
      case "6/3c":
        session.active = false;
        return response(request, 0);
      default:
        return response(request, 0xc1);
    }
  }

  function onSessionPacket(packet: Buffer, rinfo: dgram.RemoteInfo): Buffer | undefined {
    const payloadType = (packet[5] as number) & 0x3f;
    const authenticated = ((packet[5] as number) & 0x40) !== 0;
    const encrypted = ((packet[5] as number) & 0x80) !== 0;
    const sessionId = packet.subarray(6, 10);
    const length = packet.readUInt16LE(14);
    const payload = packet.subarray(16, 16 + length);
    if (payload.length !== length) return undefined;
    const peer = `${rinfo.address}:${rinfo.port}`;

    if (payloadType === 0x10) {
      // Open Session Request.
      if (payload.length < 32) return undefined;
      const tag = payload[0] as number;
      const consoleId = Buffer.from(payload.subarray(4, 8));
      const auth = payload[12] as number;
      const integrity = payload[20] as number;
      const conf = payload[28] as number;
      const suiteId = accepted.find(
        (id) => SUITES[id]?.auth === auth && SUITES[id]?.integrity === integrity && conf === 0x01,
      );
      log.push(
        `open session auth=${auth} integrity=${integrity} conf=${conf} -> ${suiteId ?? "rejected"}`,
      );
      if (suiteId === undefined) return v2Plain(0x11, Buffer.from([tag, 0x11, 0, 0, ...consoleId]));
      const bmcId = randomBytes(4);
      bmcId[0] = (bmcId[0] as number) | 1;
      sessions.set(`${peer}/${bmcId.toString("hex")}`, {
        consoleId,
        bmcId,
        suite: SUITES[suiteId] as Suite,
        active: false,
        outSeq: 0,
        privilege: 2,
      });
      const body = Buffer.concat([
        Buffer.from([tag, 0x00, 0x04, 0x00]),
        consoleId,
        bmcId,
        payload.subarray(8, 32),
      ]);
      return v2Plain(0x11, body);
    }
    if (payloadType === 0x12) {
      // RAKP 1: look the user up, answer with our random number and the key-exchange code.
      if (payload.length < 28) return undefined;
      const tag = payload[0] as number;
      const bmcId = payload.subarray(4, 8);
      const session = sessions.get(`${peer}/${bmcId.toString("hex")}`);
      if (session === undefined) return undefined;
      const rm = Buffer.from(payload.subarray(8, 24));
      const role = payload[24] as number;
      const nameLength = payload[27] as number;
      const name = payload.subarray(28, 28 + nameLength).toString("utf8");
      const user = users.find((u) => u.name === name);
      if (user === undefined)
        return v2Plain(0x13, Buffer.concat([Buffer.from([tag, 0x0d, 0, 0]), session.consoleId]));
      const requested = role & 0x0f;
      if (requested > user.maxPrivilege)
        return v2Plain(0x13, Buffer.concat([Buffer.from([tag, 0x09, 0, 0]), session.consoleId]));
      const rc = randomBytes(16);
      Object.assign(session, {
        rm,
        rc,
        role,
        user,
        privilege: requested === 0 ? user.maxPrivilege : requested,
      });
      const nameBytes = Buffer.from(name, "utf8");
      const code = hmac(
        session.suite.hash,
        passwordKey(user.password),
        session.consoleId,
        session.bmcId,
        rm,
        rc,
        GUID,
        Buffer.from([role, nameBytes.length]),
        nameBytes,
      );
      return v2Plain(
        0x13,
        Buffer.concat([Buffer.from([tag, 0x00, 0, 0]), session.consoleId, rc, GUID, code]),
      );
    }
    if (payloadType === 0x14) {
      // RAKP 3: check the console knows the password, derive the session keys, answer RAKP 4.
      if (payload.length < 8) return undefined;
      const tag = payload[0] as number;
      const session = sessions.get(`${peer}/${payload.subarray(4, 8).toString("hex")}`);
      if (
        session?.user === undefined ||
        session.rm === undefined ||
        session.rc === undefined ||
        session.role === undefined
      )
        return undefined;
      const nameBytes = Buffer.from(session.user.name, "utf8");
      const key = passwordKey(session.user.password);
      const expected = hmac(
        session.suite.hash,
        key,
        session.rc,
        session.consoleId,
        Buffer.from([session.role, nameBytes.length]),
        nameBytes,
      );
      if (!payload.subarray(8).equals(expected)) {
        log.push("rakp3 integrity check failed");
        return v2Plain(0x15, Buffer.concat([Buffer.from([tag, 0x0f, 0, 0]), session.consoleId]));
      }
      const sik = hmac(
        session.suite.hash,
        key,
        session.rm,
        session.rc,
        Buffer.from([session.role, nameBytes.length]),
        nameBytes,
      );
      // The constants are 20 bytes for every suite (IPMI 2.0 §13.32), also with SHA-256.
      session.k1 = hmac(session.suite.hash, sik, Buffer.alloc(20, 0x01));
      session.k2 = hmac(session.suite.hash, sik, Buffer.alloc(20, 0x02));
      session.active = true;
      const icv = hmac(session.suite.hash, sik, session.rm, session.bmcId, GUID).subarray(
        0,
        session.suite.icvLength,
      );
      return v2Plain(0x15, Buffer.concat([Buffer.from([tag, 0x00, 0, 0]), session.consoleId, icv]));
    }
    if (payloadType === 0x00 && authenticated && encrypted) {
      const session = sessions.get(`${peer}/${sessionId.toString("hex")}`);
      if (session?.active !== true || session.k1 === undefined || session.k2 === undefined)
        return undefined;
      const icvLength = session.suite.icvLength;
      const signed = packet.subarray(4, packet.length - icvLength);
      const code = packet.subarray(packet.length - icvLength);
      if (!hmac(session.suite.hash, session.k1, signed).subarray(0, icvLength).equals(code)) {
        log.push("session packet integrity check failed");
        return undefined;
      }
      if (payload.length < 32 || payload.length % 16 !== 0) return undefined;
      const decipher = createDecipheriv(
        "aes-128-cbc",
        session.k2.subarray(0, 16),
        payload.subarray(0, 16),
      ).setAutoPadding(false);
      const plain = Buffer.concat([decipher.update(payload.subarray(16)), decipher.final()]);
      const padLength = plain[plain.length - 1] as number;
      const message = plain.subarray(0, plain.length - 1 - padLength);
      const reply = handleIpmi(message, session);
      return reply === undefined ? undefined : v2Session(session, reply);
    }
    return undefined;
  }

  socket.on("message", (packet, rinfo) => {
    let reply: Buffer | undefined;
    if (state.garbage) reply = randomBytes(1 + (packet.length % 64));
    else if (packet.length >= 16 && packet[4] === 0x06) reply = onSessionPacket(packet, rinfo);
    else if (packet.length >= 14 && packet[4] === 0x00) {
      // IPMI 1.5 session-less: only Get Channel Authentication Capabilities is answered.
      const message = packet.subarray(14, 14 + (packet[13] as number));
      const answer = handleIpmi(message, undefined);
      if (answer !== undefined) {
        const header = Buffer.alloc(10);
        header[9] = answer.length;
        reply = Buffer.concat([rmcp, header, answer]);
      }
    }
    if (reply !== undefined) socket.send(reply, rinfo.port, rinfo.address);
  });

  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve());
  });

  const bmc: TestBmc = {
    host: "127.0.0.1",
    port: socket.address().port,
    get power() {
      return state.power;
    },
    set power(value) {
      state.power = value;
    },
    get stuck() {
      return state.stuck;
    },
    set stuck(value) {
      state.stuck = value;
    },
    get garbage() {
      return state.garbage;
    },
    set garbage(value) {
      state.garbage = value;
    },
    log,
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  return bmc;
}
