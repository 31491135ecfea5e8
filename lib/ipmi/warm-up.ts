/**
 * The snapshot warm-up: runs the real client path — Get Channel Authentication Capabilities,
 * Open Session (cipher suite 17 refused, then 3; and 17 accepted), RAKP 1-4, Set Session
 * Privilege Level, Get Chassis Status, Chassis Control, Close Session — against an in-process
 * stand-in BMC that answers over an injected datagram socket. No network, no files, no state at
 * module level. Called while the startup snapshot is built (lib/cli/main.ts
 * `preloadShippedCommands`), so the executable starts with this code compiled.
 */
import { EventEmitter } from "node:events";
import { chassisControl, getChassisStatus } from "./chassis.js";
import {
  SUPPORTED_CIPHER_SUITES,
  cipherSuite,
  deriveSessionKeys,
  rakp2KeyExchangeAuthCode,
  rakp4IntegrityCheckValue,
  userKey,
} from "./cipher-suites.js";
import type { CipherSuite, RakpValues } from "./cipher-suites.js";
import { openSession } from "./client.js";
import type { IpmiTarget } from "./client.js";
import { AppCmd, ChassisCmd, NetFn } from "./constants.js";
import { decodeIpmiRequest, encodeIpmiResponse } from "./message.js";
import type { IpmiRequest } from "./message.js";
import {
  PayloadType,
  decodeOpenSessionRequest,
  decodeRakp1,
  decodeRakp3,
  decodeRmcpPlusPacket,
  encodeOpenSessionResponse,
  encodeRakp2,
  encodeRakp4,
  encodeRmcpPlusPacket,
  openSessionPacket,
} from "./rmcpplus.js";
import type { SessionSecurity } from "./rmcpplus.js";
import { AuthType, decodeSession15Packet, encodeSession15Packet } from "./session15.js";
import type { DatagramSocket, DatagramSocketFactory, DatagramSource } from "./transport.js";

const WARM_UP_PASSWORD = "warm-up";
const BMC_SESSION_ID = 0x0a0b0c0d;

/**
 * Runs two logins and the fence agent's requests against the stand-in BMC: one where the BMC
 * refuses cipher suite 17 (as ipmi_sim does) and the client falls back to 3, one where it accepts
 * 17. Resolves in a few milliseconds, to whether the whole path ran; never rejects and logs
 * nothing (a failure only means a colder start).
 */
export async function exerciseIpmiClient(): Promise<boolean> {
  try {
    for (const suites of [[3], [17, 3]]) {
      const bmc = new StandInBmc(suites);
      const target: IpmiTarget = {
        host: "127.0.0.1",
        port: 623,
        username: "admin",
        password: WARM_UP_PASSWORD,
        privilege: "administrator",
        lanplus: true,
      };
      const session = await openSession(
        target,
        { loginDeadline: Date.now() + 3000, requestTimeoutMs: 1000 },
        undefined,
        {
          createSocket: bmc.factory,
        },
      );
      try {
        await getChassisStatus(session);
        await chassisControl(session, "on");
      } finally {
        await session.close();
      }
    }
    return true;
  } catch {
    return false; // only speed is lost
  }
}

interface StandInSession {
  suite: CipherSuite;
  consoleSessionId: number;
  values?: RakpValues;
  security?: SessionSecurity;
  outSeq: number;
}

/** A BMC that answers the client's datagrams with lib/ipmi's own codecs, as ipmi_sim would. */
class StandInBmc {
  private session: StandInSession | undefined;

  constructor(private readonly suites: readonly number[]) {}

  readonly factory: DatagramSocketFactory = () =>
    new StandInSocket((datagram) => this.answer(datagram));

