/**
 * A switched PDU's device profile: data, not code. How the device is recognised, and which OIDs
 * hold each outlet's state, control, name, and the outlet count, with their value encodings.
 * OIDs are numeric, without a leading dot. Column OIDs get the outlet's index appended, written
 * from `index` with `{switch}` (1 for units with one switch) and `{outlet}` filled in, or
 * `{switch-1}` (the switch number less one) for MIBs that count their units from 0.
 */
export interface PduProfile {
  /** Name given to `device=`, e.g. "apc-rpdu". */
  readonly id: string;
  readonly vendor: string;
  /** The product line, for humans: "APC AP79xx/AP89xx rack PDUs (PowerNet-MIB rPDU tables)". */
  readonly description: string;
  /** The MIB the OIDs come from, for whoever checks them. */
  readonly mib: string;
  /** sysObjectID prefixes that identify the device; the longest matching prefix wins. None: by `device=` only. */
  readonly sysObjectIds: readonly string[];
  /** Index suffix of one outlet's row, e.g. "{outlet}" or "{switch}.{outlet}". */
  readonly index: string;
  /** Does the unit have several switches (daisy-chained or towers), addressed as switch:outlet? */
  readonly switches: boolean;
  /** Column whose value reads the outlet's current state. */
  readonly state: {
    readonly oid: string;
    readonly on: readonly number[];
    readonly off: readonly number[];
  };
  /**
   * Column written to switch the outlet; immediate on and immediate off, never the PDU's own reboot.
   * `onOid`, when given, is the column written to switch on, `oid` then only switches off: for MIBs
   * with one command column per direction (Eaton's outletControlOnCmd beside outletControlOffCmd).
   */
  readonly control: {
    readonly oid: string;
    readonly on: number;
    readonly off: number;
    readonly onOid?: string;
  };
  /** Column with each outlet's name, when the MIB has one. */
  readonly name?: { readonly oid: string };
  /**
   * Scalar (or per-switch, with `{switch}` or `{switch-1}`) holding the number of outlets, when the MIB
   * has one: the whole instance OID to get, so a scalar's ends in `.0`.
   */
  readonly outletCount?: { readonly oid: string };
}
