import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  controlWrite,
  longestPrefixMatch,
  outletCountOid,
  outletOfRow,
  PDU_PROFILES,
  profileById,
  profileForSysObjectId,
  rowIndex,
  vendorAlternatives,
} from "../../lib/pdu-profiles/index.js";
import type { PduProfile } from "../../lib/pdu-profiles/profile.js";

const NUMERIC_OID = /^\d+(\.\d+)+$/;
const SWITCH = /\{switch(-1)?\}/;

/** The enterprise arc of a private OID (1.3.6.1.4.1.<n>…), or undefined. */
function enterprise(oid: string): string | undefined {
  return /^1\.3\.6\.1\.4\.1\.(\d+)(\.|$)/.exec(oid)?.[1];
}

function columns(p: PduProfile): string[] {
  return [
    p.state.oid,
    p.control.oid,
    ...(p.control.onOid === undefined ? [] : [p.control.onOid]),
    ...(p.name === undefined ? [] : [p.name.oid]),
  ];
}

/**
 * Prefixes one profile claims below another profile's prefix, on purpose (the longer one wins).
 * None today; an entry here is "outer prefix → inner prefix".
 */
const DELIBERATE_NESTING: ReadonlySet<string> = new Set<string>();

describe("PDU profiles are well formed", () => {
  it("have unique, lower-case ids that profileById finds", () => {
    const ids = PDU_PROFILES.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const p of PDU_PROFILES) {
      assert.match(p.id, /^[a-z0-9]+(-[a-z0-9]+)*$/);
      assert.equal(profileById(p.id), p);
      assert.equal(profileById(` ${p.id.toUpperCase()} `), p);
      assert.ok(p.vendor && p.description && p.mib, `${p.id}: vendor, description and mib`);
    }
    assert.equal(profileById("apc"), undefined);
    assert.equal(profileById(""), undefined);
  });

  for (const p of PDU_PROFILES) {
    describe(p.id, () => {
      it("has numeric column OIDs, all in one enterprise's subtree", () => {
        for (const oid of columns(p)) assert.match(oid, NUMERIC_OID, oid);
        const enterprises = new Set([...columns(p), ...p.sysObjectIds].map(enterprise));
        assert.equal(enterprises.size, 1, `${p.id}: enterprises ${[...enterprises].join(", ")}`);
        assert.notEqual([...enterprises][0], undefined);
      });

      it("has numeric sysObjectID prefixes below an enterprise, none repeated", () => {
        for (const oid of p.sysObjectIds) {
          assert.match(oid, NUMERIC_OID, oid);
          assert.ok(
            oid.split(".").length >= 7,
            `${oid} names an enterprise's product, not a bare tree`,
          );
        }
        assert.equal(new Set(p.sysObjectIds).size, p.sysObjectIds.length);
      });

      it("has an index of arcs, the outlet once, a switch exactly when it has switches", () => {
        assert.match(
          p.index,
          /^(\d+|\{switch\}|\{switch-1\}|\{outlet\})(\.(\d+|\{switch\}|\{switch-1\}|\{outlet\}))*$/,
        );
        assert.equal(p.index.split("{outlet}").length, 2, "{outlet} once");
        assert.ok((p.index.match(/\{switch(-1)?\}/g) ?? []).length <= 1, "at most one switch");
        assert.equal(SWITCH.test(p.index), p.switches, "switch in index ⇔ switches");
      });

      it("reads on and off from disjoint, non-empty sets of integers", () => {
        const { on, off } = p.state;
        assert.ok(on.length > 0 && off.length > 0);
        for (const v of [...on, ...off]) assert.ok(Number.isInteger(v), String(v));
        assert.deepEqual(
          on.filter((v) => off.includes(v)),
          [],
          "a value both on and off",
        );
      });

      it("writes on and off distinguishably: different values or different columns", () => {
        const { control } = p;
        assert.ok(Number.isInteger(control.on) && Number.isInteger(control.off));
        const on = controlWrite(p, "on");
        const off = controlWrite(p, "off");
        assert.ok(
          on.oid !== off.oid || on.value !== off.value,
          `${p.id}: on and off write the same`,
        );
        if (control.onOid !== undefined) assert.notEqual(control.onOid, control.oid);
      });

      it("has an outlet count OID that fills in to a numeric instance", () => {
        if (p.outletCount === undefined) return;
        const oid = p.outletCount.oid;
        // A scalar's instance (.0), a per-switch instance, or a fixed row (Raritan's pduId 1).
        if (SWITCH.test(oid)) assert.ok(p.switches, "a per-switch count on a unit with switches");
        else if (p.switches) assert.fail(`${oid}: one count for a unit with several switches`);
        assert.match(outletCountOid(p, 2) ?? "", NUMERIC_OID);
        assert.equal(enterprise(oid), enterprise(p.state.oid));
      });

      it("round-trips outlet addresses through row indexes", () => {
        const switches = p.switches ? [1, 2, 4] : [1];
        for (const switchNo of switches) {
          for (const outlet of [1, 8, 24]) {
            const index = rowIndex(p, { switchNo, outlet });
            assert.match(index, /^\d+(\.\d+)*$/);
            assert.deepEqual(outletOfRow(p, index), { switchNo, outlet });
          }
        }
        assert.equal(outletOfRow(p, "x"), undefined);
        assert.equal(outletOfRow(p, `${rowIndex(p, { switchNo: 1, outlet: 3 })}.7`), undefined);
      });
    });
  }

  it("claim no sysObjectID prefix twice, and nest none unless listed as deliberate", () => {
    const claims = PDU_PROFILES.flatMap((p) =>
      p.sysObjectIds.map((prefix) => ({ id: p.id, prefix })),
    );
    for (const a of claims) {
      for (const b of claims) {
        if (a === b) continue;
        assert.notEqual(a.prefix, b.prefix, `${a.prefix} claimed by ${a.id} and ${b.id}`);
        if (b.prefix.startsWith(`${a.prefix}.`)) {
          assert.ok(
            DELIBERATE_NESTING.has(`${a.prefix} → ${b.prefix}`),
            `${b.id}'s ${b.prefix} lies below ${a.id}'s ${a.prefix}`,
          );
        }
      }
    }
  });
});

