/**
 * What kvmha check reads besides the rules' own CIB model: corosync.conf's quorum settings (from
 * the files corosync and pcs write), what Pacemaker 3 removed or deprecated (from its ChangeLog
 * and upgrade stylesheets), and which generation runs a CIB.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, it } from "node:test";
import { parseCib } from "../../topology/check/cib.js";
import {
  CorosyncConfError,
  parseCorosyncConf,
  readCorosyncConf,
} from "../../topology/check/corosync.js";
import { cibGeneration } from "../../topology/check/pacemaker3.js";

/** corosync.conf as `pcs cluster setup` writes it for four nodes (pcs 0.11's layout). */
const PCS_FOUR = `totem {
    version: 2
    cluster_name: kvm4
    transport: knet
    crypto_cipher: aes256
    crypto_hash: sha256
}

nodelist {
    node {
        ring0_addr: 10.0.0.1
        name: hv1
        nodeid: 1
    }

    node {
        ring0_addr: 10.0.0.2
        name: hv2
        nodeid: 2
    }

    node {
        ring0_addr: 10.0.0.3
        name: hv3
        nodeid: 3
    }

    node {
        ring0_addr: 10.0.0.4
        name: hv4
        nodeid: 4
    }
}

quorum {
    provider: corosync_votequorum
}

logging {
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_syslog: yes
    timestamp: on
}
`;

describe("check: corosync.conf", () => {
  it("reads the nodelist and votequorum's tie-breakers", () => {
    assert.deepEqual(parseCorosyncConf(PCS_FOUR), {
      provider: "corosync_votequorum",
      nodes: 4,
      twoNode: false,
      autoTieBreaker: false,
      device: undefined,
    });
    const withDevice = PCS_FOUR.replace(
      "    provider: corosync_votequorum\n",
      "    provider: corosync_votequorum\n\n    device {\n        model: net\n        votes: 1\n\n        net {\n            algorithm: ffsplit\n            host: qnetd.example.net\n        }\n    }\n",
    );
    assert.equal(parseCorosyncConf(withDevice).device, "net");
    assert.equal(
      parseCorosyncConf(
        PCS_FOUR.replace("corosync_votequorum\n", "corosync_votequorum\n    auto_tie_breaker: 1\n"),
      ).autoTieBreaker,
      true,
    );
  });

  it("reads the file Debian installs with corosync (tabs, comments, a one-node nodelist)", () => {
    const text = fs.readFileSync("/etc/corosync/corosync.conf", "utf8");
    const q = parseCorosyncConf(text);
    assert.equal(q.provider, "corosync_votequorum");
    assert.ok((q.nodes ?? 0) >= 1);
  });

  it("what corosync could not read either is one line; a missing default file is no error", () => {
    assert.throws(() => parseCorosyncConf("quorum {\n  provider: corosync_votequorum\n"), {
      message: "section 'quorum' is not closed",
    });
    assert.throws(() => parseCorosyncConf("}\n"), { message: "line 1: '}' closes nothing" });
    assert.throws(() => parseCorosyncConf("quorum {\n  two_node 1\n}\n"), CorosyncConfError);
    const missing = (): string => {
      throw Object.assign(new Error("no"), { code: "ENOENT" });
    };
    assert.equal(readCorosyncConf("/etc/corosync/corosync.conf", false, missing), undefined);
    assert.throws(() => readCorosyncConf("/x/corosync.conf", true, missing), {
      message: "cannot read /x/corosync.conf: ENOENT",
    });
    assert.throws(() => readCorosyncConf("/x/c.conf", true, () => "a {\n"), {
      message: "/x/c.conf: section 'a' is not closed",
    });
  });
});

