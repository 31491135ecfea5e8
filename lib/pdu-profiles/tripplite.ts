/**
 * Tripp Lite PDUs on the LX platform (WEBCARDLX and built-in LX cards), enterprise 850,
 * TRIPPLITE-PRODUCTS (2016-06-22 revision), tlpPduOutletTable at 1.3.6.1.4.1.850.1.1.3.2.3.3.1.
 * LX agents report tlpDevice = 1.3.6.1.4.1.850.1.1.1 as sysObjectID whatever the device: PDUs
 * (tlpPdu tables), automatic transfer switches with switched outlets such as the PDUMH20ATNET
 * (tlpAts tables), and PowerAlert and LX UPS cards, which have no outlet rows at all. So the
 * sysObjectID picks `tripplite`, and fence_pdu tries `tripplite-ats` when the tlpPdu outlet table
 * does not answer (lib/pdu-profiles/index.ts, alternatives). The older SNMPWEBCARD PDUs (sysObjectID
 * 1.3.6.1.4.1.850.1, outlet tables under 850.10) use another MIB and are not claimed.
 */
import type { PduProfile } from "./profile.js";

/** tlpPduOutletTable INDEX { tlpDeviceIndex, tlpPduOutletIndex }; switch = the agent's device row (1 for a lone PDU). */
export const TRIPPLITE: PduProfile = {
  id: "tripplite",
  vendor: "Tripp Lite",
  description:
    "Tripp Lite switched PDUs with LX network cards (TRIPPLITE-PRODUCTS tlpPduOutletTable)",
  mib: "TRIPPLITE-PRODUCTS",
  // tlpDevice
  sysObjectIds: ["1.3.6.1.4.1.850.1.1.1"],
  index: "{switch}.{outlet}",
  switches: true,
  // tlpPduOutletState: off(1), on(2); unknown(0) is neither
  state: { oid: "1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.4", on: [2], off: [1] },
  // tlpPduOutletCommand: turnOff(1), turnOn(2); not cycle(3)
  control: { oid: "1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.6", on: 2, off: 1 },
  // tlpPduOutletName
  name: { oid: "1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.2" },
  // tlpPduIdentNumOutlets.<device>
  outletCount: { oid: "1.3.6.1.4.1.850.1.1.3.2.1.2.1.4.{switch}" },
};

/**
 * tlpAtsOutletTable (1.3.6.1.4.1.850.1.1.3.4.3.3.1), INDEX { tlpDeviceIndex, tlpAtsOutletIndex }: the
 * switched outlets of a Tripp Lite ATS/PDU (PDUMH*ATNET). The same encodings as tlpPduOutletTable.
 * No sysObjectID of its own (tlpDevice is shared): reached as the alternative of `tripplite`, or
 * with device=tripplite-ats.
 */
export const TRIPPLITE_ATS: PduProfile = {
  id: "tripplite-ats",
  vendor: "Tripp Lite",
  description:
    "Tripp Lite transfer switches with switched outlets, LX cards (TRIPPLITE-PRODUCTS tlpAtsOutletTable)",
  mib: "TRIPPLITE-PRODUCTS",
  sysObjectIds: [],
  index: "{switch}.{outlet}",
  switches: true,
  // tlpAtsOutletState: off(1), on(2); unknown(0) is neither
  state: { oid: "1.3.6.1.4.1.850.1.1.3.4.3.3.1.1.4", on: [2], off: [1] },
  // tlpAtsOutletCommand: turnOff(1), turnOn(2); not cycle(3); reads idle(0)
  control: { oid: "1.3.6.1.4.1.850.1.1.3.4.3.3.1.1.6", on: 2, off: 1 },
  // tlpAtsOutletName
  name: { oid: "1.3.6.1.4.1.850.1.1.3.4.3.3.1.1.2" },
  // tlpAtsIdentNumOutlets.<device>
  outletCount: { oid: "1.3.6.1.4.1.850.1.1.3.4.1.2.1.4.{switch}" },
};