describe("profileForSysObjectId", () => {
  it("matches a prefix itself and what lies below it, on whole arcs", () => {
    assert.equal(profileForSysObjectId("1.3.6.1.4.1.318.1.3.4.5")?.id, "apc-rpdu");
    assert.equal(profileForSysObjectId("1.3.6.1.4.1.318.1.3.4.5.1")?.id, "apc-rpdu");
    assert.equal(profileForSysObjectId("1.3.6.1.4.1.318.1.3.4.5.12.7")?.id, "apc-rpdu");
    assert.equal(profileForSysObjectId("1.3.6.1.4.1.318.1.3.4.55"), undefined);
    assert.equal(profileForSysObjectId("1.3.6.1.4.1.318.1.3.4.50"), undefined);
    assert.equal(
      profileForSysObjectId("1.3.6.1.4.1.318.1.3.4"),
      undefined,
      "a prefix's parent is not matched",
    );
    assert.equal(profileForSysObjectId("1.3.6.1.4.1.3180.1.3.4.5"), undefined);
    assert.equal(profileForSysObjectId("1.3.6.1.4.1.1718.30"), undefined);
    assert.equal(profileForSysObjectId("1.3.6.1.4.1.1718.3"), profileById("sentry3"));
    assert.equal(profileForSysObjectId("1.3.6.1.4.1.1718.34"), undefined);
  });

  it("accepts a leading dot and refuses what is not an OID", () => {
    assert.equal(profileForSysObjectId(".1.3.6.1.4.1.13742.6")?.id, "raritan-px2");
    assert.equal(profileForSysObjectId(" 1.3.6.1.4.1.13742.6 ")?.id, "raritan-px2");
    assert.equal(profileForSysObjectId(""), undefined);
    assert.equal(profileForSysObjectId("1.3.6.1.4.1.13742.6."), undefined);
    assert.equal(profileForSysObjectId("1.3.6.1.4.1.13742.6x"), undefined);
    assert.equal(profileForSysObjectId("enterprises.13742.6"), undefined);
  });

  it("prefers the prefix with the most arcs, whatever the order of the profiles", () => {
    const base = profileById("apc-masterswitch") as PduProfile;
    const outer: PduProfile = { ...base, id: "outer", sysObjectIds: ["1.3.6.1.4.1.318.1.3.4"] };
    const inner: PduProfile = {
      ...base,
      id: "inner",
      sysObjectIds: ["1.3.6.1.4.1.999", "1.3.6.1.4.1.318.1.3.4.5"],
    };
    for (const list of [
      [outer, inner],
      [inner, outer],
    ]) {
      assert.equal(longestPrefixMatch(list, "1.3.6.1.4.1.318.1.3.4.5")?.id, "inner");
      assert.equal(longestPrefixMatch(list, "1.3.6.1.4.1.318.1.3.4.5.2")?.id, "inner");
      assert.equal(longestPrefixMatch(list, "1.3.6.1.4.1.318.1.3.4.45")?.id, "outer");
      assert.equal(longestPrefixMatch(list, "1.3.6.1.4.1.318.1.3.4")?.id, "outer");
      assert.equal(longestPrefixMatch(list, "1.3.6.1.4.1.318.1.3")?.id, undefined);
    }
    // On the real list each claimed prefix, and what lies below it, resolves to its own profile.
    for (const p of PDU_PROFILES) {
      for (const prefix of p.sysObjectIds) {
        assert.equal(profileForSysObjectId(prefix), p, prefix);
        assert.equal(profileForSysObjectId(`${prefix}.99`), p, `${prefix}.99`);
      }
    }
  });

  // sysObjectIDs devices report, and where they are recorded.
  const REAL: readonly (readonly [string, string | undefined, string])[] = [
    [
      "1.3.6.1.4.1.318.1.3.4.5",
      "apc-rpdu",
      "AP79xx, PowerNet-MIB masterSwitchrPDU; fence_apc_snmp ApcRPDU",
    ],
    ["1.3.6.1.4.1.318.1.3.4.6", "apc-rpdu2", "AP8932 rpdu2g 6.7.2, PowerNet-MIB masterSwitchrPDU2"],
    [
      "1.3.6.1.4.1.318.1.3.4.8",
      "apc-rpdu2",
      "AP7900B rpdu2g 6.8.0 (LibreNMS apc_ap7900b.snmprec), masterSwitchrPDUB",
    ],
    ["1.3.6.1.4.1.318.1.3.4.1", "apc-masterswitch", "PowerNet-MIB masterSwitchV1"],
    ["1.3.6.1.4.1.318.1.3.4.2", "apc-masterswitch", "PowerNet-MIB masterSwitchV2"],
    [
      "1.3.6.1.4.1.318.1.3.4.4",
      "apc-masterswitch-plus",
      "PowerNet-MIB masterSwitchMSP; fence_apc_snmp ApcMSP",
    ],
    ["1.3.6.1.4.1.318.1.3.4.9", undefined, "APC ePDU (masterSwitchePDU), other tables"],
    ["1.3.6.1.4.1.318.1.3.2.11", undefined, "an APC Smart-UPS"],
    [
      "1.3.6.1.4.1.534.6.6.7",
      "eaton-epdu",
      "Eaton ePDU MA 1P (LibreNMS eatonpdu.snmprec), EATON-EPDU-MIB eatonEpdu",
    ],
    ["1.3.6.1.4.1.534.6.6.6", undefined, "Eaton Managed ePDU (older MIB, fence_eaton_snmp)"],
    ["1.3.6.1.4.1.13742.6", "raritan-px2", "PDU2-MIB pdu2"],
    [
      "1.3.6.1.4.1.13742.4",
      undefined,
      "Raritan Dominion PX, first generation (LibreNMS raritan-pdu.snmprec)",
    ],
    ["1.3.6.1.4.1.1718.3", "sentry3", "Sentry3-MIB sentry3"],
    [
      "1.3.6.1.4.1.1718.4",
      "sentry4",
      "Sentry Smart PDU (LibreNMS sentry4.snmprec), Sentry4-MIB sentry4",
    ],
    [
      "1.3.6.1.4.1.850.1.1.1",
      "tripplite",
      "Tripp Lite LX card, TRIPPLITE-PRODUCTS tlpDevice; fence_apc_snmp TrippliteLXPDU",
    ],
    ["1.3.6.1.4.1.850.1", undefined, "Tripp Lite SNMPWEBCARD, older MIB"],
    [
      "1.3.6.1.4.1.3808.1.1.3",
      "cyberpower",
      "CyberPower PDU (LibreNMS cyberpower definition), CPS-MIB ePDU",
    ],
    [
      "1.3.6.1.4.1.3808.1.1.6",
      "cyberpower-epdu2",
      "CyberPower switched PDU with ePDU2 tables (centreon-plugins CyberPower.snmpwalk), CPS-MIB ePDU2",
    ],
    ["1.3.6.1.4.1.3808.1.1.1", undefined, "a CyberPower UPS card, CPS-MIB ups"],
    ["1.3.6.1.4.1.3808.1.1.5", undefined, "a CyberPower card reporting CPS-MIB ats"],
    ["1.3.6.1.4.1.8072.3.2.10", undefined, "net-snmp on Linux"],
  ];
  for (const [oid, id, what] of REAL) {
    it(`${oid} → ${id ?? "nothing"} (${what})`, () => {
      assert.equal(profileForSysObjectId(oid)?.id, id);
    });
  }
});

