/**
 * The two kinds of open session (RMCP+ and IPMI 1.5): requests one at a time inside the session,
 * retransmitted with fresh sequence numbers, answers checked and matched, Close Session.
 */
import { randomBytes } from "node:crypto";
import {
  AppCmd,
  NetFn,
  PrivilegeLevel,
  commandName,
  completionCodeMeaning,
  privilegeName,
} from "./constants.js";
import type { IpmiPrivilege } from "./constants.js";
import { hex } from "./bytes.js";
import {
  IpmiAuthError,
  IpmiCompletionCodeError,
  IpmiProtocolError,
  IpmiSessionError,
} from "./errors.js";
import { RQSEQ_MODULO, decodeIpmiResponse, encodeIpmiRequest, responseMatches } from "./message.js";
import type { IpmiResponse } from "./message.js";
import { PayloadType, encodeRmcpPlusPacket, openSessionPacket } from "./rmcpplus.js";
import type { SessionSecurity } from "./rmcpplus.js";
import {
  decodeSetSessionPrivilegeLevelResponse,
  encodeCloseSessionRequest,
  encodeSetSessionPrivilegeLevelRequest,
} from "./session-commands.js";
import type { ActivatedSession } from "./session-commands.js";
import {
  AuthType,
  decodeSession15Packet,
  encodeSession15Packet,
  verifySession15AuthCode,
} from "./session15.js";
import type { UdpTransport } from "./transport.js";
import type { Log } from "./transport.js";
import { messageOf } from "../errors.js";
import type { IpmiSession, IpmiTiming } from "./client.js";

/** First retransmission interval of a request, unless IpmiTiming says otherwise. */
export const DEFAULT_RETRANSMIT_MS = 250;
/** Close Session is a courtesy to the BMC (it frees a session slot): never wait long for it. */
export const CLOSE_TIMEOUT_MS = 2000;

/**
 * Receive-side sequence number check: a response must be new (not seen before) and not far
 * behind the newest one, so a replayed or delayed duplicate is not taken for an answer. The BMC
 * may start anywhere (the spec does not fix its first number; pyghmi's BMC starts at 1, others
 * count on from wherever), and its numbers wrap past 2^32 - 1, so distances are modular.
 */
export class SequenceWindow {
  private newest: number | undefined;
  private readonly seen = new Set<number>();
  constructor(private readonly width = 16) {}

  check(seq: number): void {
    if (this.seen.has(seq))
      throw new IpmiProtocolError(`session sequence number ${seq} seen before`);
    if (this.newest !== undefined) {
      const behind = (this.newest - seq) >>> 0;
      // Less than half the number space behind: older than the newest.
      if (behind < 0x80000000 && behind >= this.width) {
        throw new IpmiProtocolError(
          `session sequence number ${seq} is stale (newest ${this.newest})`,
        );
      }
    }
    this.seen.add(seq);
    if (this.newest === undefined || (seq - this.newest) >>> 0 < 0x80000000) this.newest = seq;
    const newest = this.newest;
    for (const s of this.seen) if ((newest - s) >>> 0 >= this.width) this.seen.delete(s);
  }
}

/**
 * What the two session kinds share: rqSeq, session sequence numbers, one-at-a-time requests,
 * completion codes, close. A subclass only wraps and unwraps IPMI messages in its session format.
 */
export abstract class SessionBase implements IpmiSession {
  abstract readonly cipher: number;
  private queue: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(
    protected readonly transport: UdpTransport,
    protected readonly timing: IpmiTiming,
    protected readonly log: Log,
    private rqSeq: number,
    private outboundSeq: number,
  ) {}

  /** The ID the BMC gave the session, which Close Session names. */
  protected abstract get bmcSessionId(): number;

  /** The datagram carrying `message` with session sequence number `sessionSeq`. */
  protected abstract wrap(message: Buffer, sessionSeq: number): Buffer;

  /**
   * The IPMI message in a received datagram, or undefined for one that carries none. Throws
   * IpmiProtocolError for a datagram that is not an authentic, new packet of this session.
   */
  protected abstract unwrap(datagram: Buffer): Buffer | undefined;

  /** One request/response inside the session; the response may carry any completion code. */
  private exchange(
    netFn: number,
    cmd: number,
    data: Buffer,
    timeoutMs: number,
  ): Promise<IpmiResponse> {
    const rqSeq = this.rqSeq;
    this.rqSeq = (this.rqSeq + 1) % RQSEQ_MODULO;
    const message = encodeIpmiRequest({ netFn, cmd, rqSeq, data });
    const name = commandName(netFn, cmd);
    this.log(`ipmi: -> ${name} (rqSeq ${rqSeq})`);
    return this.transport.exchange({
      what: name,
      timeoutMs,
      retransmitMs: this.timing.retransmitMs ?? DEFAULT_RETRANSMIT_MS,
      // Every attempt is a new packet: a BMC rejects a repeated session sequence number.
      packet: () => this.wrap(message, this.nextOutboundSeq()),
      match: (datagram) => {
        const payload = this.unwrap(datagram);
        if (payload === undefined) return undefined;
        const rsp = decodeIpmiResponse(payload);
        return responseMatches(rsp, { netFn, cmd, rqSeq }) ? rsp : undefined;
      },
    });
  }

  /** The next session sequence number; after 2^32 - 1 comes 1 (0 marks a packet outside a session). */
  private nextOutboundSeq(): number {
    const seq = this.outboundSeq;
    this.outboundSeq = this.outboundSeq >= 0xffffffff ? 1 : this.outboundSeq + 1;
    return seq;
  }

