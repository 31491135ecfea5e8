/**
 * Eaton ePDUs (G2/G3 and later, "Marlin"), enterprise 534, EATON-EPDU-MIB, eatonEpdu =
 * 1.3.6.1.4.1.534.6.6.7 (checked against the 2014-09-29 revision). The units report eatonEpdu itself
 * as sysObjectID, switched or not: outletControlSwitchable (…6.6.1.9) says whether an outlet switches.
 * The older Eaton PDUs fence_eaton_snmp drives (Managed ePDU 534.6.6.6, Pulizzi 20677) use other MIBs.
 */
import type { PduProfile } from "./profile.js";

/**
 * Outlet rows are indexed { strappingIndex, outletIndex }; strappingIndex (0..23) numbers the
 * daisy-chained ("strapped") units from 0, and is 0 on a unit that does not strap. Switch N here is
 * strapping index N-1, so a lone unit's outlet 3 is plug 3 (row 0.3) and the second unit's is 2:3 (row 1.3),
 * as NUT numbers Eaton daisy-chain devices.
 *
 * The command columns are not enumerations: outletControlOffCmd and outletControlOnCmd each take a
 * delay in seconds before the command runs (0 = at once, -1 cancels a pending command). Switching
 * off writes 0 to outletControlOffCmd, switching on writes 0 to outletControlOnCmd (control.onOid).
 * outletControlRebootCmd is never written.
 */
export const EATON_EPDU: PduProfile = {
  id: "eaton-epdu",
  vendor: "Eaton",
  description: "Eaton switched ePDUs, G2 and later (EATON-EPDU-MIB outletControlTable)",
  mib: "EATON-EPDU-MIB",
  // eatonEpdu
  sysObjectIds: ["1.3.6.1.4.1.534.6.6.7"],
  index: "{switch-1}.{outlet}",
  switches: true,
  // outletControlStatus: off(0), on(1); pendingOff(2) and pendingOn(3) are neither
  state: { oid: "1.3.6.1.4.1.534.6.6.7.6.6.1.2", on: [1], off: [0] },
  // outletControlOffCmd ← 0 (off now); outletControlOnCmd ← 0 (on now)
  control: {
    oid: "1.3.6.1.4.1.534.6.6.7.6.6.1.3",
    off: 0,
    onOid: "1.3.6.1.4.1.534.6.6.7.6.6.1.4",
    on: 0,
  },
  // outletName (outletTable, same index)
  name: { oid: "1.3.6.1.4.1.534.6.6.7.6.1.1.3" },
  // outletCount.<strappingIndex> (unitTable)
  outletCount: { oid: "1.3.6.1.4.1.534.6.6.7.1.2.1.22.{switch-1}" },
};
