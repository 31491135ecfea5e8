/**
 * Get Channel Authentication Capabilities (App 0x38, section 22.13): the first, session-less
 * exchange. It tells whether the channel speaks IPMI 2.0 (RMCP+) and which IPMI 1.5 authentication
 * types it accepts.
 */
import { Reader } from "./bytes.js";

/** Channel number 0x0E means "the channel this request arrives on". */
export const CURRENT_CHANNEL = 0x0e;
/** Bit 7 of the channel byte: "get IPMI v2.0+ extended data" (needed to learn about RMCP+). */
const GET_IPMI20_EXTENDED_DATA = 0x80;

export function encodeGetChannelAuthCapabilitiesRequest(
  requestedPrivilege: number,
  ipmi20ExtendedData: boolean,
  channel: number = CURRENT_CHANNEL,
): Buffer {
  return Buffer.from([
    (channel & 0x0f) | (ipmi20ExtendedData ? GET_IPMI20_EXTENDED_DATA : 0),
    requestedPrivilege & 0x0f,
  ]);
}

export interface ChannelAuthCapabilities {
  channel: number;
  /** Authentication Type Support byte, bit 7: the extended capabilities byte is valid. */
  ipmi20ExtendedCapabilities: boolean;
  /** IPMI 1.5 authentication types enabled for the requested privilege level. */
  authTypes: { none: boolean; md2: boolean; md5: boolean; straightPassword: boolean; oem: boolean };
  /** KG status: a non-zero BMC key (Kg) is configured, so hexadecimal_kg must be given. */
  kgConfigured: boolean;
  perMessageAuthenticationDisabled: boolean;
  userLevelAuthenticationDisabled: boolean;
  nonNullUsernamesEnabled: boolean;
  nullUsernamesEnabled: boolean;
  anonymousLoginEnabled: boolean;
  ipmi20Supported: boolean;
  ipmi15Supported: boolean;
  oemId: number;
  oemAuxiliaryData: number;
}

/** Decodes the response data (after the completion code). */
export function decodeGetChannelAuthCapabilitiesResponse(data: Buffer): ChannelAuthCapabilities {
  const r = new Reader(data, "Get Channel Authentication Capabilities response");
  const channel = r.u8("channel number");
  const authTypeSupport = r.u8("authentication type support");
  const status = r.u8("authentication status");
  const extended = r.u8("extended capabilities");
  const oem = r.bytes(3, "OEM ID");
  const oemAuxiliaryData = r.u8("OEM auxiliary data");
  const ipmi20ExtendedCapabilities = (authTypeSupport & 0x80) !== 0;
  return {
    channel: channel & 0x0f,
    ipmi20ExtendedCapabilities,
    authTypes: {
      none: (authTypeSupport & 0x01) !== 0,
      md2: (authTypeSupport & 0x02) !== 0,
      md5: (authTypeSupport & 0x04) !== 0,
      straightPassword: (authTypeSupport & 0x10) !== 0,
      oem: (authTypeSupport & 0x20) !== 0,
    },
    kgConfigured: (status & 0x20) !== 0,
    perMessageAuthenticationDisabled: (status & 0x10) !== 0,
    userLevelAuthenticationDisabled: (status & 0x08) !== 0,
    nonNullUsernamesEnabled: (status & 0x04) !== 0,
    nullUsernamesEnabled: (status & 0x02) !== 0,
    anonymousLoginEnabled: (status & 0x01) !== 0,
    // Without the extended byte the BMC is an IPMI 1.5 one.
    ipmi20Supported: ipmi20ExtendedCapabilities && (extended & 0x02) !== 0,
    ipmi15Supported: !ipmi20ExtendedCapabilities || (extended & 0x01) !== 0,
    oemId: oem[0]! | (oem[1]! << 8) | (oem[2]! << 16),
    oemAuxiliaryData,
  };
}