describe("index and control conventions", () => {
  it("writes APC rPDU row indexes as the outlet", () => {
    const p = profileById("apc-rpdu") as PduProfile;
    assert.equal(rowIndex(p, { switchNo: 1, outlet: 7 }), "7");
    assert.equal(
      `${p.state.oid}.${rowIndex(p, { switchNo: 1, outlet: 7 })}`,
      "1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.7",
    );
  });

  it("counts Eaton strapped units from 0: switch N is strappingIndex N-1", () => {
    const p = profileById("eaton-epdu") as PduProfile;
    assert.equal(rowIndex(p, { switchNo: 1, outlet: 3 }), "0.3");
    assert.equal(rowIndex(p, { switchNo: 2, outlet: 3 }), "1.3");
    assert.deepEqual(outletOfRow(p, "0.12"), { switchNo: 1, outlet: 12 });
    assert.deepEqual(outletOfRow(p, "3.1"), { switchNo: 4, outlet: 1 });
    assert.equal(outletCountOid(p, 1), "1.3.6.1.4.1.534.6.6.7.1.2.1.22.0");
  });

  it("switches Eaton outlets by writing 0 (no delay) to the off or the on command column", () => {
    const p = profileById("eaton-epdu") as PduProfile;
    assert.deepEqual(controlWrite(p, "off"), { oid: "1.3.6.1.4.1.534.6.6.7.6.6.1.3", value: 0 });
    assert.deepEqual(controlWrite(p, "on"), { oid: "1.3.6.1.4.1.534.6.6.7.6.6.1.4", value: 0 });
  });

  it("writes one column with two values where the MIB has one command column", () => {
    for (const p of PDU_PROFILES.filter((q) => q.control.onOid === undefined)) {
      assert.deepEqual(controlWrite(p, "on"), { oid: p.control.oid, value: p.control.on });
      assert.deepEqual(controlWrite(p, "off"), { oid: p.control.oid, value: p.control.off });
    }
  });

  it("addresses a MasterSwitch plus outlet as unit.1.outlet and a Sentry outlet as unit.feed 1.outlet", () => {
    assert.equal(
      rowIndex(profileById("apc-masterswitch-plus") as PduProfile, { switchNo: 2, outlet: 6 }),
      "2.1.6",
    );
    assert.equal(
      rowIndex(profileById("sentry3") as PduProfile, { switchNo: 2, outlet: 5 }),
      "2.1.5",
    );
    assert.equal(
      rowIndex(profileById("sentry4") as PduProfile, { switchNo: 1, outlet: 16 }),
      "1.1.16",
    );
    assert.equal(
      outletOfRow(profileById("sentry4") as PduProfile, "1.2.16"),
      undefined,
      "second cord: not addressable",
    );
  });

  it("addresses Raritan outlets under pduId 1 and Tripp Lite outlets under their device", () => {
    assert.equal(
      rowIndex(profileById("raritan-px2") as PduProfile, { switchNo: 1, outlet: 12 }),
      "1.12",
    );
    assert.deepEqual(outletOfRow(profileById("raritan-px2") as PduProfile, "1.12"), {
      switchNo: 1,
      outlet: 12,
    });
    assert.equal(outletOfRow(profileById("raritan-px2") as PduProfile, "2.12"), undefined);
    assert.equal(
      rowIndex(profileById("tripplite") as PduProfile, { switchNo: 1, outlet: 4 }),
      "1.4",
    );
  });

  it("keeps read and write numberings apart where a MIB reverses them", () => {
    // rPDU2: state off(1)/on(2), command immediateOn(1)/immediateOff(2).
    const rpdu2 = profileById("apc-rpdu2") as PduProfile;
    assert.deepEqual(
      [rpdu2.state.on, rpdu2.state.off, rpdu2.control.on, rpdu2.control.off],
      [[2], [1], 1, 2],
    );
    // PDU2-MIB: state on(7)/off(8), operation on(1)/off(0).
    const px = profileById("raritan-px2") as PduProfile;
    assert.deepEqual([px.state.on, px.state.off, px.control.on, px.control.off], [[7], [8], 1, 0]);
    // MasterSwitch plus: immediateOffMSP is 3, not 2 (delayedOnMSP).
    assert.equal((profileById("apc-masterswitch-plus") as PduProfile).control.off, 3);
  });
});

