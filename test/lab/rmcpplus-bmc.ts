/**
 * A scriptable RMCP+ BMC of our own, for what OpenIPMI's ipmi_sim 2.0.33 cannot do: cipher suite
 * 17 (RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128), and the quirks of real firmware and other
 * implementations (docs/fence_ipmi.md, "BMC quirks"), each switched on by a field of
 * {@link BmcQuirks}. It is written straight from the IPMI 2.0 spec with node:crypto, shares no code
 * with lib/ipmi, and is itself checked by an independent client (ipmitool -I lanplus -C 17)
 * before fence_ipmi is tested against it.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { LAB_USERS, type LabUser, PRIVILEGE_LEVEL } from "./ipmi-users.js";
import {
  RMCP_IPMI_HEADER,
  ipmiResponse,
  sessionlessMessage,
  sessionlessPacket,
} from "./ipmi-wire.js";

type Hash = "sha1" | "sha256";

interface Suite {
  id: number;
  auth: number;
  integrity: number;
  hash: Hash;
  /** Length of the RAKP4 integrity check value and of the session AuthCode. */
  icvLength: number;
}

/** Cipher suites this BMC can accept: 17, and 3 so that fall-back paths can be exercised too. */
const SUITES: Record<number, Suite> = {
  17: { id: 17, auth: 0x03, integrity: 0x04, hash: "sha256", icvLength: 16 },
  3: { id: 3, auth: 0x01, integrity: 0x01, hash: "sha1", icvLength: 12 },
};

/**
 * Behaviours of real BMCs the lab reproduces. Every field may be changed while the BMC runs
 * (`bmc.quirks.x = …`); the defaults are a well-behaved BMC.
 */
export interface BmcQuirks {
  /**
   * Answer every Open Session Request with this suite's algorithms, whatever was proposed
   * (pyghmi's BMC answers with suite 3's; ipmitool -C 17 then fails "not what we requested").
   */
  answerWithSuite?: number;
  /** Get Channel Cipher Suites (0x54): answered (default), ignored, or answered with garbage. */
  cipherSuitesCommand: "answer" | "ignore" | "garbage";
  /** RAKP 1 for an unknown user: refused with status 0x0D (default), or dropped unanswered (pyghmi). */
  unknownUser: "refuse" | "drop";
  /** RAKP 2 / RAKP 4 sent with this status code instead of a good answer. */
  rakp2Status?: number;
  rakp4Status?: number;
  /**
   * IPMI 1.5: 'refuse' (default) lists no IPMI 1.5 authentication type and refuses Get Session
   * Challenge; 'drop' also leaves Get Channel Authentication Capabilities unanswered unless it
   * asks for the IPMI 2.0 data (pyghmi's BMC).
   */
  ipmi15: "refuse" | "drop";
  /** Highest privilege per cipher suite (`ipmitool lan set 1 cipher_privs`); a higher RAKP 1 role gets status 0x0A. */
  suitePrivilege: Partial<Record<number, number>>;
  /** Send answers from another UDP port than the one listening. */
  answerFromOtherPort: boolean;
  /** Send every answer twice. */
  duplicateAnswers: boolean;
  /** Delay every answer by this long (a slow BMC; late answers cross retransmissions). */
  delayMs: number;
  /** The BMC's first outbound session sequence number (the spec does not fix it); default 1. */
  firstSessionSeq: number;
  /** Answer nothing at all (a powered-off or unplugged BMC). */
  silent: boolean;
}

export interface TestBmcOptions {
  /** Default: the lab's users (admin, operator, viewer), as on the ipmi_sim BMCs. */
  users?: readonly Readonly<LabUser>[];
  /** Cipher suites accepted in Open Session; default [17] (a SHA-256-only BMC). */
  suites?: number[];
  power?: "on" | "off";
  /** Loopback address to listen on: 127.0.0.1 (default) or ::1. */
  host?: string;
  quirks?: Partial<BmcQuirks>;
}

interface TestBmcUser {
  name: string;
  password: string;
  maxPrivilege: number;
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
  readonly quirks: BmcQuirks;
  /** Back to a well-behaved BMC (the quirks given at start are dropped too). */
  resetQuirks(): void;
  readonly log: string[];
  stop(): Promise<void>;
}

