/**
 * APC (Schneider Electric) switched PDUs, enterprise 318, all from PowerNet-MIB (checked against
 * PowerNet-MIB v4.5.8). The devices say which agent they run by sysObjectID, under
 * masterSwitch = 1.3.6.1.4.1.318.1.3.4:
 *   masterSwitchV1(1), masterSwitchV2(2)  MasterSwitch AP92xx/AP96xx        → apc-masterswitch
 *   masterSwitchMSP(4)                    MasterSwitch plus AP9225(EXP)    → apc-masterswitch-plus
 *   masterSwitchrPDU(5)                   Switched Rack PDU AP79xx         → apc-rpdu
 *   masterSwitchrPDU2(6), masterSwitchrPDUB(8)  rPDU2 firmware (AP8xxx, AP79xxB) → apc-rpdu2
 * masterSwitchVM(3), masterSwitchsPDU(7) and masterSwitchePDU(9, the Easy PDUs) have other tables
 * and are not claimed.
 * The sysObjectID says the product line, not which tables the firmware answers: rPDU2g firmware
 * serves the rPDU2 tables and, on the units recorded in test/fixtures/pdu-recordings, the rPDU and
 * MasterSwitch ones too; some answer only the MasterSwitch table. When the recognised profile's
 * table does not answer, fence_pdu tries the other APC profiles in list order (fence_apc_snmp
 * reads sPDUOutletCtl for every APC it does not know).
 */
import type { PduProfile } from "./profile.js";

const MASTER_SWITCH = "1.3.6.1.4.1.318.1.3.4";

/**
 * Switched Rack PDU, PowerNet-MIB rPDU group (1.3.6.1.4.1.318.1.1.12), one unit, indexed by outlet.
 * rPDU2 firmware answers these tables too (device=apc-rpdu on an AP89xx), but is recognised as apc-rpdu2.
 * fence_apc_snmp reads the control column (rPDUOutletControlOutletCommand) as the state; this
 * profile reads the status column.
 */
export const APC_RPDU: PduProfile = {
  id: "apc-rpdu",
  vendor: "APC",
  description:
    "APC AP79xx/AP89xx switched rack PDUs (PowerNet-MIB rPDU tables, recognised on AP79xx firmware)",
  mib: "PowerNet-MIB",
  // masterSwitchrPDU
  sysObjectIds: [`${MASTER_SWITCH}.5`],
  // rPDUOutletStatusTable / rPDUOutletControlTable INDEX { rPDUOutletStatusIndex } / { rPDUOutletControlIndex }
  index: "{outlet}",
  switches: false,
  // rPDUOutletStatusOutletState: outletStatusOn(1), outletStatusOff(2)
  state: { oid: "1.3.6.1.4.1.318.1.1.12.3.5.1.1.4", on: [1], off: [2] },
  // rPDUOutletControlOutletCommand: immediateOn(1), immediateOff(2); not immediateReboot(3) or the delayed ones
  control: { oid: "1.3.6.1.4.1.318.1.1.12.3.3.1.1.4", on: 1, off: 2 },
  // rPDUOutletStatusOutletName
  name: { oid: "1.3.6.1.4.1.318.1.1.12.3.5.1.1.2" },
  // rPDUOutletDevNumCntrlOutlets.0
  outletCount: { oid: "1.3.6.1.4.1.318.1.1.12.3.1.3.0" },
};

/**
 * rPDU2 firmware (AOS 5 and later: AP8xxx, AP79xxB), PowerNet-MIB rPDU2 group (1.3.6.1.4.1.318.1.1.26).
 * Its outlet tables have a single, flat row index over every unit of a daisy chain
 * (INDEX { rPDU2OutletSwitchedStatusIndex }), with the unit in rPDU2OutletSwitchedStatusModule and the
 * outlet's own number in rPDU2OutletSwitchedStatusNumber. A row index cannot be written from a unit
 * and outlet number, so the outlet here is the row index: on a single unit that is the outlet number;
 * on a chain, later units' outlets are named by their row index or by outlet name.
 */
