/**
 * VirtualDomain's utilization (pure): values from the domain XML (vcpu current=, memory units),
 * which crm_resource calls a record of earlier writes still needs, and the record's text.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DomainXmlError,
  parseDomainXml,
  toKib,
  withoutRuntimeId,
} from "../../lib/libvirt/domain-xml.js";
import {
  crmResourceArgs,
  parseUtilizationRecord,
  recordAfter,
  type UtilizationFlags,
  type UtilizationRecord,
  utilizationOps,
  utilizationValues,
} from "../../lib/libvirt/utilization.js";

const all = (v: boolean) => ({ cpu: v, hv_memory: v, host_memory: v });
const DEFAULTS: UtilizationFlags = { autoset: all(true), unset: all(false) };

describe("domain XML: vCPUs, memory, pools, networks", () => {
  it("reads vcpu (current= wins) and memory in KiB from every unit", async () => {
    const d = await parseDomainXml(
      "<domain type='kvm'><name>a</name><vcpu placement='static' current='2'>4</vcpu><memory unit='GiB'>2</memory></domain>",
    );
    assert.equal(d.vcpus, 2);
    assert.equal(d.memoryKib, 2 * 1024 * 1024);
    const e = await parseDomainXml(
      "<domain type='kvm'><name>a</name><vcpu>3</vcpu><memory>1048576</memory></domain>",
    );
    assert.equal(e.vcpus, 3);
    assert.equal(e.memoryKib, 1048576);
    assert.equal(toKib("1", "MB"), 977);
    assert.equal(toKib("512", "M"), 524288);
    assert.equal(toKib("1024", "bytes"), 1);
    assert.equal(toKib("1", "T"), 1024 ** 3);
  });
  it("refuses a malformed vcpu or memory with a one-line reason", async () => {
    await assert.rejects(
      parseDomainXml("<domain type='kvm'><name>a</name><vcpu>two</vcpu></domain>"),
      DomainXmlError,
    );
    await assert.rejects(
      parseDomainXml("<domain type='kvm'><name>a</name><memory unit='parsec'>1</memory></domain>"),
      /unit 'parsec'/,
    );
    await assert.rejects(
      parseDomainXml("<domain type='kvm'><name>a</name><memory>-1</memory></domain>"),
      /not a number/,
    );
  });
  it("drops a running domain's id from a dumped XML, and nothing else", () => {
    assert.equal(
      withoutRuntimeId("<domain type='test' id='2'>\n  <name>a</name>"),
      "<domain type='test'>\n  <name>a</name>",
    );
    assert.equal(
      withoutRuntimeId('<domain id="17" type="kvm"><name>a</name>'),
      '<domain type="kvm"><name>a</name>',
    );
    assert.equal(
      withoutRuntimeId("<domain type='kvm'><name>id='3'</name>"),
      "<domain type='kvm'><name>id='3'</name>",
    );
  });
  it("lists the pools and networks the devices use, once each", async () => {
    const d = await parseDomainXml(
      "<domain type='kvm'><name>a</name><devices><disk type='volume'><source pool='p2' volume='v'/></disk><disk type='volume'><source pool='p1' volume='w'/></disk><disk type='file'><source file='/x'/></disk><disk type='volume'><source pool='p1' volume='z'/></disk><interface type='network'><source network='default'/></interface><interface type='bridge'><source bridge='br0'/></interface></devices></domain>",
    );
    assert.deepEqual(d.pools, ["p1", "p2"]);
    assert.deepEqual(d.networks, ["default"]);
  });
});

describe("utilization operations", () => {
  const values = utilizationValues(2, 1536 * 1024 + 512);
  it("uses the reference's names and units (MiB rounded down)", () => {
    assert.deepEqual(values, { cpu: "2", hv_memory: "1536", host_memory: "1536" });
    assert.deepEqual(utilizationValues(undefined, undefined), {});
  });
  it("writes everything first, nothing once recorded, only what changed after", () => {
    const first = utilizationOps(DEFAULTS, values, { values: {} });
    assert.deepEqual(
      first.map((o) => o.attr),
      ["cpu", "hv_memory", "host_memory"],
    );
    let rec: UtilizationRecord = { values: {} };
    for (const op of first) rec = recordAfter(rec, op);
    assert.deepEqual(utilizationOps(DEFAULTS, values, rec), []);
    assert.deepEqual(utilizationOps(DEFAULTS, utilizationValues(4, 1536 * 1024), rec), [
      { attr: "cpu", op: "set", value: "4" },
    ]);
  });
  it("deletes (once) what unset_utilization_* asks for when autoset is off; leaves the rest alone", () => {
    const flags: UtilizationFlags = {
      autoset: { cpu: false, hv_memory: false, host_memory: true },
      unset: { cpu: true, hv_memory: false, host_memory: true },
    };
    const ops = utilizationOps(flags, values, { values: { cpu: "2", hv_memory: "1536" } });
    assert.deepEqual(ops, [
      { attr: "cpu", op: "delete" },
      { attr: "host_memory", op: "set", value: "1536" },
    ]);
    let rec: UtilizationRecord = { values: { cpu: "2", hv_memory: "1536" } };
    for (const op of ops) rec = recordAfter(rec, op);
    assert.deepEqual(rec.values, { cpu: null, hv_memory: "1536", host_memory: "1536" });
    assert.deepEqual(utilizationOps(flags, values, rec), []);
  });
  it("crm_resource arguments", () => {
    assert.deepEqual(crmResourceArgs("vm1", { attr: "cpu", op: "set", value: "2" }), [
      "--resource",
      "vm1",
      "--utilization",
      "--set-parameter",
      "cpu",
      "--parameter-value",
      "2",
    ]);
    assert.deepEqual(crmResourceArgs("vm1", { attr: "hv_memory", op: "delete" }), [
      "--resource",
      "vm1",
      "--utilization",
      "--delete-parameter",
      "hv_memory",
    ]);
  });
  it("reads a record back; garbage is an empty record", () => {
    assert.deepEqual(
      parseUtilizationRecord('{"values":{"cpu":"2","hv_memory":null,"x":"y"},"retryAfter":5}'),
      { values: { cpu: "2", hv_memory: null }, retryAfter: 5 },
    );
    assert.deepEqual(parseUtilizationRecord("not json"), { values: {} });
    assert.deepEqual(parseUtilizationRecord(undefined), { values: {} });
  });
});