  request(netFn: number, cmd: number, data: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    if (this.closing) {
      return Promise.reject(
        new IpmiSessionError(
          `cannot send ${commandName(netFn, cmd)} to BMC ${this.transport.peer}: session closed`,
        ),
      );
    }
    return this.serialized(() => this.requestNow(netFn, cmd, data, this.timing.requestTimeoutMs));
  }

  /** Runs `fn` after every earlier request has finished, whatever their outcome. */
  protected serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  protected async requestNow(
    netFn: number,
    cmd: number,
    data: Buffer,
    timeoutMs: number,
  ): Promise<Buffer> {
    const name = commandName(netFn, cmd);
    const rsp = await this.exchange(netFn, cmd, data, timeoutMs);
    this.log(`ipmi: <- ${name}: completion code ${hex(rsp.completionCode)}`);
    if (rsp.completionCode !== 0) {
      throw new IpmiCompletionCodeError(
        name,
        rsp.completionCode,
        completionCodeMeaning(rsp.completionCode, netFn, cmd),
      );
    }
    return rsp.data;
  }

  /** Raises the session to `privilege` (sessions start at User level). */
  async setPrivilege(privilege: IpmiPrivilege, timeoutMs: number): Promise<void> {
    const level = PrivilegeLevel[privilege];
    const data = await this.serialized(() =>
      this.requestNow(
        NetFn.App,
        AppCmd.SetSessionPrivilegeLevel,
        encodeSetSessionPrivilegeLevelRequest(level),
        timeoutMs,
      ),
    );
    const granted = decodeSetSessionPrivilegeLevelResponse(data);
    if (granted !== level) {
      throw new IpmiAuthError(
        `BMC ${this.transport.peer} granted privilege ${privilegeName(granted)} instead of ${privilege}`,
      );
    }
  }

  close(): Promise<void> {
    return this.closeWithin(Math.min(this.timing.requestTimeoutMs, CLOSE_TIMEOUT_MS));
  }

  closeWithin(timeoutMs: number): Promise<void> {
    this.closing ??= this.serialized(async () => {
      try {
        await this.requestNow(
          NetFn.App,
          AppCmd.CloseSession,
          encodeCloseSessionRequest(this.bmcSessionId),
          timeoutMs,
        );
      } catch (err) {
        this.log(`ipmi: Close Session failed: ${messageOf(err)}`);
      } finally {
        this.transport.close();
      }
    });
    return this.closing;
  }
}

export class RmcpPlusSession extends SessionBase {
  private readonly inbound = new SequenceWindow();

  constructor(
    transport: UdpTransport,
    timing: IpmiTiming,
    log: Log,
    private readonly security: SessionSecurity,
    /** SIDm: ours; the BMC puts it in every packet it sends us. */
    private readonly consoleSessionId: number,
    /** SIDc: the BMC's; we put it in every packet we send. */
    private readonly managedSystemSessionId: number,
    firstRqSeq: number,
  ) {
    super(transport, timing, log, firstRqSeq, 1);
  }

  get cipher(): number {
    return this.security.suite.id;
  }

  protected get bmcSessionId(): number {
    return this.managedSystemSessionId;
  }

  protected wrap(message: Buffer, sessionSeq: number): Buffer {
    return encodeRmcpPlusPacket(
      {
        payloadType: PayloadType.IPMI,
        sessionId: this.managedSystemSessionId,
        sessionSeq,
        payload: message,
      },
      this.security,
      randomBytes(16),
    );
  }

  protected unwrap(datagram: Buffer): Buffer | undefined {
    const packet = openSessionPacket(datagram, this.security); // integrity first: forgeries change nothing
    if (packet.sessionId !== this.consoleSessionId) {
      throw new IpmiProtocolError(`packet for session ${hex(packet.sessionId, 8)}, not ours`);
    }
    this.inbound.check(packet.sessionSeq);
    return packet.payloadType === PayloadType.IPMI ? packet.payload : undefined;
  }
}

export class Ipmi15Session extends SessionBase {
  readonly cipher = -1;
  private readonly inbound = new SequenceWindow();

  constructor(
    transport: UdpTransport,
    timing: IpmiTiming,
    log: Log,
    private readonly authType: number,
    private readonly passwordKey: Buffer,
    private readonly perMessageAuthenticationDisabled: boolean,
    private readonly activated: ActivatedSession,
    firstRqSeq: number,
  ) {
    super(transport, timing, log, firstRqSeq, activated.initialInboundSeq);
  }

  protected get bmcSessionId(): number {
    return this.activated.sessionId;
  }

  protected wrap(message: Buffer, sessionSeq: number): Buffer {
    return encodeSession15Packet(
      { authType: this.authType, sessionSeq, sessionId: this.activated.sessionId, message },
      this.passwordKey,
    );
  }

  protected unwrap(datagram: Buffer): Buffer {
    const packet = decodeSession15Packet(datagram);
    if (packet.sessionId !== this.activated.sessionId)
      throw new IpmiProtocolError(`packet for session ${hex(packet.sessionId, 8)}, not ours`);
    // With per-message authentication disabled the BMC may answer without an AuthCode.
    if (
      packet.authType === AuthType.none &&
      this.authType !== AuthType.none &&
      !this.perMessageAuthenticationDisabled
    ) {
      throw new IpmiProtocolError("unauthenticated packet in an authenticated IPMI 1.5 session");
    }
    if (packet.authType !== AuthType.none && packet.authType !== this.authType) {
      throw new IpmiProtocolError(
        `authentication type ${hex(packet.authType)} in a ${hex(this.authType)} session`,
      );
    }
    verifySession15AuthCode(packet, this.passwordKey);
    if (packet.sessionSeq !== 0) this.inbound.check(packet.sessionSeq);
    return packet.message;
  }
}