export const APC_RPDU2: PduProfile = {
  id: "apc-rpdu2",
  vendor: "APC",
  description: "APC rack PDUs with rPDU2 firmware, AP8xxx and AP79xxB (PowerNet-MIB rPDU2 tables)",
  mib: "PowerNet-MIB",
  // masterSwitchrPDU2 (AP8932 reports it), masterSwitchrPDUB (AP7900B with rpdu2g firmware reports it)
  sysObjectIds: [`${MASTER_SWITCH}.6`, `${MASTER_SWITCH}.8`],
  index: "{outlet}",
  switches: false,
  // rPDU2OutletSwitchedStatusState: off(1), on(2) — the reverse of the command's numbering
  state: { oid: "1.3.6.1.4.1.318.1.1.26.9.2.3.1.5", on: [2], off: [1] },
  // rPDU2OutletSwitchedControlCommand: immediateOn(1), immediateOff(2); not immediateReboot(3) or delayed*(5..7)
  control: { oid: "1.3.6.1.4.1.318.1.1.26.9.2.4.1.5", on: 1, off: 2 },
  // rPDU2OutletSwitchedStatusName
  name: { oid: "1.3.6.1.4.1.318.1.1.26.9.2.3.1.3" },
  // rPDU2OutletSwitchedTableSize.0: "The number of switched outlets on connected Rack PDUs"
  outletCount: { oid: "1.3.6.1.4.1.318.1.1.26.9.1.0" },
};

/** MasterSwitch, PowerNet-MIB masterswitch group (1.3.6.1.4.1.318.1.1.4), indexed by outlet. */
export const APC_MASTERSWITCH: PduProfile = {
  id: "apc-masterswitch",
  vendor: "APC",
  description: "APC MasterSwitch AP92xx/AP96xx (PowerNet-MIB sPDUOutletControlTable)",
  mib: "PowerNet-MIB",
  // masterSwitchV1, masterSwitchV2
  sysObjectIds: [`${MASTER_SWITCH}.1`, `${MASTER_SWITCH}.2`],
  // sPDUOutletControlTable INDEX { sPDUOutletControlIndex }
  index: "{outlet}",
  switches: false,
  // sPDUOutletCtl reads outletOn(1), outletOff(2) (outletUnknown(4) is neither)
  state: { oid: "1.3.6.1.4.1.318.1.1.4.4.2.1.3", on: [1], off: [2] },
  // sPDUOutletCtl written: outletOn(1), outletOff(2); not outletReboot(3) or *WithDelay(5..7)
  control: { oid: "1.3.6.1.4.1.318.1.1.4.4.2.1.3", on: 1, off: 2 },
  // sPDUOutletCtlName (read-only copy of sPDUOutletName in sPDUOutletConfigTable)
  name: { oid: "1.3.6.1.4.1.318.1.1.4.4.2.1.4" },
  // sPDUOutletControlTableSize.0
  outletCount: { oid: "1.3.6.1.4.1.318.1.1.4.4.1.0" },
};

/**
 * MasterSwitch plus (AP9225 with up to three AP9225EXP expansions), PowerNet-MIB masterswitchMSP
 * group (1.3.6.1.4.1.318.1.1.6); switch = MasterSwitch plus unit (sPDUOutletStatusMSPIndex).
 * The MIB's INDEX is { sPDUOutletStatusMSPIndex, sPDUOutletStatusMSPOutletIndex }, but the units
 * answer rows indexed unit.1.outlet (fence_apc_snmp addresses ".%d.1.%d" and finds the unit at the
 * third arc from the end of the name rows; so do other field implementations). That observed form
 * is what this profile writes; it has not been checked on hardware here.
 */
export const APC_MASTERSWITCH_PLUS: PduProfile = {
  id: "apc-masterswitch-plus",
  vendor: "APC",
  description: "APC MasterSwitch plus AP9225 (PowerNet-MIB sPDUOutletStatusMSP/ControlMSP tables)",
  mib: "PowerNet-MIB",
  // masterSwitchMSP
  sysObjectIds: [`${MASTER_SWITCH}.4`],
  index: "{switch}.1.{outlet}",
  switches: true,
  // sPDUOutletStatusMSPOutletState: outletStatusMSPOn(1), outletStatusMSPOff(2)
  state: { oid: "1.3.6.1.4.1.318.1.1.6.7.1.1.5", on: [1], off: [2] },
  // sPDUOutletControlMSPOutletCommand: immediateOnMSP(1), immediateOffMSP(3);
  // not delayedOnMSP(2), the graceful or immediate reboots (4, 5) or gracefulshutdownMSP(6)
  control: { oid: "1.3.6.1.4.1.318.1.1.6.5.1.1.5", on: 1, off: 3 },
  // sPDUOutletStatusMSPOutletName
  name: { oid: "1.3.6.1.4.1.318.1.1.6.7.1.1.4" },
  // sPDUMasterStatusMSPOutletCount.<unit>
  outletCount: { oid: "1.3.6.1.4.1.318.1.1.6.4.2.1.3.{switch}" },
};
