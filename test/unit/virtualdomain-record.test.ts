/**
 * VirtualDomain's HA_RSCTMP record (pure): the parsed config kept with the config file's identity,
 * used only while the file is the very same (device, inode, size, mtime, ctime); old records and
 * damaged ones still give the name, never a half-checked parse.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import {
  cachedConfig,
  decodeDomainRecord,
  type DomainRecord,
  encodeDomainRecord,
  fileIdentity,
  STABLE_MS,
  sameFile,
  stableIdentity,
} from "../../lib/libvirt/domain-record.js";
import { parseDomainXml } from "../../lib/libvirt/domain-xml.js";

const XML =
  "<domain type='kvm'><name>vm1</name><uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid><vcpu>2</vcpu><memory unit='MiB'>128</memory><devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>";
const ID = {
  dev: "2049",
  ino: "1234",
  size: "200",
  mtimeNs: "1763793000123456789",
  ctimeNs: "1763793000123456789",
};

describe("VirtualDomain record", () => {
  it("round-trips the parsed config with the file identity", async () => {
    const xml = await parseDomainXml(XML);
    const rec: DomainRecord = {
      name: xml.name,
      uuid: xml.uuid,
      type: xml.type,
      config: "/etc/vm1.xml",
      file: ID,
      xml,
    };
    const back = decodeDomainRecord(encodeDomainRecord(rec));
    assert.deepEqual(back, rec);
    assert.deepEqual(cachedConfig(back, "/etc/vm1.xml", { ...ID }), xml);
  });

  it("is not used when anything of the file changed, or for another config path", async () => {
    const xml = await parseDomainXml(XML);
    const rec = decodeDomainRecord(
      encodeDomainRecord({
        name: "vm1",
        uuid: xml.uuid,
        type: "kvm",
        config: "/etc/vm1.xml",
        file: ID,
        xml,
      }),
    );
    for (const k of Object.keys(ID) as (keyof typeof ID)[]) {
      assert.equal(cachedConfig(rec, "/etc/vm1.xml", { ...ID, [k]: `${ID[k]}1` }), undefined, k);
    }
    assert.equal(cachedConfig(rec, "/etc/other.xml", ID), undefined);
    assert.equal(cachedConfig(undefined, "/etc/vm1.xml", ID), undefined);
  });

  it("reads a record without the parse (written before, or by start of an older version): name only", () => {
    const rec = decodeDomainRecord(
      '{"name":"vm1","uuid":"4dea22b3-1d52-d8f3-2516-782e98ab3fa0","type":"kvm","config":"/etc/vm1.xml"}\n',
    );
    assert.deepEqual(rec, {
      name: "vm1",
      uuid: "4dea22b3-1d52-d8f3-2516-782e98ab3fa0",
      type: "kvm",
      config: "/etc/vm1.xml",
    });
    assert.equal(cachedConfig(rec, "/etc/vm1.xml", ID), undefined);
  });

  it("drops a parse that does not check out, keeping the name; refuses what is not a record", async () => {
    const xml = await parseDomainXml(XML);
    const good = JSON.parse(
      encodeDomainRecord({ name: "vm1", uuid: xml.uuid, type: "kvm", config: "/c", file: ID, xml }),
    ) as Record<string, unknown>;
    const damaged: Record<string, unknown>[] = [
      { ...good, xml: { ...xml, name: "vm2" } },
      { ...good, xml: { ...xml, vcpus: -1 } },
      { ...good, xml: { ...xml, pools: "p" } },
      { ...good, file: { ...ID, ino: "12a" } },
      { ...good, file: undefined },
    ];
    for (const d of damaged) {
      const rec = decodeDomainRecord(JSON.stringify(d));
      assert.equal(rec?.name, "vm1");
      assert.equal(rec?.xml, undefined, JSON.stringify(d));
      assert.equal(cachedConfig(rec, "/c", ID), undefined);
    }
    for (const text of ["", "{", "[]", '{"name":""}', '{"uuid":"x"}', "null"])
      assert.equal(decodeDomainRecord(text), undefined, text);
  });

  it("trusts an identity only for a file unchanged for STABLE_MS before it was read (file times are coarse)", () => {
    const ctimeMs = 1_763_793_000_123;
    const st = {
      dev: 1n,
      ino: 2n,
      size: 3n,
      mtimeNs: BigInt(ctimeMs) * 1_000_000n,
      ctimeNs: BigInt(ctimeMs) * 1_000_000n + 456_789n,
    };
    assert.equal(stableIdentity(st, ctimeMs + 5), undefined);
    assert.equal(stableIdentity(st, ctimeMs + STABLE_MS - 1), undefined);
    assert.deepEqual(stableIdentity(st, ctimeMs + STABLE_MS + 1), {
      dev: "1",
      ino: "2",
      size: "3",
      mtimeNs: "1763793000123000000",
      ctimeNs: "1763793000123456789",
    });
  });

  it("takes a real file's identity from stat with bigint; a rewrite changes it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vd-record-"));
    try {
      const f = path.join(dir, "vm.xml");
      fs.writeFileSync(f, XML);
      const a = fileIdentity(fs.statSync(f, { bigint: true }));
      for (const v of Object.values(a)) assert.match(String(v), /^\d+$/);
      assert.ok(sameFile(a, fileIdentity(fs.statSync(f, { bigint: true }))));
      fs.writeFileSync(f, `${XML}\n`);
      assert.ok(!sameFile(a, fileIdentity(fs.statSync(f, { bigint: true }))));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