describe("check: Pacemaker 3's removals", () => {
  const CIB = `<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="o">
        <nvpair id="o1" name="crmd-integration-timeout" value="3min"/>
        <nvpair id="o2" name="remove-after-stop" value="false"/>
        <nvpair id="o3" name="stonith-action" value="poweroff"/>
        <nvpair id="o4" name="concurrent-fencing" value="true"/>
      </cluster_property_set>
    </crm_config>
    <rsc_defaults><instance_attributes id="rdi"><nvpair id="rdi1" name="x" value="1"/></instance_attributes></rsc_defaults>
    <nodes><node id="9" uname="pinger" type="ping"/></nodes>
    <resources>
      <primitive id="mon" class="nagios" type="check_http"/>
      <primitive id="ocfs" class="ocf" provider="pacemaker" type="o2cb"/>
      <master id="ms"><primitive id="st" class="ocf" provider="pacemaker" type="Stateful">
        <meta_attributes id="st-m"><nvpair id="st-m1" name="restart-type" value="restart"/><nvpair id="st-m2" name="migration-threshold" value="-1"/></meta_attributes>
        <operations>
          <op id="st-mon" name="monitor" interval="10s" role="Master" on-fail="restart"><meta_attributes id="st-mon-m"><nvpair id="st-mon-m1" name="can_fail" value="true"/></meta_attributes></op>
          <op id="st-start" name="start" interval="0s" record-pending="true"/>
        </operations>
      </primitive></master>
    </resources>
    <constraints>
      <rsc_location id="l1" rsc="mon"><rule id="r1" score="10"><expression id="e1" attribute="#uname" operation="eq" value="a"/></rule><rule id="r2" score="5"><expression id="e2" attribute="#uname" operation="eq" value="b"/></rule></rsc_location>
      <rsc_colocation id="c1" rsc="mon" with-rsc="ms" score="INFINITY" with-rsc-role="Master"><lifetime id="lt"><rule id="lr" score="INFINITY"><date_expression id="de" operation="lt" end="2030-01-01"/></rule></lifetime></rsc_colocation>
      <rsc_order id="o5" first="ms" then="mon" first-instance="1"/>
    </constraints>
  </configuration>
</cib>`;

  it("finds each, with the fix Pacemaker 3 needs", () => {
    const removals = parseCib(CIB).removals;
    assert.deepEqual(
      removals.map((r) => [r.kind, r.about.kind, r.about.id, r.what]),
      [
        ["removed", "cluster", "cluster", "cluster option crmd-integration-timeout"],
        ["removed", "cluster", "cluster", "cluster option remove-after-stop"],
        ["removed", "cluster", "cluster", "stonith-action=poweroff"],
        ["deprecated", "cluster", "cluster", "cluster option concurrent-fencing"],
        ["removed", "cluster", "cluster", "instance_attributes in rsc_defaults"],
        ["removed", "node", "pinger", "a node of type ping"],
        ["removed", "resource", "mon", "a nagios-class resource"],
        ["removed", "resource", "ocfs", "ocf:pacemaker:o2cb"],
        ["removed", "resource", "ms", "a master resource"],
        ["removed", "resource", "st", "meta restart-type"],
        ["removed", "resource", "st", "migration-threshold=-1"],
        ["removed", "resource", "st", "operation option can_fail"],
        ["deprecated", "resource", "st", "role Master"],
        ["deprecated", "resource", "st", "operation option record-pending"],
        ["removed", "cluster", "cluster", "location constraint l1 with several top-level rules"],
        ["removed", "cluster", "cluster", "constraint c1 with a lifetime"],
        ["deprecated", "cluster", "cluster", "constraint c1 with-rsc-role=Master"],
        ["removed", "cluster", "cluster", "constraint o5 option first-instance"],
      ],
    );
    const fix = new Map(removals.map((r) => [r.what, r.fix]));
    assert.match(
      fix.get("cluster option crmd-integration-timeout") ?? "",
      /pcs property set join-integration-timeout=3min crmd-integration-timeout=/,
    );
    assert.match(fix.get("stonith-action=poweroff") ?? "", /stonith-action=off/);
  });

  it("an old schema Pacemaker 3 refuses; kvmha render's XML and a pacemaker-4.0 CIB say nothing", () => {
    const old = parseCib(
      '<cib validate-with="pacemaker-1.2" epoch="1" num_updates="0" admin_epoch="0"><configuration/></cib>',
    );
    assert.deepEqual(
      old.removals.map((r) => r.what),
      ["validate-with pacemaker-1.2"],
    );
    assert.deepEqual(parseCib("<configuration/>").removals, []);
    assert.deepEqual(
      parseCib('<cib validate-with="pacemaker-4.0"><configuration/></cib>').removals,
      [],
    );
  });

  it("which Pacemaker runs a CIB: dc-version first, then the schema", () => {
    assert.deepEqual(cibGeneration("pacemaker-3.9", "3.0.0-d8340737c4"), {
      pacemaker: 3,
      from: "dc-version 3.0.0-d8340737c4",
    });
    assert.deepEqual(cibGeneration("pacemaker-4.0", undefined), {
      pacemaker: 3,
      from: "validate-with pacemaker-4.0",
    });
    assert.equal(cibGeneration("pacemaker-3.9", "2.1.5-a3f44794f94").pacemaker, 2);
    assert.equal(cibGeneration("pacemaker-3.9", undefined).pacemaker, 2);
    assert.equal(cibGeneration(undefined, undefined).pacemaker, undefined);
  });
});
