/**
 * Raritan PX2/PX3, enterprise 13742, PDU2-MIB, pdu2 = 1.3.6.1.4.1.13742.6 (checked against the
 * 2016 and 2017 revisions). The units report pdu2 as sysObjectID; the first-generation PX
 * (PDU-MIB, 1.3.6.1.4.1.13742.4) is a different MIB and is not claimed.
 */
import type { PduProfile } from "./profile.js";

/**
 * Rows are indexed { pduId, outletId }. pduId is 1 on a PX2/PX3 or transfer switch (the PDU2-MIB's
 * pduId description; BCM2 power meters use other ids but have no outlets), so the unit part of the
 * index is the constant 1. Cascaded PX units are each their own SNMP agent.
 */
export const RARITAN_PX2: PduProfile = {
  id: "raritan-px2",
  vendor: "Raritan",
  description: "Raritan PX2/PX3 switched PDUs (PDU2-MIB outletSwitchControlTable)",
  mib: "PDU2-MIB",
  // pdu2
  sysObjectIds: ["1.3.6.1.4.1.13742.6"],
  index: "1.{outlet}",
  switches: false,
  // outletSwitchingState (SensorStateEnumeration): on(7), off(8)
  state: { oid: "1.3.6.1.4.1.13742.6.4.1.2.1.3", on: [7], off: [8] },
  // switchingOperation (OutletSwitchingOperationsEnumeration): off(0), on(1); not cycle(2)
  control: { oid: "1.3.6.1.4.1.13742.6.4.1.2.1.2", on: 1, off: 0 },
  // outletName (outletConfigurationTable, same index)
  name: { oid: "1.3.6.1.4.1.13742.6.3.5.3.1.3" },
  // outletCount.<pduId> (unitConfigurationTable)
  outletCount: { oid: "1.3.6.1.4.1.13742.6.3.2.2.1.4.1" },
};
