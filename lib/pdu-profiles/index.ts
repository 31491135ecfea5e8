/**
 * The switched-PDU device profiles fence_pdu knows, how a device is matched to one by its
 * sysObjectID (and which of the vendor's other profiles to try when that one's outlet table does
 * not answer), and the profile's index and control conventions (profile.ts) in one place.
 */
import { APC_MASTERSWITCH, APC_MASTERSWITCH_PLUS, APC_RPDU, APC_RPDU2 } from "./apc.js";
import { CYBERPOWER, CYBERPOWER_EPDU2 } from "./cyberpower.js";
import { EATON_EPDU } from "./eaton.js";
import type { PduProfile } from "./profile.js";
import { RARITAN_PX2 } from "./raritan.js";
import { SENTRY3, SENTRY4 } from "./servertech.js";
import { TRIPPLITE, TRIPPLITE_ATS } from "./tripplite.js";

export type { PduProfile } from "./profile.js";

export const PDU_PROFILES: readonly PduProfile[] = [
  APC_RPDU,
  APC_RPDU2,
  APC_MASTERSWITCH,
  APC_MASTERSWITCH_PLUS,
  EATON_EPDU,
  RARITAN_PX2,
  SENTRY3,
  SENTRY4,
  TRIPPLITE,
  TRIPPLITE_ATS,
  CYBERPOWER,
  CYBERPOWER_EPDU2,
];

/** The profile named `id` (as given to device=; case and surrounding blanks ignored). */
export function profileById(id: string): PduProfile | undefined {
  const wanted = id.trim().toLowerCase();
  return PDU_PROFILES.find((p) => p.id === wanted);
}

/**
 * The profile whose sysObjectID prefix matches `oid` on the most arcs. A prefix matches the OID
 * itself and the OIDs below it, on whole arcs only: 1.3.6.1.4.1.318.1.3.4 matches
 * 1.3.6.1.4.1.318.1.3.4.5 but not 1.3.6.1.4.1.318.1.3.45. A leading dot is ignored.
 */
export function profileForSysObjectId(oid: string): PduProfile | undefined {
  return longestPrefixMatch(PDU_PROFILES, oid);
}

/**
 * The profiles to try, in order, when `profile`'s outlet table does not answer: the same vendor's
 * others, in list order. A sysObjectID names a product family, not the tables its firmware
 * serves: APC rPDU2g firmware on some units answers only the MasterSwitch (sPDU) table, as
 * fence_apc_snmp's fallback assumes; Tripp Lite's LX cards report one sysObjectID for PDUs and
 * transfer switches alike.
 */
export function vendorAlternatives(profile: PduProfile): PduProfile[] {
  return PDU_PROFILES.filter((p) => p.vendor === profile.vendor && p !== profile);
}

/** `profileForSysObjectId` over any list of profiles; on a tie, the first listed wins. */
export function longestPrefixMatch(
  profiles: readonly PduProfile[],
  oid: string,
): PduProfile | undefined {
  const id = oid.trim().replace(/^\./, "");
  if (!/^\d+(\.\d+)*$/.test(id)) return undefined;
  let best: PduProfile | undefined;
  let bestArcs = 0;
  for (const profile of profiles) {
    for (const prefix of profile.sysObjectIds) {
      if (id !== prefix && !id.startsWith(`${prefix}.`)) continue;
      const arcs = prefix.split(".").length;
      if (arcs > bestArcs) {
        best = profile;
        bestArcs = arcs;
      }
    }
  }
  return best;
}

/** An outlet as fence_pdu addresses it: switch (1 on units with one) and outlet number. */
export interface PduOutlet {
  readonly switchNo: number;
  readonly outlet: number;
}

/** `template` (a profile's index or outletCount OID) with the switch and outlet filled in. */
function fill(template: string, switchNo: number, outlet?: number): string {
  const filled = template
    .replaceAll("{switch-1}", String(switchNo - 1))
    .replaceAll("{switch}", String(switchNo));
  return outlet === undefined ? filled : filled.replaceAll("{outlet}", String(outlet));
}

/** The row index of an outlet in the profile's tables, e.g. "3", "2.1.3", "1.3" (Eaton's second unit). */
export function rowIndex(profile: PduProfile, address: PduOutlet): string {
  return fill(profile.index, address.switchNo, address.outlet);
}

/** The reverse of `rowIndex`: which outlet a row index (the OID arcs after a column) belongs to. */
export function outletOfRow(profile: PduProfile, index: string): PduOutlet | undefined {
  const pattern = profile.index
    .replace(/\./g, "\\.")
    .replace("{switch-1}", "(?<unit>\\d+)")
    .replace("{switch}", "(?<switch>\\d+)")
    .replace("{outlet}", "(?<outlet>\\d+)");
  const groups = new RegExp(`^${pattern}$`).exec(index)?.groups;
  if (groups?.outlet === undefined) return undefined;
  const switchNo =
    groups.unit !== undefined
      ? Number(groups.unit) + 1
      : groups.switch !== undefined
        ? Number(groups.switch)
        : 1;
  return { switchNo, outlet: Number(groups.outlet) };
}

/** What to write to switch an outlet on or off: the column (index still to append) and the value. */
export function controlWrite(
  profile: PduProfile,
  target: "on" | "off",
): { readonly oid: string; readonly value: number } {
  const { control } = profile;
  return target === "on"
    ? { oid: control.onOid ?? control.oid, value: control.on }
    : { oid: control.oid, value: control.off };
}

/** The OID holding the number of outlets of a switch, when the MIB has one. */
export function outletCountOid(profile: PduProfile, switchNo: number): string | undefined {
  return profile.outletCount === undefined ? undefined : fill(profile.outletCount.oid, switchNo);
}
