// Why one file: every test drives the same started simulated PDUs, ours beside fence_apc_snmp.
/**
 * fence_pdu, the built executable, against simulated PDUs (net-snmp's snmpd with our pass_persist
 * handler serving each device profile's tables), and beside the reference fence_apc_snmp where
 * that agent is wrong: each of its failures is reproduced here, next to ours doing it right.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { PDU_PROFILES, profileById } from "../../lib/pdu-profiles/index.js";
import { agentPath, runAgentArgs, runAgentStdin, stdinOf } from "../lab/agents.js";
import { requireProgram } from "../lab/bins.js";
import { run } from "../lab/clients.js";
import { fenceApcSnmp } from "../lab/pdu-clients.js";
import { PDU_COMMUNITIES, PDU_V3_USERS, type Pdu, startPdu } from "../lab/pdu-sim.js";

type Options = Record<string, string | number | boolean | undefined>;

function pduTarget(pdu: { host: string; port: number }, extra: Options = {}): Options {
  return {
    ip: pdu.host,
    ipport: pdu.port,
    community: PDU_COMMUNITIES.readWrite,
    snmp_version: "2c",
    ...extra,
  };
}

function v3(user: (typeof PDU_V3_USERS)[keyof typeof PDU_V3_USERS]): Options {
  const auth = user.auth.replace("-", "");
  return {
    snmp_version: "3",
    username: user.name,
    password: user.password,
    snmp_auth_prot: auth,
    snmp_sec_level: user.level,
    ...("priv" in user
      ? { snmp_priv_prot: user.priv.replace("-", ""), snmp_priv_passwd: user.privPassword }
      : {}),
  };
}

function assertOneLineFailure(
  r: { code: number | null; stderr: string; stdout: string },
  pattern: RegExp,
): void {
  assert.equal(r.code, 1, `exit code; stdout: ${r.stdout} stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stdout, /Success/);
}

describe("fence_pdu on every device profile", () => {
  for (const profile of PDU_PROFILES) {
    it(`${profile.id}: status, off, on, reboot and list-status, read back`, async () => {
      // A profile chosen only by device= has no sysObjectID of its own: give the simulator one.
      const pdu = await startPdu({
        profile,
        switches: profile.switches ? 2 : 1,
        outlets: 4,
        ...(profile.sysObjectIds.length === 0 ? { sysObjectId: "1.3.6.1.4.1.99999.2" } : {}),
      });
      try {
        const base = pduTarget(
          pdu,
          profile.sysObjectIds.length === 0 ? { device: profile.id } : {},
        );
        let r = await runAgentStdin("fence_pdu", { ...base, plug: 2, action: "status" });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "Status: ON\n");
        r = await runAgentStdin("fence_pdu", { ...base, plug: 2, action: "off" });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "Success: Powered OFF\n");
        assert.equal(await pdu.readOutlet(2), "off");
        assert.equal(await pdu.readOutlet(1), "on");
        r = await runAgentStdin("fence_pdu", { ...base, plug: 2, action: "status" });
        assert.equal(r.code, 2);
        r = await runAgentStdin("fence_pdu", { ...base, plug: 2, action: "on" });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await pdu.readOutlet(2), "on");
        r = await runAgentStdin("fence_pdu", { ...base, plug: 3, action: "reboot" });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await pdu.readOutlet(3), "on");
        assert.deepEqual(
          (await pdu.sets()).slice(-2),
          ["3 off", "3 on"],
          "reboot is off then on, never the PDU's own reboot",
        );
        if (profile.switches) {
          r = await runAgentStdin("fence_pdu", { ...base, plug: "2:4", action: "off" });
          assert.equal(r.code, 0, r.stderr);
          assert.equal(await pdu.readOutlet(4, 2), "off");
          assert.equal(await pdu.readOutlet(4, 1), "on");
        }
        await pdu.setOutlet(1, "off");
        r = await runAgentStdin("fence_pdu", { ...base, action: "list-status" });
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split("\n");
        assert.ok(lines.includes("1,Outlet 1,OFF"), r.stdout);
        assert.ok(lines.includes("2,Outlet 2,ON"), r.stdout);
      } finally {
        await pdu.stop();
      }
    });
  }
});

describe("fence_pdu on an APC rack PDU, against fence_apc_snmp", () => {
  let pdu: Pdu;
  before(async () => {
    pdu = await startPdu({ profile: profileById("apc-rpdu")!, outlets: 8 });
  });
  after(async () => {
    await pdu?.stop();
  });

  it("switches and verifies every outlet of plug=3,4 (fence_apc_snmp leaves the second on)", async () => {
    const reference = await fenceApcSnmp(pdu, "off", "3,4", { extra: { snmp_version: "2c" } });
    const referenceLeft = [await pdu.readOutlet(3), await pdu.readOutlet(4)];
    await pdu.setOutlet(3, "on");
    await pdu.setOutlet(4, "on");
    const r = await runAgentStdin("fence_pdu", pduTarget(pdu, { plug: "3,4", action: "off" }));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([await pdu.readOutlet(3), await pdu.readOutlet(4)], ["off", "off"]);
    assert.ok(
      referenceLeft.includes("on") || reference.code !== 0,
      `fence_apc_snmp: rc ${reference.code}, outlets ${referenceLeft.join(",")}`,
    );
    await runAgentStdin("fence_pdu", pduTarget(pdu, { plug: "3,4", action: "on" }));
  });

  it("says a nonexistent outlet is an error with v1, v2c and v3 (fence_apc_snmp v2c: 'Already OFF')", async () => {
    const reference = await fenceApcSnmp(pdu, "off", "9", { extra: { snmp_version: "2c" } });
    for (const version of [
      { snmp_version: "1" },
      { snmp_version: "2c" },
      v3(PDU_V3_USERS.rwAuthPriv),
    ]) {
      const r = await runAgentStdin(
        "fence_pdu",
        pduTarget(pdu, { ...version, plug: 9, action: "off" }),
      );
      assertOneLineFailure(r, /no outlet 9/);
    }
    assert.ok(
      reference.code === 0 && /Already OFF/.test(reference.stdout),
      `fence_apc_snmp said: rc ${reference.code} ${reference.stdout}`,
    );
  });

  it("lists every outlet with its real state (fence_apc_snmp: UNKNOWN)", async () => {
    await pdu.setOutlet(5, "off");
    const r = await runAgentStdin("fence_pdu", pduTarget(pdu, { action: "list-status" }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, 8);
    assert.match(r.stdout, /^5,Outlet 5,OFF$/m);
    const reference = await fenceApcSnmp(pdu, "list-status", undefined, {
      extra: { snmp_version: "2c" },
    });
    assert.match(reference.stdout, /UNKNOWN/);
    await pdu.setOutlet(5, "on");
  });

  it("fences by outlet name, and fails on a name that does not exist", async () => {
    let r = await runAgentStdin("fence_pdu", pduTarget(pdu, { plug: "Outlet 6", action: "off" }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await pdu.readOutlet(6), "off");
    r = await runAgentStdin("fence_pdu", pduTarget(pdu, { plug: "Outlet 6", action: "on" }));
    assert.equal(r.code, 0, r.stderr);
    r = await runAgentStdin("fence_pdu", pduTarget(pdu, { plug: "no-such-outlet", action: "off" }));
    assertOneLineFailure(r, /no outlet named 'no-such-outlet'/);
  });

  it("counts only an explicit off as off", async () => {
    for (const garbage of ["type", "range"] as const) {
      await pdu.setFault({ garbage });
      try {
        for (const action of ["status", "off"]) {
          const r = await runAgentStdin("fence_pdu", pduTarget(pdu, { plug: 2, action }));
          assertOneLineFailure(r, /neither on nor off/);
        }
      } finally {
        await pdu.setFault({});
      }
    }
  });

  it("fails at once when the community is read-only", async () => {
    const r = await runAgentStdin(
      "fence_pdu",
      pduTarget(pdu, { community: PDU_COMMUNITIES.readOnly, plug: 2, action: "off" }),
    );
    assertOneLineFailure(r, /refused to switch outlet 2 off: the community or user is read-only/);
    assert.ok(r.ms < 3000, `took ${r.ms} ms`);
    assert.equal(await pdu.readOutlet(2), "on");
    const v1 = await runAgentStdin(
      "fence_pdu",
      pduTarget(pdu, {
        snmp_version: "1",
        community: PDU_COMMUNITIES.readOnly,
        plug: 2,
        action: "off",
      }),
    );
    assertOneLineFailure(v1, /read-only/);
    const user = await runAgentStdin(
      "fence_pdu",
      pduTarget(pdu, { ...v3(PDU_V3_USERS.roAuthPriv), plug: 2, action: "off" }),
    );
    assertOneLineFailure(user, /read-only/);
  });

  it("fails after power_timeout when an outlet accepts off but stays on", async () => {
    await pdu.setFault({ stuck: [7] });
    try {
      const r = await runAgentStdin(
        "fence_pdu",
        pduTarget(pdu, { plug: "6,7", action: "off", power_timeout: 2 }),
      );
      assertOneLineFailure(r, /Timed out waiting to power OFF \(plug 7 still on\)/);
      assert.ok(r.ms >= 2000 && r.ms < 8000, `took ${r.ms} ms`);
    } finally {
      await pdu.setFault({});
      await runAgentStdin("fence_pdu", pduTarget(pdu, { plug: "6", action: "on" }));
    }
  });

  it("speaks SNMPv3 with SHA/AES, MD5 without privacy, and the SHA-2 family", async () => {
    for (const user of [
      PDU_V3_USERS.rwAuthPriv,
      PDU_V3_USERS.rwAuthNoPriv,
      PDU_V3_USERS.rwSha256,
      PDU_V3_USERS.rwSha512,
    ]) {
      const r = await runAgentStdin(
        "fence_pdu",
        pduTarget(pdu, { ...v3(user), plug: 8, action: "reboot" }),
      );
      assert.equal(r.code, 0, `${user.name}: ${r.stderr}`);
    }
  });

  it("reports SNMPv3 authentication and privacy failures as such", async () => {
    const user = PDU_V3_USERS.rwAuthPriv;
    let r = await runAgentStdin(
      "fence_pdu",
      pduTarget(pdu, { ...v3(user), password: "wrong-auth-pass", plug: 1, action: "status" }),
    );
    assertOneLineFailure(r, /authentication of user 'pdu-admin'.*wrong password/);
    r = await runAgentStdin(
      "fence_pdu",
      pduTarget(pdu, {
        ...v3(user),
        snmp_priv_passwd: "wrong-priv-pass",
        plug: 1,
        action: "status",
      }),
    );
    assertOneLineFailure(r, /snmp_priv_passwd|decrypt|no answer/);
    r = await runAgentStdin(
      "fence_pdu",
      pduTarget(pdu, { ...v3(user), username: "nobody", plug: 1, action: "status" }),
    );
    assertOneLineFailure(r, /does not know SNMPv3 user 'nobody'/);
    for (const text of [r.stderr, r.stdout])
      assert.doesNotMatch(text, /admin-auth-pass|admin-priv-pass/);
  });

  it("fails within the timeout on a wrong community, saying the PDU may be down too", async () => {
    const r = await runAgentStdin(
      "fence_pdu",
      pduTarget(pdu, { community: "not-a-community", plug: 1, action: "status" }),
    );
    assertOneLineFailure(
      r,
      /no answer from PDU .* within 3 s .*down or unreachable, or the community is wrong/,
    );
    assert.doesNotMatch(r.stderr, /not-a-community/);
    assert.ok(r.ms < 3000 + 1500, `took ${r.ms} ms`);
  });

  it("monitors, lists and prints its man page", async () => {
    let r = await runAgentStdin("fence_pdu", pduTarget(pdu, { action: "monitor" }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    r = await runAgentStdin("fence_pdu", pduTarget(pdu, { action: "list" }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n")[0], "1,Outlet 1");
    r = await runAgentArgs("fence_pdu", ["-o", "manpage"]);
    assert.match(r.stdout, /^\.TH FENCE_PDU 8/);
  });

  it("lists what a truncated table holds, and still fences every outlet", async () => {
    await pdu.setFault({ truncated: true });
    try {
      let r = await runAgentStdin("fence_pdu", pduTarget(pdu, { action: "list-status" }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim().split("\n").length, 4, r.stdout);
      r = await runAgentStdin("fence_pdu", pduTarget(pdu, { plug: 8, action: "reboot" }));
      assert.equal(r.code, 0, r.stderr);
      r = await runAgentStdin("fence_pdu", pduTarget(pdu, { plug: "Outlet 8", action: "status" }));
      assertOneLineFailure(r, /no outlet named 'Outlet 8'/);
    } finally {
      await pdu.setFault({});
    }
  });

  it("takes the command line too, with fence_apc_snmp's short options", async () => {
    const r = await runAgentArgs("fence_pdu", [
      "-a",
      pdu.host,
      "-u",
      String(pdu.port),
      "-c",
      PDU_COMMUNITIES.readWrite,
      "-d",
      "2c",
      "-n",
      "1",
      "-o",
      "status",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Status: ON\n");
  });

  it("takes privacy and auth passwords from scripts", async () => {
    const user = PDU_V3_USERS.rwAuthPriv;
    const { password, snmp_priv_passwd, ...rest } = v3(user);
    const r = await runAgentStdin(
      "fence_pdu",
      pduTarget(pdu, {
        ...rest,
        password_script: `echo ${password}`,
        snmp_priv_passwd_script: `echo ${snmp_priv_passwd}`,
        plug: 1,
        action: "status",
      }),
    );
    assert.equal(r.code, 0, r.stderr);
  });
});

describe("fence_pdu with community_script (SNMP v1/v2c community by reference)", () => {
  let pdu: Pdu;
  let dir: string;
  before(async () => {
    pdu = await startPdu({ profile: profileById("apc-rpdu")!, outlets: 4 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-community-"));
    fs.writeFileSync(path.join(dir, "rw.community"), `${PDU_COMMUNITIES.readWrite}\n`, {
      mode: 0o600,
    });
    fs.writeFileSync(path.join(dir, "ro.community"), `${PDU_COMMUNITIES.readOnly}\n`, {
      mode: 0o600,
    });
  });
  after(async () => {
    await pdu?.stop();
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });
  // No community option: the default (private) is the read-write one, and must not be what works.
  const target = (extra: Options): Options => ({
    ip: pdu.host,
    ipport: pdu.port,
    snmp_version: "2c",
    ...extra,
  });

  it("reads status and switches off with the community the script prints, which never appears in the debug log", async () => {
    const script = `/bin/cat ${path.join(dir, "rw.community")}`;
    for (const version of ["1", "2c"]) {
      await pdu.setOutlet(2, "on");
      let r = await runAgentStdin(
        "fence_pdu",
        target({
          snmp_version: version,
          community: PDU_COMMUNITIES.readOnly,
          community_script: script,
          plug: 2,
          action: "status",
        }),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Status: ON\n");
      assert.match(r.stderr, /community is ignored: community_script is set and wins/);
      // community=public (read-only) is given too: the off works only because the script wins.
      r = await runAgentStdin(
        "fence_pdu",
        target({
          snmp_version: version,
          community: PDU_COMMUNITIES.readOnly,
          community_script: script,
          plug: 2,
          action: "off",
          verbose_level: 3,
        }),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Success: Powered OFF\n");
      assert.equal(await pdu.readOutlet(2), "off");
      assert.match(r.stderr, /community_script=\[hidden\]/);
      assert.doesNotMatch(r.stderr, new RegExp(`${PDU_COMMUNITIES.readWrite}|rw\\.community`));
    }
  });

  it("uses what the script prints, not the default community", async () => {
    await pdu.setOutlet(3, "on");
    const r = await runAgentStdin(
      "fence_pdu",
      target({
        community_script: `/bin/cat ${path.join(dir, "ro.community")}`,
        plug: 3,
        action: "off",
      }),
    );
    assertOneLineFailure(r, /refused to switch outlet 3 off: the community or user is read-only/);
    assert.equal(await pdu.readOutlet(3), "on");
  });

  it("fails in one line with exit 1 when the script fails, prints nothing or is given with SNMPv3", async () => {
    const cases: [Options, RegExp][] = [
      [{ community_script: "/bin/false" }, /^ERROR: community_script exited with status 1$/],
      [
        { community_script: `/bin/cat ${path.join(dir, "missing.community")}` },
        /^ERROR: community_script exited with status 1$/,
      ],
      [
        { community_script: "/bin/true" },
        /^ERROR: community_script printed nothing on its first line$/,
      ],
      [
        { snmp_version: "3", username: "u", community_script: "/bin/true" },
        /^ERROR: Failed: community_script is for SNMP v1 and v2c/,
      ],
    ];
    for (const [extra, pattern] of cases) {
      const r = await runAgentStdin("fence_pdu", target({ plug: 1, action: "off", ...extra }));
      assertOneLineFailure(r, pattern);
      assert.doesNotMatch(r.stderr, /at .*\.ts|node:/, "no stack trace");
    }
    assert.equal(await pdu.readOutlet(1), "on");
  });
});

describe("fence_pdu against dead and unknown PDUs", () => {
  it("fails within the timeout when nothing answers, naming the step, not a list of OIDs", async () => {
    // Bound, so the host does not refuse: the datagrams just go unanswered.
    const silent = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
    try {
      const port = silent.address().port;
      for (const plug of ["1", "1,2"]) {
        const r = await runAgentStdin(
          "fence_pdu",
          pduTarget({ host: "127.0.0.1", port }, { plug, action: "off", shell_timeout: 2 }),
        );
        assertOneLineFailure(
          r,
          /no answer from PDU 127\.0\.0\.1:\d+ within 2 s \(reading the sysObjectID and the outlets' states\): the PDU is down or unreachable, or the community is wrong/,
        );
        assert.doesNotMatch(r.stderr, /1\.3\.6\.1\.4\.1/, "no OIDs in the message");
        assert.ok(r.ms < 2000 + 1500, `took ${r.ms} ms`);
      }
    } finally {
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("says a refused port is refused (ICMP port unreachable), at once", async () => {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    const port = socket.address().port;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    for (const version of ["1", "2c"]) {
      const r = await runAgentStdin(
        "fence_pdu",
        pduTarget(
          { host: "127.0.0.1", port },
          { snmp_version: version, plug: 1, action: "status", shell_timeout: 20 },
        ),
      );
      assertOneLineFailure(
        r,
        new RegExp(
          `^ERROR: PDU 127\\.0\\.0\\.1:${port} refused SNMP \\(ICMP port unreachable\\): nothing listens on UDP port ${port} there`,
        ),
      );
      assert.doesNotMatch(r.stderr, /community/);
      // Refused, so not the 20 s a silent PDU would cost (a bound, not a timing).
      assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    }
  });

  it("says a host name does not resolve (in a network namespace with no route out)", async () => {
    const r = await run(requireProgram("unshare"), ["--net", "--", agentPath("fence_pdu")], {
      input: stdinOf({ ip: "pdu-a.kvmha-test.invalid", plug: 1, action: "status" }),
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
      killAfterMs: 60_000,
    });
    assertOneLineFailure(
      r,
      /^ERROR: cannot resolve host pdu-a\.kvmha-test\.invalid \((ENOTFOUND|EAI_AGAIN|EAI_FAIL)\); check ip$/,
    );
  });

  it("takes replies only from the PDU at a scoped IPv6 address too (node cannot connect those)", async () => {
    // In a network namespace of its own: a veth pair gives link-local addresses nobody else sees
    // (no duplicate address detection, so they are usable at once; lo carries traffic to them).
    const client = new URL("../../lib/snmp/client.ts", import.meta.url).href;
    const script = `
import dgram from "node:dgram";
import os from "node:os";
import { asGetResponse, openSnmp } from ${JSON.stringify(client)};
let ll;
for (let i = 0; i < 100 && !ll; i++) {
  ll = os.networkInterfaces().v0?.find((a) => a.family === "IPv6" && a.address.startsWith("fe80"))?.address;
  if (!ll) await new Promise((r) => setTimeout(r, 100));
}
const host = ll + "%v0";
const bound = async () => { const s = dgram.createSocket("udp6"); await new Promise((r) => s.bind(0, host, r)); return s; };
const pdu = await bound(), forger = await bound();
const out = {};
for (const from of ["forger", "pdu"]) {
  pdu.removeAllListeners("message");
  pdu.on("message", (req, to) => (from === "pdu" ? pdu : forger).send(asGetResponse(req), to.port, to.address));
  const c = openSnmp({ host, port: pdu.address().port, version: "2c", transport: "udp6", community: "c" }, 800);
  try { out[from] = (await c.get(["1.3.6.1.2.1.1.2.0"]))[0].kind; } catch (e) { out[from] = e.constructor.name; }
  c.close();
}
pdu.close(); forger.close();
console.log(JSON.stringify(out));`;
    const r = await run(
      requireProgram("unshare"),
      [
        "--net",
        "--",
        "/bin/sh",
        "-c",
        'ip link set lo up && echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad && ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up && exec "$0" --import tsx --input-type=module -e "$1"',
        process.execPath,
        script,
      ],
      { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" }, killAfterMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { forger: "SnmpTimeoutError", pdu: "other" });
  });

  it("refuses outlet numbers no PDU has, before any request", async () => {
    for (const plug of ["0", "4294967296", "99999999999999999999", "2:0", "4294967296:1", "1,0"]) {
      const r = await runAgentStdin("fence_pdu", {
        ip: "192.0.2.1", // TEST-NET-1: never contacted
        plug,
        action: "off",
      });
      assertOneLineFailure(
        r,
        /^ERROR: Failed: plug [0-9:]+: outlet and switch numbers go from 1 to 4294967295$/,
      );
      assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
    }
  });

  it("refuses a PDU it does not recognise instead of guessing, and takes device= for it", async () => {
    const pdu = await startPdu({
      profile: profileById("apc-rpdu")!,
      sysObjectId: "1.3.6.1.4.1.99999.1",
      outlets: 2,
    });
    try {
      let r = await runAgentStdin("fence_pdu", pduTarget(pdu, { plug: 1, action: "status" }));
      assertOneLineFailure(
        r,
        /unrecognised PDU .*sysObjectID 1\.3\.6\.1\.4\.1\.99999\.1.*set device=/,
      );
      r = await runAgentStdin(
        "fence_pdu",
        pduTarget(pdu, { plug: 1, action: "status", device: "apc-rpdu" }),
      );
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await pdu.stop();
    }
  });

  it("fails cleanly when the PDU answers garbage datagrams", async () => {
    const { startLossyProxy } = await import("../lab/lossy-proxy.js");
    const pdu = await startPdu({ profile: profileById("apc-rpdu")!, outlets: 2 });
    const proxy = await startLossyProxy({ upstreamPort: pdu.port, mode: "garbage", seed: 3 });
    try {
      for (const version of [{ snmp_version: "2c" }, v3(PDU_V3_USERS.rwAuthPriv)]) {
        const r = await runAgentStdin(
          "fence_pdu",
          pduTarget(proxy, { ...version, plug: 1, action: "off", shell_timeout: 2 }),
        );
        assertOneLineFailure(r, /PDU/);
        assert.ok(r.ms < 2000 + 1500, `took ${r.ms} ms`);
      }
      assert.equal(await pdu.readOutlet(1), "on");
    } finally {
      await proxy.stop();
      await pdu.stop();
    }
  });

  it("fences two PDUs at once, as the second fencing level does", async () => {
    const profile = profileById("apc-rpdu2")!;
    const [a, b] = await Promise.all([
      startPdu({ profile, outlets: 4 }),
      startPdu({ profile, outlets: 4 }),
    ]);
    try {
      const results = await Promise.all([
        runAgentStdin("fence_pdu", pduTarget(a, { plug: 3, action: "off" })),
        runAgentStdin("fence_pdu", pduTarget(b, { plug: 3, action: "off" })),
      ]);
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([await a.readOutlet(3), await b.readOutlet(3)], ["off", "off"]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe("fence_pdu input and metadata", () => {
  it("rejects bad input in one line with exit 1", async () => {
    const cases: [Options, RegExp][] = [
      [{ action: "off", plug: 1 }, /fence address/],
      [{ ip: "127.0.0.1", action: "off" }, /plug number/],
      [{ ip: "127.0.0.1", plug: 1, action: "off", snmp_version: "4" }, /valid choice/],
      [{ ip: "127.0.0.1", plug: 1, action: "off", snmp_version: "3" }, /needs username/],
      [
        {
          ip: "127.0.0.1",
          plug: 1,
          action: "off",
          snmp_version: "3",
          username: "u",
          snmp_sec_level: "authPriv",
          password: "an-auth-password",
        },
        /snmp_priv_passwd/,
      ],
      [{ ip: "127.0.0.1", plug: 1, action: "off", device: "toaster" }, /valid choice/],
    ];
    for (const [options, pattern] of cases)
      assertOneLineFailure(await runAgentStdin("fence_pdu", options), pattern);
  });

  it("advertises community_script beside community", async () => {
    const ours = await runAgentArgs("fence_pdu", ["-o", "metadata"]);
    assert.match(ours.stdout, /<parameter name="community_script" unique="0" required="0">/);
    assert.match(ours.stdout, /<getopt mixed="--community-script=\[script\]" \/>/);
  });

  it("advertises every parameter fence_apc_snmp does", async () => {
    const reference = await run("/usr/sbin/fence_apc_snmp", ["-o", "metadata"]);
    const ours = await runAgentArgs("fence_pdu", ["-o", "metadata"]);
    assert.equal(ours.code, 0);
    assert.equal(ours.stderr, "");
    const names = (xml: string) =>
      new Set([...xml.matchAll(/<parameter name="([^"]+)"/g)].map((m) => m[1]));
    assert.deepEqual(
      [...names(reference.stdout)].filter((n) => !names(ours.stdout).has(n)),
      [],
    );
  });
});
