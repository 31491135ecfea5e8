/**
 * RMCP (ASF 2.0 Remote Management and Control Protocol) header, and the ASF Presence Ping / Pong
 * that checks whether anything RMCP-capable listens on the port.
 */
import { Reader } from "./bytes.js";
import { IpmiProtocolError } from "./errors.js";

export const RMCP_VERSION_1_0 = 0x06;
/** RMCP sequence number 255: "do not send an RMCP ACK". IPMI always uses it. */
export const RMCP_SEQUENCE_NO_ACK = 0xff;
export const RMCP_HEADER_LENGTH = 4;

/** Class of Message, bits 4:0 of the fourth header byte; bit 7 marks an RMCP ACK. */
export const RmcpClass = { ASF: 0x06, IPMI: 0x07, OEM: 0x08 } as const;
const RMCP_ACK_BIT = 0x80;

/** IANA Enterprise Number of the ASF (Alert Standards Forum): 4542. */
export const ASF_IANA = 0x000011be;
export const AsfMessageType = { PresencePong: 0x40, PresencePing: 0x80 } as const;

export interface RmcpHeader {
  version: number;
  sequence: number;
  messageClass: number;
  ack: boolean;
}

export function encodeRmcpHeader(
  messageClass: number,
  sequence: number = RMCP_SEQUENCE_NO_ACK,
): Buffer {
  return Buffer.from([RMCP_VERSION_1_0, 0x00, sequence & 0xff, messageClass & 0x1f]);
}

export function decodeRmcpHeader(packet: Buffer): RmcpHeader {
  const r = new Reader(packet, "RMCP header");
  const version = r.u8("version");
  r.u8("reserved");
  const sequence = r.u8("sequence number");
  const cls = r.u8("class of message");
  if (version !== RMCP_VERSION_1_0) {
    throw new IpmiProtocolError(`RMCP header: unsupported version 0x${version.toString(16)}`);
  }
  return { version, sequence, messageClass: cls & 0x1f, ack: (cls & RMCP_ACK_BIT) !== 0 };
}

/** A complete ASF Presence Ping datagram (RMCP header included). */
export function encodeAsfPresencePing(messageTag: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(ASF_IANA, 0);
  body[4] = AsfMessageType.PresencePing;
  body[5] = messageTag & 0xff;
  body[6] = 0x00; // reserved
  body[7] = 0x00; // data length
  return Buffer.concat([encodeRmcpHeader(RmcpClass.ASF), body]);
}

export interface AsfPresencePong {
  messageTag: number;
  /** IANA number of the responder's enterprise (4542 unless OEM-defined). */
  iana: number;
  oemDefined: number;
  /** Supported Entities bit 7: IPMI is supported. */
  ipmiSupported: boolean;
  /** Supported Entities bits 3:0: ASF version (1 = ASF 1.0). */
  asfVersion: number;
  supportedInteractions: number;
}

/** Decodes a complete Presence Pong datagram (RMCP header included). */
export function decodeAsfPresencePong(packet: Buffer): AsfPresencePong {
  const header = decodeRmcpHeader(packet);
  if (header.messageClass !== RmcpClass.ASF || header.ack) {
    throw new IpmiProtocolError("ASF Presence Pong: not an ASF message");
  }
  const r = new Reader(packet, "ASF Presence Pong", RMCP_HEADER_LENGTH);
  const iana = r.u32be("IANA enterprise number");
  const messageType = r.u8("message type");
  const messageTag = r.u8("message tag");
  r.u8("reserved");
  const dataLength = r.u8("data length");
  if (iana !== ASF_IANA || messageType !== AsfMessageType.PresencePong) {
    throw new IpmiProtocolError(
      `ASF Presence Pong: unexpected message type 0x${messageType.toString(16)}`,
    );
  }
  if (dataLength < 16)
    throw new IpmiProtocolError(`ASF Presence Pong: data length ${dataLength} < 16`);
  const d = new Reader(r.bytes(dataLength, "data"), "ASF Presence Pong data");
  const pongIana = d.u32be("IANA enterprise number");
  const oemDefined = d.u32be("OEM defined");
  const entities = d.u8("supported entities");
  const supportedInteractions = d.u8("supported interactions");
  return {
    messageTag,
    iana: pongIana,
    oemDefined,
    ipmiSupported: (entities & 0x80) !== 0,
    asfVersion: entities & 0x0f,
    supportedInteractions,
  };
}
