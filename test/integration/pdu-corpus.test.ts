/**
 * fence_pdu, the built executable, against recordings of real PDUs nobody here wrote
 * (test/fixtures/pdu-recordings), served by snmpsim, with no device= given: every outlet's state
 * read as recorded, with SNMP v2c and v1 (whose walks end in noSuchName); on, off and reboot proven
 * on one outlet of each, through the control column the recording has, and checked with net-snmp's
 * snmpget; and on every recording without a switched outlet (metered units, UPS cards that share
 * a PDU's sysObjectID) a clear failure, never an empty success.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { profileById, rowIndex } from "../../lib/pdu-profiles/index.js";
import type { PduProfile } from "../../lib/pdu-profiles/profile.js";
import { runAgentStdin } from "../lab/agents.js";
import { fenceApcSnmp, parseSnmpOutput, snmpget } from "../lab/pdu-clients.js";
import { type Recording, loadManifest, readRecording } from "../lab/pdu-recordings.js";
import { type Snmpsim, startSnmpsim } from "../lab/snmpsim.js";

type RunResult = Awaited<ReturnType<typeof runAgentStdin>>;

const manifest = loadManifest();
const switched = manifest.recordings.filter((r) => r.outlets !== undefined);
const lookalikes = manifest.recordings.filter((r) => r.noOutlets !== undefined);

function profileOf(r: Recording): PduProfile {
  const p = profileById(r.profile ?? "");
  if (p === undefined) throw new Error(`${r.id}: no profile '${r.profile}'`);
  return p;
}

let sim: Snmpsim;
before(async () => {
  sim = await startSnmpsim({
    recordings: manifest.recordings.map((r) => ({
      community: r.id,
      records: readRecording(r.file),
      ...(r.profile === undefined ? {} : { outlets: profileOf(r) }),
    })),
  });
});
after(async () => {
  await sim?.stop();
});

function pdu(r: Recording, version: "1" | "2c", extra: Record<string, string | number> = {}) {
  return runAgentStdin("fence_pdu", {
    ip: sim.host,
    ipport: sim.port,
    community: r.id,
    snmp_version: version,
    ...extra,
  });
}

function assertOneLineFailure(r: RunResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code; stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.equal(r.stdout, "", "nothing on stdout");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
}

/** The state net-snmp's snmpget reads for one outlet, in the profile's terms. */
async function readWithSnmpget(r: Recording, plug: string): Promise<string> {
  const profile = profileOf(r);
  const oid = `${profile.state.oid}.${rowIndex(profile, { switchNo: 1, outlet: Number(plug) })}`;
  const got = await snmpget(sim, { version: "2c", community: r.id }, [oid]);
  assert.equal(got.code, 0, got.stderr);
  const [line] = parseSnmpOutput(got.stdout);
  const value = Number(line?.value);
  if (profile.state.on.includes(value)) return "on";
  if (profile.state.off.includes(value)) return "off";
  return `neither (${line?.type ?? "?"} ${line?.value ?? "?"})`;
}

