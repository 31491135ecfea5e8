/**
 * IPMI-over-LAN framing for the lab's own code (the scripted BMC, the readiness poll): written
 * from the IPMI 2.0 spec and sharing nothing with lib/ipmi, so that the lab checks the client
 * instead of agreeing with it.
 */

/** RMCP header, version 6, no ACK, class IPMI (section 13.1.3). */
export const RMCP_IPMI_HEADER: Readonly<Buffer> = Buffer.from([0x06, 0x00, 0xff, 0x07]);

/** Two's-complement checksum of an IPMI message part (section 13.8). */
export function checksum(bytes: Iterable<number>): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return (0x100 - sum) & 0xff;
}

/** An IPMI request message from a remote console (SWID 0x81) to the BMC (0x20), LUN 0. */
export function ipmiRequest(netFn: number, cmd: number, rqSeq: number, data: number[]): Buffer {
  const header = [0x20, netFn << 2];
  const body = [0x81, (rqSeq & 0x3f) << 2, cmd, ...data];
  return Buffer.from([...header, checksum(header), ...body, checksum(body)]);
}

/** The BMC's response message to a request message: completion code `cc`, then `data`. */
export function ipmiResponse(request: Buffer, cc: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const netFn = (request[1] ?? 0) >> 2;
  const header = [request[3] ?? 0, ((netFn | 1) << 2) | ((request[4] ?? 0) & 3)];
  const body = [0x20, request[4] ?? 0, request[5] ?? 0, cc, ...data];
  return Buffer.from([...header, checksum(header), ...body, checksum(body)]);
}

/** An IPMI 1.5 packet outside any session (authentication type none, session 0). */
export function sessionlessPacket(message: Buffer): Buffer {
  const session = Buffer.alloc(10);
  session[9] = message.length;
  return Buffer.concat([RMCP_IPMI_HEADER, session, message]);
}

/** The IPMI message inside a session-less IPMI 1.5 packet, or undefined for anything else. */
export function sessionlessMessage(packet: Buffer): Buffer | undefined {
  if (packet.length < 14 || packet[3] !== 0x07 || packet[4] !== 0x00) return undefined;
  const message = packet.subarray(14, 14 + (packet[13] ?? 0));
  return message.length === packet[13] ? message : undefined;
}

/**
 * Get Channel Authentication Capabilities for channel 0x0E (this one), administrator, as the
 * login's first request; `ipmi20` sets the "IPMI 2.0 extended data" bit.
 */
export function authCapsRequest(ipmi20 = true): Buffer {
  return sessionlessPacket(ipmiRequest(0x06, 0x38, 0, [(ipmi20 ? 0x80 : 0) | 0x0e, 0x04]));
}

/** True for a successful answer to {@link authCapsRequest}. */
export function isAuthCapsAnswer(packet: Buffer): boolean {
  const message = sessionlessMessage(packet);
  return message !== undefined && message.length >= 8 && message[5] === 0x38 && message[6] === 0;
}
