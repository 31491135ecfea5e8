/**
 * Server Technology Sentry CDUs, enterprise 1718 (serverTech). Third generation: Sentry3-MIB,
 * sentry3 = 1.3.6.1.4.1.1718.3 (2016-01-25 revision); fourth generation (PRO1/PRO2): Sentry4-MIB,
 * sentry4 = 1.3.6.1.4.1.1718.4 (2016-11-18 and 2017-06-15 revisions). Each reports its module's root
 * as sysObjectID.
 *
 * Both index outlets by unit (tower), input feed (input cord) and outlet, and number outlets per feed.
 * The profile's index has a switch and an outlet only, so it addresses the first feed (cord) of each
 * unit: single-feed units entirely; outlets on a second feed of a multi-feed unit are not reachable.
 */
import type { PduProfile } from "./profile.js";

/** Sentry3: outletTable INDEX { towerIndex, infeedIndex, outletIndex }; switch = tower (A=1, B=2). */
export const SENTRY3: PduProfile = {
  id: "sentry3",
  vendor: "Server Technology",
  description:
    "Server Technology Sentry3 switched CDUs, tower A and link tower B (Sentry3-MIB outletTable)",
  mib: "Sentry3-MIB",
  // sentry3
  sysObjectIds: ["1.3.6.1.4.1.1718.3"],
  index: "{switch}.1.{outlet}",
  switches: true,
  // outletStatus: off(0), on(1); offWait, onWait, offError, onError, noComm, reading, offFuse, onFuse are neither
  state: { oid: "1.3.6.1.4.1.1718.3.2.3.1.5", on: [1], off: [0] },
  // outletControlAction: on(1), off(2); not reboot(3)
  control: { oid: "1.3.6.1.4.1.1718.3.2.3.1.11", on: 1, off: 2 },
  // outletName
  name: { oid: "1.3.6.1.4.1.1718.3.2.3.1.3" },
  // infeedOutletCount.<tower>.<infeed 1>
  outletCount: { oid: "1.3.6.1.4.1.1718.3.2.2.1.9.{switch}.1" },
};

/**
 * Sentry4: st4OutletConfigTable, st4OutletMonitorTable and st4OutletControlTable are all indexed
 * { st4UnitIndex, st4InputCordIndex, st4OutletIndex }; switch = unit (A=1 … F=6, master and link PDUs).
 */
export const SENTRY4: PduProfile = {
  id: "sentry4",
  vendor: "Server Technology",
  description:
    "Server Technology Sentry4 PRO1/PRO2 switched PDUs, master and link units (Sentry4-MIB)",
  mib: "Sentry4-MIB",
  // sentry4
  sysObjectIds: ["1.3.6.1.4.1.1718.4"],
  index: "{switch}.1.{outlet}",
  switches: true,
  // st4OutletState (DeviceState): on(1), off(2); unknown(0) is neither
  state: { oid: "1.3.6.1.4.1.1718.4.1.8.3.1.1", on: [1], off: [2] },
  // st4OutletControlAction: on(1), off(2); not reboot(3) or queueOn/queueOff/queueReboot(4..6)
  control: { oid: "1.3.6.1.4.1.1718.4.1.8.5.1.2", on: 1, off: 2 },
  // st4OutletName
  name: { oid: "1.3.6.1.4.1.1718.4.1.8.2.1.3" },
  // st4InputCordOutletCount.<unit>.<cord 1>
  outletCount: { oid: "1.3.6.1.4.1.1718.4.1.3.2.1.24.{switch}.1" },
};