describe("recorded switched PDUs: every outlet read, no device= given", () => {
  for (const r of switched) {
    const expected = r.outlets!.map(
      ([plug, name, state]) => `${plug},${name},${state.toUpperCase()}`,
    );

    it(`${r.id} (${r.device}): list-status with v2c and v1 lists every outlet as recorded`, async () => {
      for (const version of ["2c", "1"] as const) {
        const got = await pdu(r, version, { action: "list-status" });
        assert.equal(got.code, 0, `${version}: ${got.stderr}`);
        assert.deepEqual(got.stdout.trim().split("\n"), expected, version);
        const list = await pdu(r, version, { action: "list" });
        assert.equal(list.code, 0, `${version}: ${list.stderr}`);
        assert.deepEqual(
          list.stdout.trim().split("\n"),
          r.outlets!.map(([plug, name]) => `${plug},${name}`),
        );
      }
      const monitor = await pdu(r, "2c", { action: "monitor" });
      assert.equal(monitor.code, 0, monitor.stderr);
    });

    it(`${r.id}: status of each outlet (v2c), and of the first and last with v1`, async () => {
      const outlets = r.outlets!;
      for (const [plug, , state] of outlets) {
        const got = await pdu(r, "2c", { plug, action: "status" });
        assert.equal(
          got.stdout,
          `Status: ${state.toUpperCase()}\n`,
          `outlet ${plug}: ${got.stderr}`,
        );
        assert.equal(got.code, state === "off" ? 2 : 0, `outlet ${plug}`);
      }
      for (const [plug, , state] of [outlets[0]!, outlets.at(-1)!]) {
        const got = await pdu(r, "1", { plug, action: "status" });
        assert.equal(
          got.stdout,
          `Status: ${state.toUpperCase()}\n`,
          `v1 outlet ${plug}: ${got.stderr}`,
        );
      }
    });

    it(`${r.id}: off, on and reboot switch one outlet through its control column, read back`, async () => {
      const profile = profileOf(r);
      const [plug, , initial] = r.outlets!.find(([, , s]) => s === "on") ?? r.outlets![0]!;
      const writes = () => sim.writes(r.id).length;
      try {
        let got = await pdu(r, "2c", { plug, action: "off" });
        assert.equal(got.code, 0, got.stderr);
        assert.match(got.stdout, /^Success: (Powered|Already) OFF\n$/);
        assert.equal(await readWithSnmpget(r, plug), "off");
        got = await pdu(r, "1", { plug, action: "status" });
        assert.equal(got.code, 2, got.stderr);
        got = await pdu(r, "1", { plug, action: "on" });
        assert.equal(got.code, 0, got.stderr);
        assert.equal(got.stdout, "Success: Powered ON\n");
        assert.equal(await readWithSnmpget(r, plug), "on");
        const before = writes();
        got = await pdu(r, "2c", { plug, action: "reboot" });
        assert.equal(got.code, 0, got.stderr);
        assert.equal(got.stdout, "Success: Rebooted\n");
        assert.equal(await readWithSnmpget(r, plug), "on");
        const index = rowIndex(profile, { switchNo: 1, outlet: Number(plug) });
        assert.deepEqual(
          sim.writes(r.id).slice(before),
          [
            { oid: `${profile.control.oid}.${index}`, value: String(profile.control.off) },
            {
              oid: `${profile.control.onOid ?? profile.control.oid}.${index}`,
              value: String(profile.control.on),
            },
          ],
          "reboot is a write of off, then one of on: never the PDU's own reboot",
        );
      } finally {
        await pdu(r, "2c", { plug, action: initial === "on" ? "on" : "off" });
      }
    });
  }

  it("refuses a name two outlets share, naming both (Eaton ePDU MA: outlets 10 and 11)", async () => {
    const eaton = manifest.recordings.find((r) => r.id === "eaton-epdu-ma")!;
    const shared = "SP Lab DELL HOST - RU10-11";
    for (const action of ["status", "off"]) {
      assertOneLineFailure(
        await pdu(eaton, "2c", { plug: shared, action }),
        /has 2 outlets named 'SP Lab DELL HOST - RU10-11' \(10, 11\): give the outlet number/,
      );
    }
    assert.equal(await readWithSnmpget(eaton, "10"), "on");
    const unique = await pdu(eaton, "1", { plug: "DC Converter-1", action: "status" });
    assert.equal(unique.stdout, "Status: ON\n", unique.stderr);
  });

  it("says an outlet the recording lacks is missing, with v2c and v1", async () => {
    const ap7900b = manifest.recordings.find((r) => r.id === "apc-ap7900b")!;
    for (const version of ["2c", "1"] as const) {
      assertOneLineFailure(
        await pdu(ap7900b, version, { plug: 9, action: "off" }),
        /^ERROR: Failed: PDU .* has no outlet 9 /,
      );
    }
  });
});

describe("recorded look-alikes: no switched outlet, so a clear failure, never an empty success", () => {
  for (const r of lookalikes) {
    const why =
      r.recognisedAs === null
        ? new RegExp(`unrecognised PDU .*sysObjectID ${r.sysObjectId.replaceAll(".", "\\.")}`)
        : new RegExp(
            `no outlet table answered under profile ${r.recognisedAs}\\b.*is this a switched PDU\\?.*device=`,
          );
    it(`${r.id} (${r.device}): list, list-status, monitor and status fail`, async () => {
      for (const version of ["2c", "1"] as const) {
        for (const action of ["list", "list-status", "monitor"])
          assertOneLineFailure(await pdu(r, version, { action }), why);
        assertOneLineFailure(await pdu(r, version, { plug: 1, action: "status" }), why);
      }
      assertOneLineFailure(await pdu(r, "2c", { plug: 1, action: "off" }), why);
      assert.deepEqual(sim.writes(r.id), [], "nothing was switched");
    });
  }

  it("where fence_apc_snmp reads a UPS card's missing outlet as OFF (exit 2), fence_pdu fails", async () => {
    for (const id of ["tripplite-ups-su3000", "cyberpower-ups-ol2200"]) {
      const r = manifest.recordings.find((x) => x.id === id)!;
      const extra = { community: r.id, snmp_version: "2c" };
      const reference = await fenceApcSnmp(sim, "status", "1", { extra });
      assert.equal(
        reference.code,
        2,
        `fence_apc_snmp on ${id}: ${reference.stdout}${reference.stderr}`,
      );
      assert.equal(reference.stdout, "Status: OFF\n");
      const monitor = await fenceApcSnmp(sim, "monitor", undefined, { extra });
      assert.equal(monitor.code, 0, `fence_apc_snmp monitor on ${id}`);
      assertOneLineFailure(
        await pdu(r, "2c", { plug: 1, action: "status" }),
        /no outlet table answered/,
      );
    }
  });
});
