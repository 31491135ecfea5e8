/**
 * The corpus of recorded PDUs (test/fixtures/pdu-recordings) is whole and says what it claims:
 * every recording is there with its source and licence, its sysObjectID is the one recorded, and
 * the profiles it names are the ones the sysObjectID and the vendor's alternatives give. Also the
 * readers that turn recordings into what snmpsim serves.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import {
  profileById,
  profileForSysObjectId,
  vendorAlternatives,
} from "../../lib/pdu-profiles/index.js";
import {
  RECORDINGS_DIR,
  loadManifest,
  parseSnmprec,
  parseWalk,
  readRecording,
  staticValue,
} from "../lab/pdu-recordings.js";

const manifest = loadManifest();

describe("the PDU recordings corpus", () => {
  it("holds at least 15 recordings of the six vendors, switched PDUs and look-alikes", () => {
    const { recordings } = manifest;
    assert.ok(recordings.length >= 15, `${recordings.length} recordings`);
    const vendors = new Set(
      recordings.map((r) => profileById(r.profile ?? r.recognisedAs ?? "")?.vendor),
    );
    for (const vendor of [
      "APC",
      "Eaton",
      "Raritan",
      "Server Technology",
      "Tripp Lite",
      "CyberPower",
    ])
      assert.ok(vendors.has(vendor), vendor);
    assert.ok(recordings.filter((r) => r.outlets !== undefined).length >= 10);
    assert.ok(recordings.filter((r) => r.noOutlets !== undefined).length >= 5);
  });

  it("keeps each source's licence beside its recordings", () => {
    for (const [name, source] of Object.entries(manifest.sources)) {
      assert.ok(fs.existsSync(path.join(RECORDINGS_DIR, source.licenceFile)), name);
      assert.match(source.url, /^https:\/\/github\.com\//);
    }
    const readme = fs.readFileSync(path.join(RECORDINGS_DIR, "README.md"), "utf8");
    for (const r of manifest.recordings) {
      assert.ok(manifest.sources[r.source], `${r.id}: source ${r.source}`);
      assert.match(r.commit, /^[0-9a-f]{40}$/, `${r.id}: commit`);
      assert.ok(readme.includes(r.commit), `${r.id}: README names commit ${r.commit}`);
      assert.ok(readme.includes(r.path), `${r.id}: README names ${r.path}`);
    }
  });

  for (const r of manifest.recordings) {
    describe(r.id, () => {
      const records = readRecording(r.file);

      it("is there, with the sysObjectID the manifest says", () => {
        assert.match(r.id, /^[a-z0-9-]+$/);
        const id = records.find((x) => x.oid === "1.3.6.1.2.1.1.2.0");
        assert.equal(id?.value.replace(/^\./, ""), r.sysObjectId);
      });

      it("is recognised as the manifest says, and ends under that profile or the vendor's other", () => {
        assert.equal(profileForSysObjectId(r.sysObjectId)?.id ?? null, r.recognisedAs);
        assert.ok(
          (r.outlets === undefined) !== (r.noOutlets === undefined),
          "outlets xor noOutlets",
        );
        if (r.profile === undefined) return;
        const recognised = profileById(r.recognisedAs ?? "");
        assert.ok(recognised !== undefined);
        assert.ok(
          r.profile === recognised.id ||
            vendorAlternatives(recognised).some((p) => p.id === r.profile),
          r.profile,
        );
      });

      if (r.outlets !== undefined) {
        it("lists outlets the recording holds, each once", () => {
          assert.ok(r.outlets!.length > 0);
          assert.equal(new Set(r.outlets!.map(([plug]) => plug)).size, r.outlets!.length);
          const profile = profileById(r.profile ?? "")!;
          const states = records.filter((x) => x.oid.startsWith(`${profile.state.oid}.`));
          assert.equal(states.length, r.outlets!.length);
        });
      }
    });
  }
});

describe("recording readers", () => {
  it("read snmprec lines, variations kept, blank lines skipped", () => {
    assert.deepEqual(
      parseSnmprec(
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.318.1.3.4.8\n\n1.3.6.1.4.1.1|2:numeric|min=1,max=2,initial=2\n",
      ),
      [
        { oid: "1.3.6.1.2.1.1.2.0", tag: "6", value: "1.3.6.1.4.1.318.1.3.4.8" },
        { oid: "1.3.6.1.4.1.1", tag: "2:numeric", value: "min=1,max=2,initial=2" },
      ],
    );
    assert.throws(() => parseSnmprec("not a record"), /line 1/);
  });

  it("read net-snmp walk text as snmpsim's walk grammar does", () => {
    const walk = [
      '.1.3.6.1.2.1.1.1.0 = STRING: "CPS Power Distributed Unit"',
      ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.3808.1.1.6",
      ".1.3.6.1.2.1.1.3.0 = 161500",
      ".1.3.6.1.2.1.2.2.1.3.1 = INTEGER: ethernetCsmacd(6)",
      ".1.3.6.1.2.1.2.2.1.6.1 = Hex-STRING: 00 0C 15 41 7C 5D",
      ".1.3.6.1.2.1.4.20.1.3.10.0.0.1 = IpAddress: 255.255.255.0",
      ".1.3.6.1.6.3.15.1.1.6.0 = Counter32: 0 End of MIB",
    ].join("\n");
    assert.deepEqual(parseWalk(walk), [
      { oid: "1.3.6.1.2.1.1.1.0", tag: "4", value: "CPS Power Distributed Unit" },
      { oid: "1.3.6.1.2.1.1.2.0", tag: "6", value: "1.3.6.1.4.1.3808.1.1.6" },
      { oid: "1.3.6.1.2.1.1.3.0", tag: "67", value: "161500" },
      { oid: "1.3.6.1.2.1.2.2.1.3.1", tag: "2", value: "6" },
      { oid: "1.3.6.1.2.1.2.2.1.6.1", tag: "4x", value: "000c15417c5d" },
      { oid: "1.3.6.1.2.1.4.20.1.3.10.0.0.1", tag: "64", value: "255.255.255.0" },
      { oid: "1.3.6.1.6.3.15.1.1.6.0", tag: "65", value: "0" },
    ]);
  });

  it("serve a contributor's variation as its static value: writecache value=, numeric initial=", () => {
    assert.deepEqual(staticValue({ oid: "1", tag: "4:writecache", value: "value=Port 1" }), {
      tag: "4",
      value: "Port 1",
    });
    assert.deepEqual(
      staticValue({ oid: "1", tag: "2:numeric", value: "min=1,max=2,initial=2,wrap=1" }),
      { tag: "2", value: "2" },
    );
    assert.equal(staticValue({ oid: "1", tag: "2:delay", value: "value=1,wait=500" }), undefined);
  });
});
