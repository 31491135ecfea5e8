import { KvmhaError } from "../errors.js";

/**
 * Every failure of the Redfish client. A fence action that cannot talk to its BMC has failed, so
 * all of them map to exit code 1. Messages are one line and never hold the password or the
 * session token (text the BMC sends is checked for both before it is quoted: see quoteBmcText).
 */
export abstract class RedfishError extends KvmhaError {
  readonly exitCode: number = 1;
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
  }
}

/** An answer that does not parse: not HTTP, a body that is not the JSON a resource must be. */
export class RedfishProtocolError extends RedfishError {}

/** The BMC cannot be reached: the name does not resolve, the connection is refused or reset. */
export class RedfishNetworkError extends RedfishError {}

/** No complete answer within the time allowed (login_timeout, the per-request timeout, ...). */
export class RedfishTimeoutError extends RedfishError {}

/** The BMC's certificate is not the one the options trust (CA, fingerprint). */
export class RedfishCertificateError extends RedfishError {}

/** The BMC refused the credentials (401, or 403 at login). */
export class RedfishAuthError extends RedfishError {}

/** An answer with an HTTP status that means the request failed; `status` is that status. */
export class RedfishHttpError extends RedfishError {
  readonly status: number;
  /** The Redfish MessageIds of the error body, for callers that decide on them. */
  readonly messageIds: readonly string[];
  constructor(message: string, status: number, messageIds: readonly string[] = []) {
    super(message);
    this.status = status;
    this.messageIds = messageIds;
  }
}

/** The BMC answered, but what it offers cannot do what was asked (no ForceOff, no system, ...). */
export class RedfishCapabilityError extends RedfishError {}

/** A task the BMC started for an action ended in failure (Exception, Killed, Cancelled). */
export class RedfishTaskError extends RedfishError {}
