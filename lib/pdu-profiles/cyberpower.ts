/**
 * CyberPower switched PDUs, enterprise 3808, CPS-MIB (checked against version 2.13). Two groups of
 * outlet tables: ePDU (1.3.6.1.4.1.3808.1.1.3), one PDU indexed by outlet; and ePDU2
 * (1.3.6.1.4.1.3808.1.1.6), for daisy-chainable units, with flat row indexes over the whole chain.
 * Each unit reports its group's node as sysObjectID (a PDU81005 reports ePDU2: recorded walk in
 * test/fixtures/pdu-recordings). Some UPS cards report ePDU too ("Power Manager", UPS tables only):
 * their missing outlet table is an error, never an empty list. When the recognised group's table
 * does not answer, fence_pdu tries the other one.
 */
import type { PduProfile } from "./profile.js";

/** ePDUOutletStatusTable / ePDUOutletControlTable, INDEX { ePDUOutletStatusIndex } / { ePDUOutletControlIndex }. */
export const CYBERPOWER: PduProfile = {
  id: "cyberpower",
  vendor: "CyberPower",
  description: "CyberPower switched PDUs (CPS-MIB ePDU outlet tables)",
  mib: "CPS-MIB",
  // ePDU
  sysObjectIds: ["1.3.6.1.4.1.3808.1.1.3"],
  index: "{outlet}",
  switches: false,
  // ePDUOutletStatusOutletState: outletStatusOn(1), outletStatusOff(2)
  state: { oid: "1.3.6.1.4.1.3808.1.1.3.3.5.1.1.4", on: [1], off: [2] },
  // ePDUOutletControlOutletCommand: immediateOn(1), immediateOff(2); not immediateReboot(3), delayed*(4..6), outletIdentify(8)
  control: { oid: "1.3.6.1.4.1.3808.1.1.3.3.3.1.1.4", on: 1, off: 2 },
  // ePDUOutletStatusOutletName
  name: { oid: "1.3.6.1.4.1.3808.1.1.3.3.5.1.1.2" },
  // ePDUOutletDevNumCntrlOutlets.0
  outletCount: { oid: "1.3.6.1.4.1.3808.1.1.3.3.1.3.0" },
};

/**
 * ePDU2 switched-outlet tables, for a daisy chain reached through its host unit. Like APC's rPDU2,
 * rows have one flat index (INDEX { ePDU2OutletSwitchedStatusIndex }, 1..96) with the unit in
 * ePDU2OutletSwitchedStatusModuleIndex, so the outlet here is the row index.
 */
export const CYBERPOWER_EPDU2: PduProfile = {
  id: "cyberpower-epdu2",
  vendor: "CyberPower",
  description:
    "CyberPower switched PDUs with ePDU2 firmware, PDU81005 and daisy chains (CPS-MIB ePDU2 switched outlet tables)",
  mib: "CPS-MIB",
  // ePDU2 (reported by the PDU81005)
  sysObjectIds: ["1.3.6.1.4.1.3808.1.1.6"],
  index: "{outlet}",
  switches: false,
  // ePDU2OutletSwitchedStatusState: outletStatusOn(1), outletStatusOff(2)
  state: { oid: "1.3.6.1.4.1.3808.1.1.6.6.1.4.1.5", on: [1], off: [2] },
  // ePDU2OutletSwitchedControlCommand: immediateOn(1), immediateOff(2); not immediateReboot(3), delayed*(4..6), outletIdentify(8)
  control: { oid: "1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5", on: 1, off: 2 },
  // ePDU2OutletSwitchedStatusName
  name: { oid: "1.3.6.1.4.1.3808.1.1.6.6.1.4.1.4" },
  // ePDU2OutletSwitchedTableSize.0: "The number of switched outlets on connected Rack PDUs"
  outletCount: { oid: "1.3.6.1.4.1.3808.1.1.6.6.1.1.0" },
};
