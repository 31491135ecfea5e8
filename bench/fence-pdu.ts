/**
 * fence_pdu against fence_apc_snmp on the same simulated APC rack PDU, in one run: status, off
 * (verified) and reboot, with SNMP v1 and v3 (SHA/AES). Both agents read their options as
 * key=value lines on stdin, as under Pacemaker. Before each timed run the outlet is switched back
 * on (by our agent, untimed).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { profileById } from "../lib/pdu-profiles/index.js";
import { agentPath } from "../test/lab/agents.js";
import { requirePduProgram } from "../test/lab/pdu-bins.js";
import { PDU_COMMUNITIES, PDU_V3_USERS, startPdu } from "../test/lab/pdu-sim.js";
import { type BenchCase, benchmark, optionsFile, saveResult } from "./hyperfine.js";
import { messageOf } from "../lib/errors.js";

async function main(): Promise<void> {
  const reference = requirePduProgram("fence_apc_snmp");
  const ours = agentPath("fence_pdu");
  const profile = profileById("apc-rpdu");
  if (profile === undefined) throw new Error("no apc-rpdu profile");
  const pdu = await startPdu({ profile, outlets: 8 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-bench-pdu-"));
  try {
    const user = PDU_V3_USERS.rwAuthPriv;
    const versions: Record<string, Record<string, string | number>> = {
      v1: { snmp_version: "1", community: PDU_COMMUNITIES.readWrite },
      v3: {
        snmp_version: "3",
        username: user.name,
        password: user.password,
        snmp_auth_prot: "SHA",
        snmp_sec_level: "authPriv",
        snmp_priv_prot: "AES",
        snmp_priv_passwd: user.privPassword,
      },
    };
    const base = { ip: pdu.host, ipport: pdu.port, plug: 3 };
    const on = optionsFile(dir, "prepare-on", { ...base, ...versions.v1, action: "on" });
    const cases: BenchCase[] = [];
    for (const [version, options] of Object.entries(versions)) {
      for (const [name, action, runs] of [
        ["status", "status", 30],
        ["off (verified)", "off", 20],
        ["reboot", "reboot", 10],
      ] as const) {
        const input = optionsFile(dir, `${version}-${action}`, { ...base, ...options, action });
        cases.push({
          name: `${version} ${name}`,
          reference: `${reference} < ${input}`,
          ours: `${ours} < ${input}`,
          prepare: `${ours} < ${on} > /dev/null`,
          runs,
        });
      }
    }
    const table = benchmark({
      title: "fence_pdu vs fence_apc_snmp on one simulated APC rack PDU (snmpd + pass_persist)",
      referenceName: "fence_apc_snmp",
      oursName: "fence_pdu",
      cases,
      // fence_apc_snmp's snmpget/snmpset must read no system snmp.conf nor write persistent state.
      env: { SNMPCONFPATH: dir, SNMP_PERSISTENT_DIR: dir },
    });
    saveResult("fence-pdu", table);
  } finally {
    await pdu.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${messageOf(err)}\n`);
  process.exitCode = 1;
});
