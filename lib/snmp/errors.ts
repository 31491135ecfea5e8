import { KvmhaError } from "../errors.js";

/** Every SNMP failure fails the fencing action (exit 1), in one line, without any secret. */
export abstract class SnmpError extends KvmhaError {
  readonly exitCode = 1;
}

/** No answer in time. With v1/v2c a wrong community looks exactly the same on the wire. */
export class SnmpTimeoutError extends SnmpError {}

/** The PDU cannot be reached at all: its host name does not resolve, or its host refuses SNMP. */
export class SnmpNetworkError extends SnmpError {}

/** SNMPv3 security failures (unknown user, wrong password, wrong privacy key or protocol). */
export class SnmpAuthError extends SnmpError {}

/** The agent answered with an error status (read-only community, no such object, bad value…). */
export class SnmpRequestError extends SnmpError {
  constructor(
    message: string,
    readonly status: string,
  ) {
    super(message);
  }
}

/** An answer that does not make sense (wrong type, wrong OID, a walk that goes backwards). */
export class SnmpProtocolError extends SnmpError {}