  private answer(msg: Buffer): Buffer | undefined {
    if (msg[4] !== AuthType.rmcpPlus) {
      const packet = decodeSession15Packet(msg);
      const req = decodeIpmiRequest(packet.message);
      if (req.cmd !== AppCmd.GetChannelAuthenticationCapabilities) return undefined;
      const data = Buffer.from([1, 0x80 | 0x04 | 0x10, 0x04, 0x03, 0, 0, 0, 0]);
      return encodeSession15Packet({
        authType: AuthType.none,
        sessionSeq: 0,
        sessionId: 0,
        message: response(req, data),
      });
    }
    const type = msg[5]! & 0x3f;
    if (type === PayloadType.OpenSessionRequest) {
      const req = decodeOpenSessionRequest(decodeRmcpPlusPacket(msg).payload);
      const id = SUPPORTED_CIPHER_SUITES.find((n) => {
        const s = cipherSuite(n);
        return (
          s.authentication === req.authentication &&
          s.integrity === req.integrity &&
          s.confidentiality === req.confidentiality
        );
      });
      if (id === undefined || !this.suites.includes(id)) {
        return setup(
          PayloadType.OpenSessionResponse,
          encodeOpenSessionResponse({ messageTag: req.messageTag, statusCode: 0x04 }),
        );
      }
      this.session = { suite: cipherSuite(id), consoleSessionId: req.consoleSessionId, outSeq: 1 };
      return setup(
        PayloadType.OpenSessionResponse,
        encodeOpenSessionResponse({
          messageTag: req.messageTag,
          statusCode: 0,
          maximumPrivilege: 4,
          consoleSessionId: req.consoleSessionId,
          managedSystemSessionId: BMC_SESSION_ID,
          authentication: req.authentication,
          integrity: req.integrity,
          confidentiality: req.confidentiality,
        }),
      );
    }
    const s = this.session;
    if (s === undefined) return undefined;
    if (type === PayloadType.RAKP1) {
      const m = decodeRakp1(decodeRmcpPlusPacket(msg).payload);
      s.values = {
        consoleSessionId: s.consoleSessionId,
        managedSystemSessionId: BMC_SESSION_ID,
        consoleRandom: m.consoleRandom,
        managedSystemRandom: Buffer.alloc(16, 0x5a),
        managedSystemGuid: Buffer.alloc(16, 0x42),
        requestedRole: m.requestedRole,
        username: m.username,
      };
      return setup(
        PayloadType.RAKP2,
        encodeRakp2({
          messageTag: m.messageTag,
          statusCode: 0,
          consoleSessionId: s.consoleSessionId,
          managedSystemRandom: s.values.managedSystemRandom,
          managedSystemGuid: s.values.managedSystemGuid,
          keyExchangeAuthCode: rakp2KeyExchangeAuthCode(
            s.suite,
            userKey(WARM_UP_PASSWORD),
            s.values,
          ),
        }),
      );
    }
    if (type === PayloadType.RAKP3) {
      if (s.values === undefined) return undefined;
      const m = decodeRakp3(decodeRmcpPlusPacket(msg).payload);
      const keys = deriveSessionKeys(s.suite, userKey(WARM_UP_PASSWORD), undefined, s.values);
      s.security = { suite: s.suite, k1: keys.k1, k2: keys.k2 };
      const icv = rakp4IntegrityCheckValue(s.suite, keys.sik, s.values);
      return setup(
        PayloadType.RAKP4,
        encodeRakp4({
          messageTag: m.messageTag,
          statusCode: 0,
          consoleSessionId: s.consoleSessionId,
          integrityCheckValue: icv,
        }),
      );
    }
    if (s.security === undefined) return undefined;
    const req = decodeIpmiRequest(openSessionPacket(msg, s.security).payload);
    let data: Buffer;
    if (req.netFn === NetFn.App && req.cmd === AppCmd.SetSessionPrivilegeLevel)
      data = Buffer.from([req.data[0]! & 0x0f]);
    else if (req.netFn === NetFn.Chassis && req.cmd === ChassisCmd.GetChassisStatus)
      data = Buffer.from([0x21, 0x10, 0x40, 0x00]);
    else if (req.netFn === NetFn.Chassis && req.cmd === ChassisCmd.ChassisControl)
      data = Buffer.alloc(0);
    else if (req.netFn === NetFn.App && req.cmd === AppCmd.CloseSession) data = Buffer.alloc(0);
    else return undefined;
    return encodeRmcpPlusPacket(
      {
        payloadType: PayloadType.IPMI,
        sessionId: s.consoleSessionId,
        sessionSeq: s.outSeq++,
        payload: response(req, data),
      },
      s.security,
      Buffer.alloc(16, 0x17),
    );
  }
}

function response(req: IpmiRequest, data: Buffer): Buffer {
  return encodeIpmiResponse({
    netFn: req.netFn | 1,
    cmd: req.cmd,
    rqSeq: req.rqSeq,
    completionCode: 0,
    data,
  });
}

function setup(payloadType: number, payload: Buffer): Buffer {
  return encodeRmcpPlusPacket({ payloadType, sessionId: 0, sessionSeq: 0, payload });
}

/** A datagram socket whose peer is a function: each datagram sent is answered on the next turn of the event loop. */
class StandInSocket extends EventEmitter implements DatagramSocket {
  private closed = false;

  constructor(private readonly peer: (datagram: Buffer) => Buffer | undefined) {
    super();
  }

  bind(_port: number, callback: () => void): void {
    queueMicrotask(callback);
  }

  send(msg: Buffer, port: number, address: string, callback: (error: Error | null) => void): void {
    callback(null);
    let answer: Buffer | undefined;
    try {
      answer = this.peer(Buffer.from(msg));
    } catch {
      return; // a BMC drops what it cannot parse
    }
    if (answer !== undefined) {
      const reply = answer;
      const from: DatagramSource = { address, port };
      setImmediate(() => {
        if (!this.closed) this.emit("message", reply, from);
      });
    }
  }

  close(): void {
    this.closed = true;
  }

  unref(): void {}
}
