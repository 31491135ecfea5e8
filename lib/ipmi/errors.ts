import { KvmhaError } from "../errors.js";

/**
 * Every failure of the IPMI client. A fence action that cannot talk to its BMC has failed, so all
 * of them map to exit code 1. Messages are one line and never contain the password, Kg or keys.
 */
export abstract class IpmiError extends KvmhaError {
  readonly exitCode: number = 1;
  constructor(message: string) {
    // Messages quote what the caller gave (user name, host): a line break there must not split them.
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
  }
}

/**
 * A packet that does not parse: truncated, a bad checksum, a field out of range, an AuthCode that
 * does not verify. Decoders throw nothing else; the I/O layer drops such packets and keeps waiting.
 */
export class IpmiProtocolError extends IpmiError {}

/** A received session packet whose AuthCode (integrity) or confidentiality pad does not verify. */
export class IpmiIntegrityError extends IpmiProtocolError {}

/** The target description cannot work: name or password too long, an unsupported cipher suite, ... */
export class IpmiConfigError extends IpmiError {}

/** No (valid) answer within the time allowed, retransmissions included. */
export class IpmiTimeoutError extends IpmiError {
  readonly peer: string;
  readonly waitedMs: number;
  /** `hint`: what the silence most likely means, appended after a colon. */
  constructor(peer: string, waitedMs: number, what?: string, hint?: string) {
    super(
      `no answer from BMC ${peer} within ${formatSeconds(waitedMs)}${what ? ` (${what})` : ""}` +
        (hint ? `: ${hint}` : ""),
    );
    this.peer = peer;
    this.waitedMs = waitedMs;
  }
}

/** The BMC's address cannot be used: the host name does not resolve, the socket cannot connect. */
export class IpmiNetworkError extends IpmiError {}

/** The BMC refused the login: wrong password, unknown user, privilege not allowed, Kg mismatch. */
export class IpmiAuthError extends IpmiError {}

/**
 * The BMC refused to open a session for a reason that is not about credentials (no free session
 * slot, unsupported algorithms, no IPMI 2.0 on that channel, ...). `statusCode` is the RMCP+ status
 * code (Open Session / RAKP) when there was one.
 */
export class IpmiSessionError extends IpmiError {
  readonly statusCode: number | undefined;
  constructor(message: string, statusCode?: number) {
    super(message);
    this.statusCode = statusCode;
  }
}

/** The BMC answered a command with a non-zero completion code. */
export class IpmiCompletionCodeError extends IpmiError {
  readonly completionCode: number;
  readonly command: string;
  readonly meaning: string;
  constructor(command: string, completionCode: number, meaning: string) {
    super(`BMC refused ${command}: ${meaning} (0x${hex2(completionCode)})`);
    this.completionCode = completionCode;
    this.command = command;
    this.meaning = meaning;
  }
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, "0");
}

/** 5000 -> "5 s", 2500 -> "2.5 s", 250 -> "0.25 s": the form used in one-line messages. */
export function formatSeconds(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  return `${Number(s.toFixed(s >= 10 ? 0 : s >= 1 ? 1 : 2))} s`;
}
