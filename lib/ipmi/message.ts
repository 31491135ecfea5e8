/**
 * IPMI messages as carried over LAN (section 13.8): the IPMB-like frame with slave addresses,
 * netFn/LUN, two checksums and the 6-bit request sequence number that pairs a response with its
 * request.
 */
import { Reader, ipmbChecksum, hex } from './bytes.js';
import { IpmiProtocolError } from './errors.js';

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
  const data = req.data ?? Buffer.alloc(0);
  const out = Buffer.alloc(7 + data.length);
  out[0] = req.rsAddr ?? BMC_SLAVE_ADDRESS;
  out[1] = ((req.netFn & 0x3f) << 2) | ((req.rsLun ?? 0) & 0x03);
  out[2] = ipmbChecksum(out, 0, 2);
  out[3] = req.rqAddr ?? REMOTE_CONSOLE_SOFTWARE_ID;
  out[4] = ((req.rqSeq & 0x3f) << 2) | ((req.rqLun ?? 0) & 0x03);
  out[5] = req.cmd & 0xff;
  data.copy(out, 6);
  out[out.length - 1] = ipmbChecksum(out, 3, out.length - 1);
  return out;
}

export function decodeIpmiRequest(buf: Buffer): IpmiRequest {
  if (buf.length < 7) throw new IpmiProtocolError(`IPMI request: ${buf.length} bytes, at least 7 needed`);
  checkChecksums(buf, 'IPMI request');
  const r = new Reader(buf, 'IPMI request', 0, buf.length - 1);
  const rsAddr = r.u8('rsAddr');
  const netFnLun = r.u8('netFn/rsLUN');
  r.u8('checksum 1');
  const rqAddr = r.u8('rqAddr');
  const seqLun = r.u8('rqSeq/rqLUN');
  const cmd = r.u8('cmd');
  const netFn = netFnLun >> 2;
  if (netFn & 1) throw new IpmiProtocolError(`IPMI request: netFn ${hex(netFn)} is a response netFn`);
  return { rsAddr, netFn, rsLun: netFnLun & 3, rqAddr, rqSeq: seqLun >> 2, rqLun: seqLun & 3, cmd, data: r.rest() };
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
  const data = rsp.data ?? Buffer.alloc(0);
  const out = Buffer.alloc(8 + data.length);
  out[0] = rsp.rqAddr ?? REMOTE_CONSOLE_SOFTWARE_ID;
  out[1] = ((rsp.netFn & 0x3f) << 2) | ((rsp.rqLun ?? 0) & 0x03);
  out[2] = ipmbChecksum(out, 0, 2);
  out[3] = rsp.rsAddr ?? BMC_SLAVE_ADDRESS;
  out[4] = ((rsp.rqSeq & 0x3f) << 2) | ((rsp.rsLun ?? 0) & 0x03);
  out[5] = rsp.cmd & 0xff;
  out[6] = rsp.completionCode & 0xff;
  data.copy(out, 7);
  out[out.length - 1] = ipmbChecksum(out, 3, out.length - 1);
  return out;
}

export function decodeIpmiResponse(buf: Buffer): IpmiResponse {
  if (buf.length < 8) throw new IpmiProtocolError(`IPMI response: ${buf.length} bytes, at least 8 needed`);
  checkChecksums(buf, 'IPMI response');
  const r = new Reader(buf, 'IPMI response', 0, buf.length - 1);
  const rqAddr = r.u8('rqAddr');
  const netFnLun = r.u8('netFn/rqLUN');
  r.u8('checksum 1');
  const rsAddr = r.u8('rsAddr');
  const seqLun = r.u8('rqSeq/rsLUN');
  const cmd = r.u8('cmd');
  const completionCode = r.u8('completion code');
  const netFn = netFnLun >> 2;
  if (!(netFn & 1)) throw new IpmiProtocolError(`IPMI response: netFn ${hex(netFn)} is a request netFn`);
  return {
    rqAddr,
    netFn,
    rqLun: netFnLun & 3,
    rsAddr,
    rqSeq: seqLun >> 2,
    rsLun: seqLun & 3,
    cmd,
    completionCode,
    data: r.rest(),
  };
}

/** Checksum 1 covers the two address/netFn bytes, checksum 2 everything from rqAddr/rsAddr on. */
function checkChecksums(buf: Buffer, what: string): void {
  if (ipmbChecksum(buf, 0, 3) !== 0) throw new IpmiProtocolError(`${what}: bad header checksum`);
  if (ipmbChecksum(buf, 3, buf.length) !== 0) throw new IpmiProtocolError(`${what}: bad data checksum`);
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