describe("the vendor's other profiles, tried when the recognised one's table does not answer", () => {
  const ids = (id: string) => vendorAlternatives(profileById(id) as PduProfile).map((p) => p.id);

  it("after rPDU2 (AP7900B, AP89xx): rPDU, then the MasterSwitch table fence_apc_snmp falls back to", () => {
    assert.deepEqual(ids("apc-rpdu2"), ["apc-rpdu", "apc-masterswitch", "apc-masterswitch-plus"]);
  });

  it("after Tripp Lite's PDU table: the transfer switch's, behind the same sysObjectID", () => {
    assert.deepEqual(ids("tripplite"), ["tripplite-ats"]);
  });

  it("between CyberPower's ePDU and ePDU2 tables, both ways", () => {
    assert.deepEqual(ids("cyberpower"), ["cyberpower-epdu2"]);
    assert.deepEqual(ids("cyberpower-epdu2"), ["cyberpower"]);
  });

  it("never another vendor's, never the profile itself", () => {
    for (const p of PDU_PROFILES) {
      for (const other of vendorAlternatives(p)) {
        assert.equal(other.vendor, p.vendor);
        assert.notEqual(other, p);
      }
    }
    assert.deepEqual(ids("eaton-epdu"), []);
    assert.deepEqual(ids("raritan-px2"), []);
  });
});
