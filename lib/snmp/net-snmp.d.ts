/**
 * The part of the `net-snmp` package kvmha uses, typed here rather than through @types/net-snmp
 * (which trails the package): sessions, get/getNext/set, and the error classes and codes.
 */
declare module "net-snmp" {
  import type { EventEmitter } from "node:events";

  export interface Varbind {
    oid: string;
    type: number;
    value: unknown;
  }

  export interface SessionOptions {
    port?: number;
    retries?: number;
    timeout?: number;
    backoff?: number;
    transport?: "udp4" | "udp6";
    version?: number;
    idBitsSize?: 16 | 32;
    backwardsGetNexts?: boolean;
    reportOidMismatchErrors?: boolean;
    /** Replaces node:dgram (used to exercise the codec without a network). */
    dgramModule?: { createSocket(type: string): EventEmitter };
  }

  export interface V3User {
    name: string;
    level: number;
    authProtocol?: number;
    authKey?: string;
    privProtocol?: number;
    privKey?: string;
  }

  export type ResponseCallback = (error: Error | null, varbinds?: Varbind[]) => void;

  export interface Session extends EventEmitter {
    get(oids: string[], callback: ResponseCallback): Session;
    getNext(oids: string[], callback: ResponseCallback): Session;
    set(varbinds: Varbind[], callback: ResponseCallback): Session;
    close(): Session;
  }

  export function createSession(
    target: string,
    community: string,
    options?: SessionOptions,
  ): Session;
  export function createV3Session(target: string, user: V3User, options?: SessionOptions): Session;

  export const Version1: number;
  export const Version2c: number;
  export const ObjectType: {
    readonly Integer: number;
    readonly OctetString: number;
    readonly OID: number;
    readonly Gauge: number;
    readonly Counter: number;
    readonly NoSuchObject: number;
    readonly NoSuchInstance: number;
    readonly EndOfMibView: number;
    readonly [name: string]: number | string;
  };
  export const SecurityLevel: {
    readonly noAuthNoPriv: number;
    readonly authNoPriv: number;
    readonly authPriv: number;
  };
  export const AuthProtocols: {
    readonly none: number;
    readonly md5: number;
    readonly sha: number;
    readonly sha224: number;
    readonly sha256: number;
    readonly sha384: number;
    readonly sha512: number;
  };
  export const PrivProtocols: {
    readonly none: number;
    readonly des: number;
    readonly aes: number;
    readonly aes256b: number;
    readonly aes256r: number;
  };
  export const ErrorStatus: { readonly [name: string]: number | string };
  export const ResponseInvalidCode: { readonly [name: string]: number | string };

  export class RequestFailedError extends Error {
    status: number;
  }
  export class RequestTimedOutError extends Error {}
  export class ResponseInvalidError extends Error {
    code: number;
  }
}
