// Why one file: every test here uses the one snmpd lab PDU started at the top, with the reference
// clients.
// Proves the PDU test lab with independent clients: Net-SNMP's snmpget,
// snmpset and snmpwalk, and the reference fence_apc_snmp, against a real
// snmpd (with the lab's pass_persist handler) started here.
// Run: node --import tsx --test test/integration/pdu-lab.test.ts

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import fs from "node:fs";
import { describe, test } from "node:test";

import { PDU_PROFILES, profileById } from "../../lib/pdu-profiles/index.js";
import type { PduProfile } from "../../lib/pdu-profiles/profile.js";
import type { RunResult } from "../lab/clients.js";
import { PDU_LAB_PROGRAMS, requireProgram } from "../lab/bins.js";
import { isRunning, orphanedByKilledOwner } from "../lab/daemon.js";
import {
  fenceApcSnmp,
  parseSnmpOutput,
  snmpget,
  snmpset,
  snmpwalk,
  type SnmpCredentials,
  type SnmpLine,
} from "../lab/pdu-clients.js";
import {
  outletOid,
  PDU_COMMUNITIES,
  PDU_V3_USERS,
  reapOrphanPdus,
  startPdu,
  type Pdu,
  type PduOptions,
  type PduV3User,
} from "../lab/pdu-sim.js";
import { loadManifest, readRecording } from "../lab/pdu-recordings.js";
import { reapOrphanSnmpsims, startSnmpsim } from "../lab/snmpsim.js";

const QUICK = { timeout: 20_000 };
const SLOW = { timeout: 45_000 };

function profile(id: string): PduProfile {
  const p = profileById(id);
  if (!p) throw new Error(`no PDU profile '${id}' in lib/pdu-profiles`);
  return p;
}

// The APC rack PDU: fence_apc_snmp knows its sysObjectID and OIDs.
const APC = profile("apc-rpdu");
// Several switches, rows switch.1.outlet, off written as 3.
const APC_MSP = profile("apc-masterswitch-plus");
// One column (sPDUOutletCtl) both reads the state and switches.
const APC_MS = profile("apc-masterswitch");

const RW1: SnmpCredentials = { version: "1", community: PDU_COMMUNITIES.readWrite };
const RO1: SnmpCredentials = { version: "1", community: PDU_COMMUNITIES.readOnly };
const RW2: SnmpCredentials = { version: "2c", community: PDU_COMMUNITIES.readWrite };
const RO2: SnmpCredentials = { version: "2c", community: PDU_COMMUNITIES.readOnly };
const RW3: SnmpCredentials = { version: "3", user: PDU_V3_USERS.rwAuthPriv };
const RO3: SnmpCredentials = { version: "3", user: PDU_V3_USERS.roAuthPriv };
/** A quick "no answer": one try, half a second. */
const NO_WAIT = { timeoutSec: 0.5, retries: 0 };

async function withPdu(opts: PduOptions, fn: (pdu: Pdu) => Promise<void>): Promise<void> {
  const pdu = await startPdu(opts);
  try {
    await fn(pdu);
  } catch (err) {
    // The daemon's side of the story helps more than the client's.
    if (err instanceof Error) err.message += `\n--- PDU output ---\n${await pdu.output()}`;
    throw err;
  } finally {
    await pdu.stop();
  }
}

