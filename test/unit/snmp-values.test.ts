import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  SnmpType,
  compareOids,
  describeValue,
  indexOf,
  isOid,
  isUnder,
  toSnmpValue,
} from "../../lib/snmp/values.js";

describe("SNMP values", () => {
  it("keeps 'no such instance' and its kin apart from every number", () => {
    assert.deepEqual(toSnmpValue(SnmpType.NoSuchInstance, null), {
      kind: "missing",
      reason: "noSuchInstance",
    });
    assert.deepEqual(toSnmpValue(SnmpType.NoSuchObject, null), {
      kind: "missing",
      reason: "noSuchObject",
    });
    assert.deepEqual(toSnmpValue(SnmpType.EndOfMibView, null), {
      kind: "missing",
      reason: "endOfMibView",
    });
    assert.deepEqual(toSnmpValue(SnmpType.Integer, 2), { kind: "integer", value: 2 });
  });

  it("refuses values whose wire type and content disagree", () => {
    assert.deepEqual(toSnmpValue(SnmpType.Integer, "2"), { kind: "other", type: SnmpType.Integer });
    assert.deepEqual(toSnmpValue(SnmpType.Integer, 1.5), { kind: "other", type: SnmpType.Integer });
    assert.deepEqual(toSnmpValue(SnmpType.OctetString, Buffer.from("Outlet 1")), {
      kind: "string",
      value: "Outlet 1",
    });
    assert.deepEqual(toSnmpValue(SnmpType.OctetString, 7), {
      kind: "other",
      type: SnmpType.OctetString,
    });
    assert.deepEqual(toSnmpValue(99, 1), { kind: "other", type: 99 });
    assert.equal(describeValue(toSnmpValue(99, 1)), "a value of ASN.1 type 99");
  });

  it("compares OIDs arc by arc, numerically", () => {
    assert.ok(compareOids("1.3.6.1.10", "1.3.6.1.9") > 0);
    assert.ok(compareOids("1.3.6.1", "1.3.6.1.0") < 0);
    assert.equal(compareOids("1.3.6", "1.3.6"), 0);
    assert.ok(isUnder("1.3.6.1.4.1.318.1", "1.3.6.1.4.1.318"));
    assert.ok(!isUnder("1.3.6.1.4.1.3180", "1.3.6.1.4.1.318"));
    assert.ok(!isUnder("1.3.6.1.4.1.318", "1.3.6.1.4.1.318"));
    assert.equal(
      indexOf("1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.7", "1.3.6.1.4.1.318.1.1.12.3.5.1.1.4"),
      "7",
    );
    assert.equal(
      indexOf("1.3.6.1.4.1.318.1.1.12.3.5.1.1.40.7", "1.3.6.1.4.1.318.1.1.12.3.5.1.1.4"),
      undefined,
    );
    assert.ok(isOid("1.3.6.1"));
    assert.ok(!isOid(".1.3.6.1") && !isOid("1..3") && !isOid("1.3.x"));
  });
});