const GUID = Buffer.from("5a5a5a5a00112233445566778899aabb", "hex");

function hmac(hash: Hash, key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The quirks of a well-behaved BMC: none. */
function wellBehaved(): BmcQuirks {
  return {
    cipherSuitesCommand: "answer",
    unknownUser: "refuse",
    ipmi15: "refuse",
    suitePrivilege: {},
    answerFromOtherPort: false,
    duplicateAnswers: false,
    delayMs: 0,
    firstSessionSeq: 1,
    silent: false,
  };
}

function passwordKey(password: string): Buffer {
  const key = Buffer.alloc(20);
  Buffer.from(password, "utf8").copy(key, 0, 0, 20);
  return key;
}

/** An unauthenticated RMCP+ packet (session setup payloads). */
function v2Plain(payloadType: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x06;
  header[1] = payloadType;
  header.writeUInt16LE(payload.length, 10);
  return Buffer.concat([RMCP_IPMI_HEADER, header, payload]);
}

/** RAKP 2 or 4 carrying only a status (a refusal). */
function rakpStatus(payloadType: number, tag: number, status: number, session: Session): Buffer {
  return v2Plain(payloadType, Buffer.concat([Buffer.from([tag, status, 0, 0]), session.consoleId]));
}

function sessionKey(address: string, port: number, bmcId: Buffer): string {
  return `${address}:${port}/${bmcId.toString("hex")}`;
}

export async function startTestBmc(options: TestBmcOptions = {}): Promise<TestBmc> {
  const users: TestBmcUser[] = (options.users ?? LAB_USERS).map((u) => ({
    name: u.name,
    password: u.password,
    maxPrivilege: PRIVILEGE_LEVEL[u.privilege],
  }));
  const accepted = options.suites ?? [17];
  const host = options.host ?? "127.0.0.1";
  const family = host.includes(":") ? "udp6" : "udp4";
  const sessions = new Map<string, Session>();
  const socket = dgram.createSocket(family);
  const otherSocket = dgram.createSocket(family);
  const log: string[] = [];
  const quirks: BmcQuirks = { ...wellBehaved(), ...options.quirks };
  const state = { power: options.power ?? "on", stuck: false, garbage: false } as {
    power: "on" | "off";
    stuck: boolean;
    garbage: boolean;
  };

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
    const header = Buffer.alloc(12);
    header[0] = 0x06;
    header[1] = 0xc0;
    session.consoleId.copy(header, 2);
    header.writeUInt32LE(session.outSeq, 6);
    // Numbers wrap from 2^32 - 1 to 1: 0 marks a packet outside a session.
    session.outSeq = session.outSeq >= 0xffffffff ? 1 : session.outSeq + 1;
    header.writeUInt16LE(encrypted.length, 10);
    const covered = Buffer.concat([header, encrypted]);
    const integrityPad = (4 - ((covered.length + 2) % 4)) % 4;
    const trailer = Buffer.concat([
      Buffer.alloc(integrityPad, 0xff),
      Buffer.from([integrityPad, 0x07]),
    ]);
    const signed = Buffer.concat([covered, trailer]);
    const code = hmac(session.suite.hash, k1, signed).subarray(0, session.suite.icvLength);
    return Buffer.concat([RMCP_IPMI_HEADER, signed, code]);
  }

  /** Session-less commands: what a BMC answers before any login. */
  function handleSessionless(request: Buffer): Buffer | undefined {
    if (request.length < 7) return undefined;
    const netFn = (request[1] as number) >> 2;
    const cmd = request[5] as number;
    const data = request.subarray(6, request.length - 1);
    log.push(`ipmi ${netFn.toString(16)}/${cmd.toString(16)} (no session)`);
    if (netFn !== 0x06) return ipmiResponse(request, 0xc1);
    if (cmd === 0x38) {
      // Get Channel Authentication Capabilities: IPMI 2.0 only, no IPMI 1.5 authentication type.
      const ipmi20 = ((data[0] ?? 0) & 0x80) !== 0;
      if (!ipmi20 && quirks.ipmi15 === "drop") return undefined;
      return ipmiResponse(request, 0, Buffer.from([0x01, 0x80, 0x04, 0x02, 0, 0, 0, 0]));
    }
    if (cmd === 0x54) {
      // Get Channel Cipher Suites, list by cipher suite ID: record 0xC0 + ID + algorithms.
      if (quirks.cipherSuitesCommand === "ignore") return undefined;
      if (quirks.cipherSuitesCommand === "garbage")
        return ipmiResponse(request, 0, randomBytes(5 + (data.length % 7)));
      const records = accepted.flatMap((id) => {
        const suite = SUITES[id] as Suite;
        return [0xc0, id, suite.auth, 0x40 | suite.integrity, 0x80 | 0x01];
      });
      const index = (data[2] ?? 0) & 0x3f;
      return ipmiResponse(
        request,
        0,
        Buffer.from([0x01, ...records.slice(index * 16, index * 16 + 16)]),
      );
    }
    // No IPMI 1.5 sessions: Get Session Challenge and the rest are not offered.
    return ipmiResponse(request, 0xc1);
  }

  function handleIpmi(request: Buffer, session: Session): Buffer | undefined {
    if (request.length < 7) return undefined;
    const netFn = (request[1] as number) >> 2;
    const cmd = request[5] as number;
    const data = request.subarray(6, request.length - 1);
    const key = `${netFn.toString(16)}/${cmd.toString(16)}`;
    log.push(`ipmi ${key}`);
    switch (key) {
      case "6/3b": {
        const asked = (data[0] ?? 0) & 0x0f;
        const max = session.user?.maxPrivilege ?? 0;
        const level = asked === 0 ? session.privilege : asked;
        if (level > max) return ipmiResponse(request, 0x81);
        session.privilege = level;
        return ipmiResponse(request, 0, Buffer.from([level]));
      }
      case "6/1":
        return ipmiResponse(
          request,
          0,
          Buffer.from([0x20, 0x01, 0x01, 0x00, 0x02, 0x9f, 0x57, 0x01, 0x00, 0x00, 0x01]),
        );
      case "0/1":
        return ipmiResponse(
          request,
          0,
          Buffer.from([state.power === "on" ? 0x01 : 0x00, 0x00, 0x40]),
        );
      case "0/2": {
        if (session.privilege < 3) return ipmiResponse(request, 0xd4);
        const control = (data[0] ?? 0xff) & 0x0f;
        log.push(`chassis control ${control}`);
        if (control > 5) return ipmiResponse(request, 0xcc);
        if (!state.stuck) {
          if (control === 0 || control === 5) state.power = "off";
          if (control === 1 || control === 2 || control === 3) state.power = "on";
        }
        return ipmiResponse(request, 0);
      }
      case "6/3c":
        session.active = false;
        return ipmiResponse(request, 0);
      default:
        return ipmiResponse(request, 0xc1);
    }
  }

  function onOpenSession(payload: Buffer, from: dgram.RemoteInfo): Buffer | undefined {
    if (payload.length < 32) return undefined;
    const tag = payload[0] as number;
    const consoleId = Buffer.from(payload.subarray(4, 8));
    const auth = payload[12] as number;
    const integrity = payload[20] as number;
    const conf = payload[28] as number;
    const forced = quirks.answerWithSuite;
    const suiteId =
      forced ??
      accepted.find(
        (id) => SUITES[id]?.auth === auth && SUITES[id]?.integrity === integrity && conf === 0x01,
      );
    log.push(
      `open session auth=${auth} integrity=${integrity} conf=${conf} -> ${suiteId ?? "rejected"}`,
    );
    if (suiteId === undefined) return v2Plain(0x11, Buffer.from([tag, 0x11, 0, 0, ...consoleId]));
    const suite = SUITES[suiteId] as Suite;
    const bmcId = randomBytes(4);
    bmcId[0] = (bmcId[0] as number) | 1;
    const maxPrivilege = quirks.suitePrivilege[suiteId] ?? 4;
    sessions.set(sessionKey(from.address, from.port, bmcId), {
      consoleId,
      bmcId,
      suite,
      active: false,
      outSeq: quirks.firstSessionSeq,
      privilege: 2,
    });
    const algorithms = Buffer.from([
      ...[0x00, 0, 0, 0x08, suite.auth, 0, 0, 0],
      ...[0x01, 0, 0, 0x08, suite.integrity, 0, 0, 0],
      ...[0x02, 0, 0, 0x08, 0x01, 0, 0, 0],
    ]);
    return v2Plain(
      0x11,
      Buffer.concat([Buffer.from([tag, 0x00, maxPrivilege, 0x00]), consoleId, bmcId, algorithms]),
    );
  }

  /** RAKP 1: look the user up, answer with our random number and the key-exchange code. */
  function onRakp1(payload: Buffer, from: dgram.RemoteInfo): Buffer | undefined {
    if (payload.length < 28) return undefined;
    const tag = payload[0] as number;
    const session = sessions.get(sessionKey(from.address, from.port, payload.subarray(4, 8)));
    if (session === undefined) return undefined;
    const rm = Buffer.from(payload.subarray(8, 24));
    const role = payload[24] as number;
    const nameLength = payload[27] as number;
    const name = payload.subarray(28, 28 + nameLength).toString("utf8");
    const user = users.find((u) => u.name === name);
    if (user === undefined) {
      log.push(`rakp1 unknown user ${name}`);
      return quirks.unknownUser === "drop" ? undefined : rakpStatus(0x13, tag, 0x0d, session);
    }
    const requested = role & 0x0f;
    if (requested > user.maxPrivilege) return rakpStatus(0x13, tag, 0x09, session);
    if (requested > (quirks.suitePrivilege[session.suite.id] ?? 4))
      return rakpStatus(0x13, tag, 0x0a, session);
    if (quirks.rakp2Status !== undefined) return rakpStatus(0x13, tag, quirks.rakp2Status, session);
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

  /** RAKP 3: check the console knows the password, derive the session keys, answer RAKP 4. */
  function onRakp3(payload: Buffer, from: dgram.RemoteInfo): Buffer | undefined {
    if (payload.length < 8) return undefined;
    const tag = payload[0] as number;
    const session = sessions.get(sessionKey(from.address, from.port, payload.subarray(4, 8)));
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
      return rakpStatus(0x15, tag, 0x0f, session);
    }
    if (quirks.rakp4Status !== undefined) return rakpStatus(0x15, tag, quirks.rakp4Status, session);
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

  function onSessionPacket(packet: Buffer, from: dgram.RemoteInfo): Buffer | undefined {
    const payloadType = (packet[5] as number) & 0x3f;
    const authenticated = ((packet[5] as number) & 0x40) !== 0;
    const encrypted = ((packet[5] as number) & 0x80) !== 0;
    const sessionId = packet.subarray(6, 10);
    const length = packet.readUInt16LE(14);
    const payload = packet.subarray(16, 16 + length);
    if (payload.length !== length) return undefined;
    if (payloadType === 0x10) return onOpenSession(payload, from);
    if (payloadType === 0x12) return onRakp1(payload, from);
    if (payloadType === 0x14) return onRakp3(payload, from);
    if (payloadType !== 0x00 || !authenticated || !encrypted) return undefined;
    const session = sessions.get(sessionKey(from.address, from.port, sessionId));
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

  function answer(packet: Buffer, from: dgram.RemoteInfo): Buffer | undefined {
    if (state.garbage) return randomBytes(1 + (packet.length % 64));
    if (packet.length >= 16 && packet[4] === 0x06) return onSessionPacket(packet, from);
    const message = sessionlessMessage(packet);
    const reply = message === undefined ? undefined : handleSessionless(message);
    return reply === undefined ? undefined : sessionlessPacket(reply);
  }

  socket.on("message", (packet, from) => {
    if (quirks.silent) return;
    const reply = answer(packet, from);
    if (reply === undefined) return;
    const out = quirks.answerFromOtherPort ? otherSocket : socket;
    const send = (): void => {
      for (let n = quirks.duplicateAnswers ? 2 : 1; n > 0; n--)
        out.send(reply, from.port, from.address);
    };
    if (quirks.delayMs > 0) setTimeout(send, quirks.delayMs);
    else send();
  });

  const bind = (s: dgram.Socket): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.bind(0, host, () => resolve());
    });
  await bind(socket);
  await bind(otherSocket);

  return {
    host,
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
    quirks,
    resetQuirks() {
      for (const key of Object.keys(quirks)) delete quirks[key as keyof BmcQuirks];
      Object.assign(quirks, wellBehaved());
    },
    log,
    stop: async () => {
      await new Promise<void>((resolve) => otherSocket.close(() => resolve()));
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
