/**
 * Chassis commands (section 28): Get Chassis Status (28.2) and Chassis Control (28.3), as pure
 * codecs plus the two calls a fence agent makes on an open session.
 */
import { Reader } from "./bytes.js";
import { ChassisCmd, NetFn } from "./constants.js";
import { IpmiConfigError } from "./errors.js";
import type { IpmiSession } from "./client.js";

export type PowerRestorePolicy = "always-off" | "previous" | "always-on" | "unknown";
export type ChassisIdentifyState = "off" | "temporary-on" | "indefinite-on" | "reserved";

export interface ChassisStatus {
  /** Current Power State, bit 0: system power is on. */
  powerOn: boolean;
  powerOverload: boolean;
  /** Power interlock active (e.g. a chassis switch). */
  interlock: boolean;
  /** Main power fault. */
  powerFault: boolean;
  /** Power control fault: the controller tried to change power and could not. */
  powerControlFault: boolean;
  powerRestorePolicy: PowerRestorePolicy;
  /** Last Power Event: what caused the last power transition. */
  lastPowerEvent: {
    acFailed: boolean;
    powerDownByOverload: boolean;
    powerDownByInterlock: boolean;
    powerDownByFault: boolean;
    powerOnByIpmiCommand: boolean;
  };
  /** Misc. Chassis State. */
  chassisIntrusion: boolean;
  frontPanelLockout: boolean;
  driveFault: boolean;
  coolingFault: boolean;
  /** Present when the BMC reports chassis identify support (bit 6). */
  identifyState?: ChassisIdentifyState;
  /** Optional fourth byte: front panel button capabilities and disable status. */
  frontPanelButtons?: {
    standbyDisableAllowed: boolean;
    diagnosticInterruptDisableAllowed: boolean;
    resetDisableAllowed: boolean;
    powerOffDisableAllowed: boolean;
    standbyDisabled: boolean;
    diagnosticInterruptDisabled: boolean;
    resetDisabled: boolean;
    powerOffDisabled: boolean;
  };
}

const RESTORE_POLICIES: readonly PowerRestorePolicy[] = [
  "always-off",
  "previous",
  "always-on",
  "unknown",
];
const IDENTIFY_STATES: readonly ChassisIdentifyState[] = [
  "off",
  "temporary-on",
  "indefinite-on",
  "reserved",
];

const bit = (byte: number, n: number): boolean => (byte & (1 << n)) !== 0;

/** Decodes the Get Chassis Status response data (after the completion code). */
export function decodeGetChassisStatusResponse(data: Buffer): ChassisStatus {
  const r = new Reader(data, "Get Chassis Status response");
  const power = r.u8("current power state");
  const last = r.u8("last power event");
  const misc = r.u8("misc. chassis state");
  const status: ChassisStatus = {
    powerOn: bit(power, 0),
    powerOverload: bit(power, 1),
    interlock: bit(power, 2),
    powerFault: bit(power, 3),
    powerControlFault: bit(power, 4),
    powerRestorePolicy: RESTORE_POLICIES[(power >> 5) & 3]!,
    lastPowerEvent: {
      acFailed: bit(last, 0),
      powerDownByOverload: bit(last, 1),
      powerDownByInterlock: bit(last, 2),
      powerDownByFault: bit(last, 3),
      powerOnByIpmiCommand: bit(last, 4),
    },
    chassisIntrusion: bit(misc, 0),
    frontPanelLockout: bit(misc, 1),
    driveFault: bit(misc, 2),
    coolingFault: bit(misc, 3),
  };
  if (bit(misc, 6)) status.identifyState = IDENTIFY_STATES[(misc >> 4) & 3]!;
  if (r.remaining > 0) {
    const fp = r.u8("front panel button capabilities");
    status.frontPanelButtons = {
      standbyDisableAllowed: bit(fp, 7),
      diagnosticInterruptDisableAllowed: bit(fp, 6),
      resetDisableAllowed: bit(fp, 5),
      powerOffDisableAllowed: bit(fp, 4),
      standbyDisabled: bit(fp, 3),
      diagnosticInterruptDisabled: bit(fp, 2),
      resetDisabled: bit(fp, 1),
      powerOffDisabled: bit(fp, 0),
    };
  }
  return status;
}

export type ChassisControlAction = "off" | "on" | "cycle" | "reset" | "diag" | "soft";

/** Chassis Control data byte (bits 3:0). */
export const ChassisControlCode: Readonly<Record<ChassisControlAction, number>> = {
  off: 0x00, // power down
  on: 0x01, // power up
  cycle: 0x02, // power cycle
  reset: 0x03, // hard reset
  diag: 0x04, // pulse diagnostic interrupt (NMI)
  soft: 0x05, // initiate soft shutdown via ACPI by emulating a fatal overtemperature
};

export function encodeChassisControlRequest(action: ChassisControlAction): Buffer {
  const code = ChassisControlCode[action];
  if (code === undefined)
    throw new IpmiConfigError(`unknown chassis control action '${String(action)}'`);
  return Buffer.from([code]);
}

export async function getChassisStatus(session: IpmiSession): Promise<ChassisStatus> {
  return decodeGetChassisStatusResponse(
    await session.request(NetFn.Chassis, ChassisCmd.GetChassisStatus),
  );
}

/**
 * Sends Chassis Control once (a non-zero completion code throws at once). Completion means the
 * BMC accepted the command, not that the power state has changed yet: poll Get Chassis Status.
 */
export async function chassisControl(
  session: IpmiSession,
  action: ChassisControlAction,
): Promise<void> {
  await session.request(
    NetFn.Chassis,
    ChassisCmd.ChassisControl,
    encodeChassisControlRequest(action),
  );
}
