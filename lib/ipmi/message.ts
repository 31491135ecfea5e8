/**
 * IPMI messages as carried over LAN (section 13.8): the IPMB-like frame with slave addresses,
 * netFn/LUN, two checksums and the 6-bit request sequence number that pairs a response with its
 * request.
 */
import { Reader, ipmbChecksum, hex } from "./bytes.js";
import { IpmiProtocolError } from "./errors.js";

/** Responder address of the BMC itself. */
export const BMC_SLAVE_ADDRESS = 0x20;
/** Requester address a remote console uses: software ID 0x40, shifted, with bit 0 = 1 (software). */
export const REMOTE_CONSOLE_SOFTWARE_ID = 0x81;
/** rqSeq is 6 bits wide. */
export const RQSEQ_MODULO = 64;

export interface IpmiRequest {
  rsAddr: number;
  netFn: number;
  rsLun: number;
  rqAddr: number;
  rqSeq: number;
  rqLun: number;
  cmd: number;
  data: Buffer;
}

export interface IpmiResponse {
  rqAddr: number;
  /** The response netFn (odd): request netFn + 1. */
  netFn: number;
  rqLun: number;
  rsAddr: number;
  rqSeq: number;
  rsLun: number;
  cmd: number;
  completionCode: number;
  data: Buffer;
}

export interface IpmiRequestFields {
  netFn: number;
  cmd: number;
  rqSeq: number;
  data?: Buffer;
  rsAddr?: number;
  rsLun?: number;
  rqAddr?: number;
  rqLun?: number;
}

export function encodeIpmiRequest(req: IpmiRequestFields): Buffer {
  return encodeFrame(
    {
      to: req.rsAddr ?? BMC_SLAVE_ADDRESS,
      netFn: req.netFn,
      toLun: req.rsLun ?? 0,
      from: req.rqAddr ?? REMOTE_CONSOLE_SOFTWARE_ID,
      rqSeq: req.rqSeq,
      fromLun: req.rqLun ?? 0,
      cmd: req.cmd,
    },
    req.data ?? Buffer.alloc(0),
  );
}

export function decodeIpmiRequest(buf: Buffer): IpmiRequest {
  const { frame: f, body } = decodeFrame(buf, "IPMI request", 7);
  if (f.netFn & 1)
    throw new IpmiProtocolError(`IPMI request: netFn ${hex(f.netFn)} is a response netFn`);
  return {
    rsAddr: f.to,
    netFn: f.netFn,
    rsLun: f.toLun,
    rqAddr: f.from,
    rqSeq: f.rqSeq,
    rqLun: f.fromLun,
    cmd: f.cmd,
    data: body.rest(),
  };
}

export interface IpmiResponseFields {
  netFn: number;
  cmd: number;
  rqSeq: number;
  completionCode: number;
  data?: Buffer;
  rqAddr?: number;
  rqLun?: number;
  rsAddr?: number;
  rsLun?: number;
}

/** Encodes a response; `netFn` is the response netFn (request netFn + 1). */
export function encodeIpmiResponse(rsp: IpmiResponseFields): Buffer {
  return encodeFrame(
    {
      to: rsp.rqAddr ?? REMOTE_CONSOLE_SOFTWARE_ID,
      netFn: rsp.netFn,
      toLun: rsp.rqLun ?? 0,
      from: rsp.rsAddr ?? BMC_SLAVE_ADDRESS,
      rqSeq: rsp.rqSeq,
      fromLun: rsp.rsLun ?? 0,
      cmd: rsp.cmd,
    },
    Buffer.concat([Buffer.from([rsp.completionCode & 0xff]), rsp.data ?? Buffer.alloc(0)]),
  );
}

export function decodeIpmiResponse(buf: Buffer): IpmiResponse {
  const { frame: f, body } = decodeFrame(buf, "IPMI response", 8);
  const completionCode = body.u8("completion code");
  if (!(f.netFn & 1))
    throw new IpmiProtocolError(`IPMI response: netFn ${hex(f.netFn)} is a request netFn`);
  return {
    rqAddr: f.to,
    netFn: f.netFn,
    rqLun: f.toLun,
    rsAddr: f.from,
    rqSeq: f.rqSeq,
    rsLun: f.fromLun,
    cmd: f.cmd,
    completionCode,
    data: body.rest(),
  };
}

/**
 * The header requests and responses share. The receiver comes first: in a request the responder
 * (rsAddr/rsLUN), in a response the requester (rqAddr/rqLUN). Then checksum 1, the sender, rqSeq,
 * the command; then the body (a response's starts with the completion code) and checksum 2.
 */
interface Frame {
  to: number;
  netFn: number;
  toLun: number;
  from: number;
  rqSeq: number;
  fromLun: number;
  cmd: number;
}

function encodeFrame(f: Frame, body: Buffer): Buffer {
  const out = Buffer.alloc(7 + body.length);
  out[0] = f.to;
  out[1] = ((f.netFn & 0x3f) << 2) | (f.toLun & 0x03);
  out[2] = ipmbChecksum(out, 0, 2);
  out[3] = f.from;
  out[4] = ((f.rqSeq & 0x3f) << 2) | (f.fromLun & 0x03);
  out[5] = f.cmd & 0xff;
  body.copy(out, 6);
  out[out.length - 1] = ipmbChecksum(out, 3, out.length - 1);
  return out;
}

/** The checked header, and a Reader over the body (checksum 2 excluded). */
function decodeFrame(buf: Buffer, what: string, minLength: number): { frame: Frame; body: Reader } {
  if (buf.length < minLength)
    throw new IpmiProtocolError(`${what}: ${buf.length} bytes, at least ${minLength} needed`);
  checkChecksums(buf, what);
  const r = new Reader(buf, what, 0, buf.length - 1);
  const to = r.u8("receiver address");
  const netFnLun = r.u8("netFn/LUN");
  r.u8("checksum 1");
  const from = r.u8("sender address");
  const seqLun = r.u8("rqSeq/LUN");
  const cmd = r.u8("cmd");
  return {
    frame: {
      to,
      netFn: netFnLun >> 2,
      toLun: netFnLun & 3,
      from,
      rqSeq: seqLun >> 2,
      fromLun: seqLun & 3,
      cmd,
    },
    body: r,
  };
}

/** Checksum 1 covers the two address/netFn bytes, checksum 2 everything from rqAddr/rsAddr on. */
function checkChecksums(buf: Buffer, what: string): void {
  if (ipmbChecksum(buf, 0, 3) !== 0) throw new IpmiProtocolError(`${what}: bad header checksum`);
  if (ipmbChecksum(buf, 3, buf.length) !== 0)
    throw new IpmiProtocolError(`${what}: bad data checksum`);
}

/** Whether `rsp` answers the request with these fields (same command, rqSeq, and addresses). */
export function responseMatches(rsp: IpmiResponse, req: IpmiRequestFields): boolean {
  return (
    rsp.netFn === (req.netFn | 1) &&
    rsp.cmd === req.cmd &&
    rsp.rqSeq === (req.rqSeq & 0x3f) &&
    rsp.rqAddr === (req.rqAddr ?? REMOTE_CONSOLE_SOFTWARE_ID) &&
    rsp.rsAddr === (req.rsAddr ?? BMC_SLAVE_ADDRESS)
  );
}