function show(r: RunResult): string {
  return `${r.argv.join(" ")}\nexit ${r.code} signal ${r.signal} in ${r.ms} ms\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

function assertOk(r: RunResult): SnmpLine[] {
  assert.equal(r.code, 0, `expected success:\n${show(r)}`);
  return parseSnmpOutput(r.stdout);
}

/** The client got an answer carrying an error: "Reason: <reason>". */
function assertErrorReason(r: RunResult, reason: RegExp): void {
  assert.ok(!r.timedOut, `client hung until killed:\n${show(r)}`);
  assert.notEqual(r.code, 0, `expected failure:\n${show(r)}`);
  assert.match(r.stderr, /Error in packet/, show(r));
  assert.match(r.stderr, reason, show(r));
}

function assertNoAnswer(r: RunResult): void {
  assert.ok(!r.timedOut, `client hung until killed:\n${show(r)}`);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /Timeout: No Response/, show(r));
}

/** No community or pass phrase of the lab in a command line we ran. */
function assertNoSecret(r: RunResult): void {
  const secrets = [
    PDU_COMMUNITIES.readWrite,
    PDU_COMMUNITIES.readOnly,
    ...(Object.values(PDU_V3_USERS) as PduV3User[]).flatMap((u) => [
      u.password,
      u.privPassword ?? u.password,
    ]),
  ];
  for (const s of secrets) assert.ok(!r.argv.includes(s), `secret in argv: ${r.argv.join(" ")}`);
}

/** Processes (other than zombies) whose command line names something in `dir`. */
function processesIn(dir: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let cmdline = "";
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    } catch {
      continue; // exited meanwhile
    }
    if (cmdline.includes(`${dir}/`) && isRunning(Number(pid))) found.push(`${pid}: ${cmdline}`);
  }
  return found;
}

/** After a reaper ran: nothing runs from `dir` (within 5 s) and `dir` is gone. */
async function assertReaped(dir: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && processesIn(dir).length > 0)
    await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(processesIn(dir), []);
  assert.equal(fs.existsSync(dir), false);
}

const stateOid = (outlet: number, sw = 1, profile = APC) => outletOid(profile, "state", outlet, sw);
const controlOid = (outlet: number, sw = 1, profile = APC) =>
  outletOid(profile, "control", outlet, sw);
const nameOid = (outlet: number, sw = 1, profile = APC) => outletOid(profile, "name", outlet, sw);

describe("PDU lab programs", () => {
  for (const name of PDU_LAB_PROGRAMS) {
    test(`${name} is installed`, () => {
      // Throws with "run scripts/lab-deps.sh" when missing: a failure, not a skip.
      assert.ok(requireProgram(name).startsWith("/"));
    });
  }
});

describe("simulated PDU (snmpd + pass_persist) with net-snmp tools", () => {
  test("sysObjectID is the profile's, sysDescr names it", QUICK, () =>
    withPdu({ profile: APC }, async (pdu) => {
      const r = await snmpget(pdu, RO2, ["1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.1.0"]);
      assertNoSecret(r);
      const [id, descr] = assertOk(r);
      assert.deepEqual(id, { oid: "1.3.6.1.2.1.1.2.0", type: "OID", value: APC.sysObjectIds[0] });
      assert.equal(pdu.sysObjectId, APC.sysObjectIds[0]);
      assert.match(descr!.value, new RegExp(`kvmha lab PDU ${APC.id}`));
    }),
  );

  const versions: [string, SnmpCredentials][] = [
    ["v1 (community private)", RW1],
    ["v2c (community private)", RW2],
    ["v3 authPriv SHA/AES (pdu-admin)", RW3],
  ];
  for (const [label, cred] of versions) {
    test(`${label}: read state, switch off and on`, QUICK, () =>
      withPdu({ profile: APC }, async (pdu) => {
        let r = await snmpget(pdu, cred, [stateOid(3)]);
        assertNoSecret(r);
        assert.deepEqual(assertOk(r), [{ oid: stateOid(3), type: "INTEGER", value: "1" }]);

        r = await snmpset(pdu, cred, [[controlOid(3), "i", String(APC.control.off)]]);
        assertNoSecret(r);
        assert.deepEqual(assertOk(r), [
          { oid: controlOid(3), type: "INTEGER", value: String(APC.control.off) },
        ]);
        assert.equal(await pdu.readOutlet(3), "off");
        assert.equal(await pdu.readOutlet(2), "on");
        r = await snmpget(pdu, cred, [stateOid(3), controlOid(3)]);
        assert.deepEqual(
          assertOk(r).map((l) => l.value),
          [String(APC.state.off[0]), String(APC.control.off)],
        );

        assertOk(await snmpset(pdu, cred, [[controlOid(3), "i", String(APC.control.on)]]));
        assert.equal(await pdu.readOutlet(3), "on");
        assert.deepEqual(await pdu.sets(), ["3 off", "3 on"]);
      }),
    );
  }

  test("SHA-256 and SHA-512 with AES-256, and MD5 authNoPriv users switch outlets", QUICK, () =>
    withPdu({ profile: APC }, async (pdu) => {
      const users = [PDU_V3_USERS.rwSha256, PDU_V3_USERS.rwSha512, PDU_V3_USERS.rwAuthNoPriv];
      for (const [i, user] of users.entries()) {
        const cred: SnmpCredentials = { version: "3", user };
        assertOk(await snmpset(pdu, cred, [[controlOid(i + 1), "i", String(APC.control.off)]]));
        const [line] = assertOk(await snmpget(pdu, cred, [stateOid(i + 1)]));
        assert.equal(line!.value, String(APC.state.off[0]), user.name);
      }
      assert.deepEqual(await pdu.sets(), ["1 off", "2 off", "3 off"]);
    }),
  );

  // What each version answers a SET from a read-only community or user:
  // v1 noSuchName, v2c and v3 noAccess (snmpd's VACM, the handler never sees it).
  test("read-only community and user are refused: v1 noSuchName, v2c/v3 noAccess", QUICK, () =>
    withPdu({ profile: APC }, async (pdu) => {
      const set: [string, string, string] = [controlOid(3), "i", String(APC.control.off)];
      assertErrorReason(await snmpset(pdu, RO1, [set]), /\(noSuchName\)/);
      assertErrorReason(await snmpset(pdu, RO2, [set]), /Reason: noAccess/);
      assertErrorReason(await snmpset(pdu, RO3, [set]), /Reason: noAccess/);
      // ...but they may read.
      for (const cred of [RO1, RO2, RO3])
        assert.equal(assertOk(await snmpget(pdu, cred, [stateOid(3)]))[0]!.value, "1");
      assert.equal(await pdu.readOutlet(3), "on");
      assert.deepEqual(await pdu.sets(), []);
    }),
  );

  test(
    "an outlet that does not exist: v1 noSuchName, v2c/v3 noSuchInstance; SET notWritable",
    QUICK,
    () =>
      withPdu({ profile: APC, outlets: 8 }, async (pdu) => {
        assertErrorReason(await snmpget(pdu, RO1, [stateOid(9)]), /\(noSuchName\)/);
        for (const cred of [RO2, RO3]) {
          const lines = assertOk(await snmpget(pdu, cred, [stateOid(9), nameOid(9), stateOid(0)]));
          assert.deepEqual(
            lines.map((l) => l.type),
            ["NoSuchInstance", "NoSuchInstance", "NoSuchInstance"],
          );
        }
        // snmpd GETs the instance first and refuses by itself (the handler never
        // sees the SET): v2c/v3 notWritable (not noCreation), v1 noSuchName.
        const set: [string, string, string] = [controlOid(9), "i", String(APC.control.off)];
        assertErrorReason(await snmpset(pdu, RW2, [set]), /Reason: notWritable/);
        assertErrorReason(await snmpset(pdu, RW3, [set]), /Reason: notWritable/);
        assertErrorReason(await snmpset(pdu, RW1, [set]), /\(noSuchName\)/);
        assert.deepEqual(await pdu.sets(), []);
      }),
  );

  test(
    "values other than on/off: v2c wrongValue/wrongType, v1 badValue; the state column is notWritable",
    QUICK,
    () =>
      withPdu({ profile: APC }, async (pdu) => {
        assertErrorReason(
          await snmpset(pdu, RW2, [[controlOid(2), "i", "7"]]),
          /Reason: wrongValue/,
        );
        assertErrorReason(await snmpset(pdu, RW1, [[controlOid(2), "i", "7"]]), /\(badValue\)/);
        assertErrorReason(
          await snmpset(pdu, RW2, [[controlOid(2), "s", "off"]]),
          /Reason: wrongType/,
        );
        assertErrorReason(await snmpset(pdu, RW1, [[controlOid(2), "s", "off"]]), /\(badValue\)/);
        assertErrorReason(
          await snmpset(pdu, RW2, [[stateOid(2), "i", "2"]]),
          /Reason: notWritable/,
        );
        assertErrorReason(await snmpset(pdu, RW2, [[nameOid(2), "s", "x"]]), /Reason: notWritable/);
        assert.equal(await pdu.readOutlet(2), "on");
        assert.deepEqual(await pdu.sets(), [
          "2 refused 7",
          "2 refused 7",
          '2 refused string "off"',
          '2 refused string "off"',
        ]);
      }),
  );

  // With v1/v2c a wrong community looks like a dead PDU; with v3 snmpd
  // answers a Report for an unknown user or a bad digest, but drops a
  // message it cannot decrypt (wrong privacy pass phrase or protocol).
  test(
    "wrong community: no answer; v3 wrong auth: Report; wrong privacy key: no answer",
    QUICK,
    () =>
      withPdu({ profile: APC }, async (pdu) => {
        assertNoAnswer(
          await snmpget(pdu, { version: "1", community: "wrong" }, [stateOid(1)], NO_WAIT),
        );
        assertNoAnswer(
          await snmpget(pdu, { version: "2c", community: "wrong" }, [stateOid(1)], NO_WAIT),
        );
        const admin = PDU_V3_USERS.rwAuthPriv;
        // Answers (Reports) come at once; only the "no answer" cases wait NO_WAIT.
        let r = await snmpget(
          pdu,
          { version: "3", user: { ...admin, password: "not-the-password" } },
          [stateOid(1)],
        );
        assert.equal(r.code, 1, show(r));
        assert.match(r.stderr, /Authentication failure \(incorrect password, community or key\)/);
        r = await snmpget(pdu, { version: "3", user: { ...admin, auth: "MD5" } }, [stateOid(1)]);
        assert.match(r.stderr, /Authentication failure/, show(r));
        r = await snmpget(pdu, { version: "3", user: { ...admin, name: "nobody" } }, [stateOid(1)]);
        assert.match(r.stderr, /Unknown user name/, show(r));
        assertNoAnswer(
          await snmpget(
            pdu,
            { version: "3", user: { ...admin, privPassword: "not-the-password" } },
            [stateOid(1)],
            NO_WAIT,
          ),
        );
        assertNoAnswer(
          await snmpget(
            pdu,
            { version: "3", user: { ...admin, priv: "AES-256" } },
            [stateOid(1)],
            NO_WAIT,
          ),
        );
        // A user without privacy asking for authPriv, and a privacy user asking for less.
        r = await snmpget(
          pdu,
          { version: "3", user: PDU_V3_USERS.rwAuthNoPriv, level: "authPriv" },
          [stateOid(1)],
        );
        assert.match(r.stderr, /Unsupported security level/, show(r));
        assertErrorReason(
          await snmpget(pdu, { version: "3", user: admin, level: "authNoPriv" }, [stateOid(1)]),
          /Reason: authorizationError/,
        );
        assertErrorReason(
          await snmpget(pdu, { version: "3", user: admin, level: "noAuthNoPriv" }, [stateOid(1)]),
          /Reason: authorizationError/,
        );
        assert.deepEqual(await pdu.sets(), []);
      }),
  );

  test("walks are in numeric OID order: 12 outlets, names given, count scalar", QUICK, () => {
    const names = ["web-1", "web-2", 'db "primary"', "db-2"];
    return withPdu({ profile: APC, outlets: 12, names }, async (pdu) => {
      for (const cred of [RO1, RO2, RO3]) {
        const rows = assertOk(await snmpwalk(pdu, cred, APC.name!.oid));
        assert.deepEqual(
          rows.map((l) => l.oid),
          Array.from({ length: 12 }, (_, i) => nameOid(i + 1)),
        );
        assert.deepEqual(
          rows.map((l) => l.value),
          [
            ...names.map((n) => n.replaceAll('"', '\\"')),
            ...Array.from({ length: 8 }, (_, i) => `Outlet ${i + 5}`),
          ],
        );
      }
      // The whole subtree: count, control, names, states, each column in order.
      const all = assertOk(await snmpwalk(pdu, RO2, "1.3.6.1.4.1.318"));
      assert.equal(all.length, 1 + 3 * 12);
      assert.deepEqual(all[0], { oid: APC.outletCount!.oid, type: "INTEGER", value: "12" });
      const sorted = [...all].sort((a, b) => {
        const x = a.oid.split(".").map(Number);
        const y = b.oid.split(".").map(Number);
        for (let i = 0; i < Math.min(x.length, y.length); i++)
          if (x[i] !== y[i]) return x[i]! - y[i]!;
        return x.length - y.length;
      });
      assert.deepEqual(all, sorted);
      assert.equal(all[1 + 12]!.oid, nameOid(1));
      // Past the end of the subtree the walk goes on to whatever follows: nothing of ours.
      const after = assertOk(await snmpwalk(pdu, RO2, stateOid(12)));
      assert.deepEqual(after, [{ oid: stateOid(12), type: "INTEGER", value: "1" }]);
    });
  });

  test(
    "switches: rows switch.1.outlet, off written as 3, plugs logged as switch:outlet",
    QUICK,
    () =>
      withPdu({ profile: APC_MSP, switches: 2, outlets: 4 }, async (pdu) => {
        const p = APC_MSP;
        const rows = assertOk(await snmpwalk(pdu, RO2, p.name!.oid));
        assert.deepEqual(
          rows.map((l) => `${l.oid.slice(p.name!.oid.length + 1)}=${l.value}`),
          [1, 2, 3, 4]
            .map((o) => `1.1.${o}=Outlet ${o}`)
            .concat([1, 2, 3, 4].map((o) => `2.1.${o}=Switch 2 Outlet ${o}`)),
        );
        assertOk(await snmpset(pdu, RW2, [[controlOid(3, 2, p), "i", "3"]]));
        assert.equal(await pdu.readOutlet(3, 2), "off");
        assert.equal(await pdu.readOutlet(3, 1), "on");
        assert.equal(assertOk(await snmpget(pdu, RO2, [stateOid(3, 2, p)]))[0]!.value, "2");
        assertOk(await snmpset(pdu, RW2, [[controlOid(3, 1, p), "i", "3"]]));
        assertErrorReason(
          await snmpset(pdu, RW2, [[controlOid(3, 3, p), "i", "3"]]),
          /notWritable/,
        );
        assert.deepEqual(await pdu.sets(), ["2:3 off", "3 off"]);
        await assert.rejects(startPdu({ profile: APC, switches: 2 }), /has no switches/);
      }),
  );

  test("one column for state and control (sPDUOutletCtl)", QUICK, () =>
    withPdu({ profile: APC_MS, outlets: 4 }, async (pdu) => {
      const p = APC_MS;
      assertOk(await snmpset(pdu, RW2, [[controlOid(2, 1, p), "i", "2"]]));
      const rows = assertOk(await snmpwalk(pdu, RO2, p.state.oid));
      assert.deepEqual(
        rows.map((l) => l.value),
        ["1", "2", "1", "1"],
      );
      assert.equal(await pdu.readOutlet(2), "off");
    }),
  );

  test("the test changes an outlet behind the PDU's back; initialState off", QUICK, async () => {
    await withPdu({ profile: APC }, async (pdu) => {
      await pdu.setOutlet(5, "off");
      assert.equal(assertOk(await snmpget(pdu, RO2, [stateOid(5)]))[0]!.value, "2");
      await pdu.setOutlet(5, "on");
      assert.equal(assertOk(await snmpget(pdu, RO2, [stateOid(5)]))[0]!.value, "1");
      await assert.rejects(pdu.setOutlet(9, "off"), /no outlet 1:9/);
    });
    await withPdu({ profile: APC, outlets: 2, initialState: "off" }, async (pdu) => {
      assert.deepEqual(
        assertOk(await snmpwalk(pdu, RO2, APC.state.oid)).map((l) => l.value),
        ["2", "2"],
      );
    });
  });

  test("stuck outlets accept the SET but stay as they were", QUICK, () =>
    withPdu({ profile: APC }, async (pdu) => {
      await pdu.setFault({ stuck: [3] });
      for (const cred of [RW1, RW2, RW3])
        assertOk(await snmpset(pdu, cred, [[controlOid(3), "i", String(APC.control.off)]]));
      assert.equal(await pdu.readOutlet(3), "on");
      assert.equal(assertOk(await snmpget(pdu, RO2, [stateOid(3)]))[0]!.value, "1");
      // Other outlets still switch.
      assertOk(await snmpset(pdu, RW2, [[controlOid(4), "i", String(APC.control.off)]]));
      assert.equal(await pdu.readOutlet(4), "off");
      await pdu.setFault({});
      assertOk(await snmpset(pdu, RW2, [[controlOid(3), "i", String(APC.control.off)]]));
      assert.equal(await pdu.readOutlet(3), "off");
      assert.deepEqual(await pdu.sets(), ["3 off", "3 off", "3 off", "4 off", "3 off"]);
    }),
  );

  test("garbage: a string or an out-of-range integer where the state belongs", QUICK, () =>
    withPdu({ profile: APC, outlets: 2 }, async (pdu) => {
      await pdu.setFault({ garbage: true });
      let rows = assertOk(await snmpget(pdu, RO2, [stateOid(1), controlOid(1), nameOid(1)]));
      assert.deepEqual(
        rows.map((l) => `${l.type} ${l.value}`),
        ["STRING on", "STRING on", "STRING Outlet 1"],
      );
      assertOk(await snmpset(pdu, RW2, [[controlOid(2), "i", String(APC.control.off)]]));
      assert.equal(await pdu.readOutlet(2), "off");
      await pdu.setFault({ garbage: "range" });
      rows = assertOk(await snmpwalk(pdu, RO1, APC.state.oid));
      assert.deepEqual(
        rows.map((l) => `${l.type} ${l.value}`),
        ["INTEGER 7", "INTEGER 7"],
      );
      await pdu.setFault({ garbage: false });
      assert.equal(assertOk(await snmpget(pdu, RO2, [stateOid(2)]))[0]!.value, "2");
      await pdu.setFault({ garbage: "range" });
      // SETs still work underneath.
      assertOk(await snmpset(pdu, RW2, [[controlOid(1), "i", String(APC.control.off)]]));
      assert.equal(await pdu.readOutlet(1), "off");
      await pdu.setFault({});
      assert.equal(assertOk(await snmpget(pdu, RO2, [stateOid(1)]))[0]!.value, "2");
    }),
  );

  test("truncated: walks stop at half the outlets, later names are missing", QUICK, () =>
    withPdu({ profile: APC, outlets: 8 }, async (pdu) => {
      await pdu.setFault({ truncated: true });
      assert.equal(assertOk(await snmpwalk(pdu, RO2, APC.name!.oid)).length, 4);
      assert.equal(assertOk(await snmpwalk(pdu, RO1, APC.state.oid)).length, 4);
      const rows = assertOk(await snmpget(pdu, RO2, [nameOid(8), stateOid(8)]));
      assert.deepEqual(
        rows.map((l) => l.type),
        ["NoSuchInstance", "INTEGER"],
      );
      await pdu.setFault({});
      assert.equal(assertOk(await snmpwalk(pdu, RO2, APC.name!.oid)).length, 8);
    }),
  );

  test("two PDUs run side by side with their own state, engine and users", QUICK, async () => {
    const [a, b] = await Promise.all([
      startPdu({ profile: APC }),
      startPdu({ profile: APC, outlets: 4 }),
    ]);
    try {
      assert.notEqual(a.port, b.port);
      assert.notEqual(a.dir, b.dir);
      assertOk(await snmpset(a, RW3, [[controlOid(1), "i", String(APC.control.off)]]));
      assertOk(await snmpset(b, RW3, [[controlOid(2), "i", String(APC.control.off)]]));
      assert.deepEqual([await a.readOutlet(1), await a.readOutlet(2)], ["off", "on"]);
      assert.deepEqual([await b.readOutlet(1), await b.readOutlet(2)], ["on", "off"]);
      assert.deepEqual(await a.sets(), ["1 off"]);
      assert.deepEqual(await b.sets(), ["2 off"]);
      // snmpEngineID differs, as on real devices.
      const ids = await Promise.all(
        [a, b].map(
          async (p) => assertOk(await snmpget(p, RO2, ["1.3.6.1.6.3.10.2.1.1.0"]))[0]!.value,
        ),
      );
      assert.notEqual(ids[0], ids[1]);
      await a.setFault({ stuck: [3] });
      assertOk(await snmpset(b, RW2, [[controlOid(3), "i", String(APC.control.off)]]));
      assert.equal(await b.readOutlet(3), "off");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test("stop() leaves no process, no directory and a free port", QUICK, async () => {
    const pdu = await startPdu({ profile: APC });
    assertOk(await snmpget(pdu, RO2, [stateOid(1)]));
    const handlers = processesIn(pdu.dir).filter((p) => p.includes("pdu-handler.mjs"));
    assert.equal(handlers.length, 1, handlers.join("\n"));
    await pdu.stop();
    assert.ok(!isRunning(pdu.pid), `snmpd ${pdu.pid} still runs`);
    assert.equal(fs.existsSync(pdu.dir), false);
    assert.deepEqual(processesIn(pdu.dir), []);
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(pdu.port, pdu.host, () => resolve());
    });
    sock.close();
    await pdu.stop(); // idempotent
  });

  test("a PDU left behind by a killed test process is reaped", QUICK, async () => {
    const simModule = new URL("../lab/pdu-sim.ts", import.meta.url).href;
    const profileModule = new URL("../../lib/pdu-profiles/index.ts", import.meta.url).href;
    const { pid, dir } =
      await orphanedByKilledOwner(`const m = await import(${JSON.stringify(simModule)});
const p = await import(${JSON.stringify(profileModule)});
const pdu = await m.startPdu({ profile: p.profileById('apc-rpdu') });
console.log(JSON.stringify({ pid: pdu.pid, dir: pdu.dir }));`);
    assert.ok(isRunning(pid), "the orphaned snmpd should still run");
    assert.ok(
      processesIn(dir).some((p) => p.includes("pdu-handler.mjs")),
      "its handler too",
    );
    reapOrphanPdus();
    await assertReaped(dir);
  });

  test("a PDU that cannot start fails with snmpd's own message", QUICK, async () => {
    const holder = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => holder.bind(0, "127.0.0.1", () => resolve()));
    try {
      await assert.rejects(
        startPdu({ profile: APC, port: holder.address().port }),
        /lab PDU failed to start: snmpd exited[\s\S]*Error opening specified endpoint/,
      );
    } finally {
      holder.close();
    }
  });

  test("the handler survives odd input and answers every request", QUICK, () =>
    withPdu({ profile: APC, outlets: 2 }, async (pdu) => {
      // A second handler on the same directory, fed by hand like snmpd would.
      const root = "1.3.6.1.4.1.318.1.1.12";
      const h = spawn(process.execPath, [`${pdu.dir}/pdu-handler.mjs`, pdu.dir, root], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      let out = "";
      h.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      const ask = async (text: string, lines: number) => {
        const before = out.split("\n").length - 1;
        h.stdin.write(text);
        const deadline = Date.now() + 5_000;
        while (out.split("\n").length - 1 < before + lines && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 5));
        }
        return out.split("\n").slice(before, before + lines);
      };
      try {
        assert.deepEqual(await ask("PING\n", 1), ["PONG"]);
        assert.deepEqual(await ask("\nhello\n", 0), []); // ignored
        assert.deepEqual(await ask("get\nnot.an.oid\n", 1), ["NONE"]);
        assert.deepEqual(await ask("get\n.1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.99999999999\n", 1), [
          "NONE",
        ]);
        assert.deepEqual(await ask("get\n.1.3.6.1.4.1.318.1.1.12.3.5.1.1.4\n", 1), ["NONE"]);
        assert.deepEqual(await ask("getnext\n.1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.2\n", 1), ["NONE"]);
        assert.deepEqual(await ask("getnext\n.1\n", 3), [
          `.${APC.outletCount!.oid}`,
          "integer",
          "2",
        ]);
        assert.deepEqual(await ask(`set\n.${controlOid(1)}\ninteger\n`, 1), ["wrong-value"]);
        assert.deepEqual(await ask(`set\n.${controlOid(1)}\n\n`, 1), ["wrong-type"]);
        assert.deepEqual(await ask("set\n.1.2\ninteger 1\n", 1), ["not-writable"]);
        assert.deepEqual(await ask(`get\r\n.${stateOid(2)}\r\n`, 3), [
          `.${stateOid(2)}`,
          "integer",
          "1",
        ]);
        // A broken state file: answers NONE, logs, keeps running.
        const saved = fs.readFileSync(pdu.stateFile, "utf8");
        fs.writeFileSync(pdu.stateFile, "{ not json");
        assert.deepEqual(await ask(`get\n.${stateOid(1)}\n`, 1), ["NONE"]);
        assert.deepEqual(await ask(`set\n.${controlOid(1)}\ninteger 2\n`, 1), ["not-writable"]);
        fs.writeFileSync(pdu.stateFile, saved);
        assert.deepEqual(await ask(`get\n.${stateOid(1)}\n`, 3), [
          `.${stateOid(1)}`,
          "integer",
          "1",
        ]);
        assert.match(await pdu.output(), /handler errors[\s\S]*JSON/);
        assert.equal(h.exitCode, null);
      } finally {
        h.stdin.end();
        if (h.exitCode === null) await once(h, "exit");
      }
      assert.equal(h.exitCode, 0);
    }),
  );
});

describe("simulated PDU serves every shipped device profile", () => {
  for (const p of PDU_PROFILES) {
    const switches = p.switches ? 2 : 1;
    test(`${p.id}: ${switches} switch(es) of 3 outlets, walk, off and on with snmpset`, QUICK, () =>
      // A profile recognised by device= only has no sysObjectID: give the simulator one.
      withPdu(
        {
          profile: p,
          switches,
          outlets: 3,
          ...(p.sysObjectIds.length ? {} : { sysObjectId: "1.3.6.1.4.1.99999.7" }),
        },
        async (pdu) => {
          const states = assertOk(await snmpwalk(pdu, RO2, p.state.oid));
          const cells = [];
          for (let sw = 1; sw <= switches; sw++)
            for (let o = 1; o <= 3; o++) cells.push(outletOid(p, "state", o, sw));
          assert.deepEqual(
            states.map((l) => l.oid),
            cells,
          );
          assert.ok(
            states.every((l) => l.type === "INTEGER" && l.value === String(p.state.on[0])),
            JSON.stringify(states),
          );
          if (p.name)
            assert.equal(assertOk(await snmpwalk(pdu, RO2, p.name.oid)).length, 3 * switches);
          if (p.outletCount) {
            const countOid = p.outletCount.oid
              .replaceAll("{switch-1}", "0")
              .replaceAll("{switch}", "1");
            const [count] = assertOk(await snmpget(pdu, RO2, [countOid]));
            assert.deepEqual(count, {
              oid: countOid,
              type: "INTEGER",
              value: /\{switch/.test(p.outletCount.oid) ? "3" : String(3 * switches),
            });
          }
          // Off through the control column, on through control.onOid where the MIB has one.
          assertOk(
            await snmpset(pdu, RW2, [
              [outletOid(p, "control", 2, switches), "i", String(p.control.off)],
            ]),
          );
          assert.equal(await pdu.readOutlet(2, switches), "off");
          const [off] = assertOk(await snmpget(pdu, RO2, [outletOid(p, "state", 2, switches)]));
          assert.equal(off!.value, String(p.state.off[0]));
          assertOk(
            await snmpset(pdu, RW3, [
              [outletOid(p, "controlOn", 2, switches), "i", String(p.control.on)],
            ]),
          );
          assert.equal(await pdu.readOutlet(2, switches), "on");
          const plug = switches === 1 ? "2" : `${switches}:2`;
          assert.deepEqual(await pdu.sets(), [`${plug} off`, `${plug} on`]);
        },
      ),
    );
  }
});

describe("reference fence_apc_snmp against the lab PDU", () => {
  test("status, off, on and list with options on stdin (v1, community private)", SLOW, () =>
    withPdu({ profile: APC }, async (pdu) => {
      let r = await fenceApcSnmp(pdu, "status", "1");
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /Status: ON/);

      await pdu.setOutlet(1, "off");
      r = await fenceApcSnmp(pdu, "status", "1");
      assert.equal(r.code, 2, show(r));
      assert.match(r.stdout, /Status: OFF/);

      r = await fenceApcSnmp(pdu, "on", "1");
      assert.equal(r.code, 0, show(r));
      assert.equal(await pdu.readOutlet(1), "on");
      r = await fenceApcSnmp(pdu, "off", "2", { extra: { snmp_version: "2c" } });
      assert.equal(r.code, 0, show(r));
      assert.equal(await pdu.readOutlet(2), "off");
      assert.deepEqual(await pdu.sets(), ["1 on", "2 off"]);

      r = await fenceApcSnmp(pdu, "list", undefined);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /^1,Outlet 1$/m);
      assert.match(r.stdout, /^8,Outlet 8$/m);
    }),
  );
});

describe("recorded PDUs served by snmpsim, checked with net-snmp's tools", () => {
  const manifest = loadManifest();
  const recording = (id: string) => {
    const r = manifest.recordings.find((x) => x.id === id);
    if (r === undefined) throw new Error(`no recording ${id}`);
    return {
      community: r.id,
      records: readRecording(r.file),
      ...(r.profile === undefined ? {} : { outlets: profile(r.profile) }),
    };
  };
  const RPDU2 = profile("apc-rpdu2");

  test(
    "a control write changes the state column; a missing outlet stays missing; the state column is read-only",
    SLOW,
    async () => {
      const sim = await startSnmpsim({ recordings: [recording("apc-ap7902b")] });
      try {
        const cred: SnmpCredentials = { version: "2c", community: "apc-ap7902b" };
        const v1: SnmpCredentials = { version: "1", community: "apc-ap7902b" };
        const state = (n: number) => outletOid(RPDU2, "state", n);
        const control = (n: number) => outletOid(RPDU2, "control", n);
        // v1 walks the column and stops at what follows; every recorded outlet is there.
        const walked = assertOk(await snmpwalk(sim, v1, RPDU2.state.oid));
        assert.equal(walked.length, 16);
        assert.deepEqual(
          assertOk(await snmpget(sim, cred, [state(1)])).map((l) => l.value),
          [String(RPDU2.state.on[0])],
        );
        assertOk(await snmpset(sim, cred, [[control(1), "i", String(RPDU2.control.off)]]));
        assert.deepEqual(
          assertOk(await snmpget(sim, cred, [state(1)])).map((l) => l.value),
          [String(RPDU2.state.off[0])],
        );
        assert.deepEqual(sim.writes("apc-ap7902b"), [
          { oid: control(1), value: String(RPDU2.control.off) },
        ]);
        // Outlet 17 is not in the recording: v1 refuses the write, v2c answers noSuchInstance.
        assertErrorReason(
          await snmpset(sim, v1, [[control(17), "i", String(RPDU2.control.off)]]),
          /noSuchName/,
        );
        const v2c = assertOk(await snmpset(sim, cred, [[control(17), "i", "2"]]));
        assert.equal(v2c[0]?.type, "NoSuchInstance");
        assert.equal(
          assertOk(await snmpget(sim, cred, [state(17)]))[0]?.type,
          "NoSuchInstance",
          "still missing",
        );
        // The state column does not take writes.
        assertOk(await snmpset(sim, cred, [[state(2), "i", String(RPDU2.state.off[0])]]));
        assert.deepEqual(
          assertOk(await snmpget(sim, cred, [state(2)])).map((l) => l.value),
          [String(RPDU2.state.on[0])],
        );
        assert.equal(sim.writes("apc-ap7902b").length, 1);
      } finally {
        await sim.stop();
      }
    },
  );

  test("serves net-snmp walk text and several recordings, one community each", SLOW, async () => {
    const sim = await startSnmpsim({
      recordings: [recording("cyberpower-pdu81005"), recording("sentry3-smart")],
    });
    try {
      const sysObjectId = "1.3.6.1.2.1.1.2.0";
      const cyberpower = assertOk(
        await snmpget(sim, { version: "2c", community: "cyberpower-pdu81005" }, [sysObjectId]),
      );
      assert.equal(cyberpower[0]?.value, "1.3.6.1.4.1.3808.1.1.6");
      const sentry = assertOk(
        await snmpget(sim, { version: "1", community: "sentry3-smart" }, [sysObjectId]),
      );
      assert.equal(sentry[0]?.value, "1.3.6.1.4.1.1718.3");
      assertNoAnswer(
        await snmpget(
          sim,
          { version: "2c", community: "no-such-recording" },
          [sysObjectId],
          NO_WAIT,
        ),
      );
    } finally {
      await sim.stop();
    }
  });

  test(
    "stop() leaves no process, no directory and a free port; a killed owner's server is reaped",
    SLOW,
    async () => {
      const sim = await startSnmpsim({ recordings: [recording("sentry4-smart")] });
      await sim.stop();
      assert.ok(!isRunning(sim.pid), `snmpsimd ${sim.pid} still runs`);
      assert.equal(fs.existsSync(sim.dir), false);
      const sock = dgram.createSocket("udp4");
      await new Promise<void>((resolve, reject) => {
        sock.once("error", reject);
        sock.bind(sim.port, sim.host, () => resolve());
      });
      sock.close();

      const labModule = new URL("../lab/snmpsim.ts", import.meta.url).href;
      const recordingsModule = new URL("../lab/pdu-recordings.ts", import.meta.url).href;
      const { pid, dir } =
        await orphanedByKilledOwner(`const m = await import(${JSON.stringify(labModule)});
const r = await import(${JSON.stringify(recordingsModule)});
const rec = r.loadManifest().recordings.find((x) => x.id === 'sentry4-smart');
const sim = await m.startSnmpsim({ recordings: [{ community: rec.id, records: r.readRecording(rec.file) }] });
console.log(JSON.stringify({ pid: sim.pid, dir: sim.dir }));`);
      assert.ok(isRunning(pid), "the orphaned snmpsimd should still run");
      reapOrphanSnmpsims();
      await assertReaped(dir);
    },
  );

  test("a server that cannot start fails with snmpsimd's own message", SLOW, async () => {
    const holder = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => holder.bind(0, "127.0.0.1", () => resolve()));
    try {
      await assert.rejects(
        startSnmpsim({ recordings: [recording("sentry4-smart")], port: holder.address().port }),
        /snmpsim failed to start: snmpsimd (exited|did not answer)[\s\S]*--- snmpsimd output ---/,
      );
    } finally {
      holder.close();
    }
  });
});
