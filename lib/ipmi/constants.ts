/**
 * Numbers from the IPMI 2.0 specification (rev 1.1 with errata) that more than one codec needs:
 * network functions, the commands kvmha sends, privilege levels, completion codes.
 */
import { hex } from "./bytes.js";

/** Network Function codes (requests; the response netFn is the request's + 1). */
export const NetFn = {
  Chassis: 0x00,
  SensorEvent: 0x04,
  App: 0x06,
  Storage: 0x0a,
  Transport: 0x0c,
  GroupExtension: 0x2c,
} as const;

export const AppCmd = {
  GetDeviceId: 0x01,
  GetChannelAuthenticationCapabilities: 0x38,
  GetSessionChallenge: 0x39,
  ActivateSession: 0x3a,
  SetSessionPrivilegeLevel: 0x3b,
  CloseSession: 0x3c,
  GetChannelCipherSuites: 0x54,
} as const;

export const ChassisCmd = {
  GetChassisCapabilities: 0x00,
  GetChassisStatus: 0x01,
  ChassisControl: 0x02,
} as const;

export type IpmiPrivilege = "callback" | "user" | "operator" | "administrator";

/** Privilege Level field values (section 6.8). */
export const PrivilegeLevel: Readonly<Record<IpmiPrivilege, number>> = {
  callback: 0x01,
  user: 0x02,
  operator: 0x03,
  administrator: 0x04,
};

export function privilegeName(level: number): string {
  for (const [name, value] of Object.entries(PrivilegeLevel)) if (value === level) return name;
  return level === 0x05 ? "OEM" : `privilege ${hex(level)}`;
}

const COMMAND_NAMES = new Map<number, string>([
  [key(NetFn.App, AppCmd.GetDeviceId), "Get Device ID"],
  [
    key(NetFn.App, AppCmd.GetChannelAuthenticationCapabilities),
    "Get Channel Authentication Capabilities",
  ],
  [key(NetFn.App, AppCmd.GetSessionChallenge), "Get Session Challenge"],
  [key(NetFn.App, AppCmd.ActivateSession), "Activate Session"],
  [key(NetFn.App, AppCmd.SetSessionPrivilegeLevel), "Set Session Privilege Level"],
  [key(NetFn.App, AppCmd.CloseSession), "Close Session"],
  [key(NetFn.App, AppCmd.GetChannelCipherSuites), "Get Channel Cipher Suites"],
  [key(NetFn.Chassis, ChassisCmd.GetChassisCapabilities), "Get Chassis Capabilities"],
  [key(NetFn.Chassis, ChassisCmd.GetChassisStatus), "Get Chassis Status"],
  [key(NetFn.Chassis, ChassisCmd.ChassisControl), "Chassis Control"],
]);

function key(netFn: number, cmd: number): number {
  return ((netFn & 0x3e) << 8) | (cmd & 0xff);
}

/** The spec's name of a command, or "NetFn 0x06 command 0x99" for ones kvmha does not know. */
export function commandName(netFn: number, cmd: number): string {
  return COMMAND_NAMES.get(key(netFn, cmd)) ?? `NetFn ${hex(netFn & 0x3e)} command ${hex(cmd)}`;
}

/** Generic completion codes (table 5-2). */
const COMPLETION_CODES = new Map<number, string>([
  [0x00, "command completed normally"],
  [0xc0, "node busy"],
  [0xc1, "invalid command"],
  [0xc2, "command invalid for given LUN"],
  [0xc3, "timeout while processing command"],
  [0xc4, "out of space"],
  [0xc5, "reservation canceled or invalid reservation ID"],
  [0xc6, "request data truncated"],
  [0xc7, "request data length invalid"],
  [0xc8, "request data field length limit exceeded"],
  [0xc9, "parameter out of range"],
  [0xca, "cannot return number of requested data bytes"],
  [0xcb, "requested sensor, data, or record not present"],
  [0xcc, "invalid data field in request"],
  [0xcd, "command illegal for specified sensor or record type"],
  [0xce, "command response could not be provided"],
  [0xcf, "cannot execute duplicated request"],
  [0xd0, "SDR repository in update mode"],
  [0xd1, "device in firmware update mode"],
  [0xd2, "BMC initialization or initialization agent in progress"],
  [0xd3, "destination unavailable"],
  [0xd4, "insufficient privilege level"],
  [0xd5, "command not supported in present state"],
  [0xd6, "command sub-function has been disabled or is unavailable"],
  [0xff, "unspecified error"],
]);

/** Command-specific completion codes (0x80-0xBE) of the session commands kvmha sends. */
const COMMAND_COMPLETION_CODES = new Map<number, ReadonlyMap<number, string>>([
  [
    key(NetFn.App, AppCmd.GetSessionChallenge),
    new Map([
      [0x81, "invalid user name"],
      [0x82, "null user name (user 1) not enabled"],
    ]),
  ],
  [
    key(NetFn.App, AppCmd.ActivateSession),
    new Map([
      [0x81, "no session slot available"],
      [0x82, "no slot available for given user"],
      [0x83, "no slot available to support user due to maximum privilege capability"],
      [0x84, "session sequence number out-of-range"],
      [0x85, "invalid session ID in request"],
      [0x86, "requested maximum privilege level exceeds user and/or channel privilege limit"],
    ]),
  ],
  [
    key(NetFn.App, AppCmd.SetSessionPrivilegeLevel),
    new Map([
      [0x80, "requested level not available for this user"],
      [0x81, "requested level exceeds channel and/or user privilege limit"],
      [0x82, "cannot disable user level authentication"],
    ]),
  ],
  [
    key(NetFn.App, AppCmd.CloseSession),
    new Map([
      [0x87, "invalid session ID in request"],
      [0x88, "invalid session handle in request"],
    ]),
  ],
]);

/** What a completion code means, for one-line error messages. */
export function completionCodeMeaning(
  completionCode: number,
  netFn?: number,
  cmd?: number,
): string {
  const generic = COMPLETION_CODES.get(completionCode);
  if (generic !== undefined) return generic;
  if (completionCode >= 0x80 && completionCode <= 0xbe) {
    const specific =
      netFn === undefined || cmd === undefined
        ? undefined
        : COMMAND_COMPLETION_CODES.get(key(netFn, cmd))?.get(completionCode);
    return specific ?? "command-specific completion code";
  }
  if (completionCode >= 0x01 && completionCode <= 0x7e)
    return "device-specific (OEM) completion code";
  return "reserved completion code";
}
