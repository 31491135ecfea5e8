/**
 * The rendered pcmk_host_map, as Pacemaker's own fencer reads it, in each lab generation: for the
 * multi-outlet sample (Eaton "unit:outlet" outlets, escaped as 1\:3: 2.1.5 and 3.0.0 parse the map
 * with the same code) a stand-alone pacemaker-fenced registers each PDU device and fences each
 * node; the plug fence_pdu receives must be exactly the node's outlets. And what 3.0 did change:
 * an agent that advertises no `port` parameter gets no plug at all.
 *
 * The fencer runs in namespaces of its own (network: its IPC sockets are abstract unix sockets;
 * mount: a private /dev/shm, and a recording script bind-mounted over /usr/sbin/fence_dummy that
 * answers with the metadata of the agent it stands for;
 * pid: everything in it dies with the test's process), so nothing outside is touched.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadInventory } from "../../topology/inventory/load.js";
import { planCluster } from "../../topology/render/plan.js";
import { agentPath } from "../lab/agents.js";
import { run } from "../lab/clients.js";
import { type LabGeneration, labGenerations } from "../lab/generation.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FENCED = "/usr/lib/pacemaker/pacemaker-fenced";
const DUMMY = "/usr/sbin/fence_dummy";

function requireFile(file: string, pkg: string): void {
  if (!fs.existsSync(file))
    throw new Error(
      `${file} is missing: install the Debian package '${pkg}' (scripts/lab-deps.sh, scripts/lab-root.sh)`,
    );
}

/** sh single quotes, for the generated script. */
const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/**
 * Pacemaker 3.0's fencer signs in to corosync even with --stand-alone (2.1's did not): a one-node
 * corosync on the namespace's loopback, its configuration and state bound over the root's.
 */
function corosyncLines(dir: string): string[] {
  const etc = path.join(dir, "corosync");
  fs.mkdirSync(path.join(etc, "lib"), { recursive: true });
  fs.writeFileSync(
    path.join(etc, "corosync.conf"),
    "totem {\n version: 2\n cluster_name: hostmap\n transport: knet\n crypto_cipher: none\n crypto_hash: none\n}\n" +
      "nodelist {\n node {\n  ring0_addr: 127.0.0.1\n  name: fencer\n  nodeid: 1\n }\n}\n" +
      "quorum {\n provider: corosync_votequorum\n}\nlogging {\n to_stderr: yes\n to_syslog: no\n}\n",
  );
  return [
    "mount -t tmpfs tmpfs /run",
    `mount --bind ${q(etc)} /etc/corosync`,
    `mount --bind ${q(path.join(etc, "lib"))} /var/lib/corosync`,
    `corosync -f > ${q(path.join(dir, "corosync.out"))} 2>&1 &`,
    "i=0; until corosync-cmapctl -g totem.cluster_name >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 100 ] || { echo 'corosync did not start' >&2; exit 1; }; sleep 0.1; done",
  ];
}

interface Registration {
  id: string;
  map: string;
}

/**
 * Runs a fencer in the generation's root with the recording agent over fence_dummy, its metadata
 * `meta`; registers each device in turn (one at a time, so each fencing runs that device: a
 * stand-alone fencer has no peers to carry a multi-device level to its end) and fences every node
 * with it. Returns the agent's calls, each node's section headed `== DEVICE NODE`.
 */
async function fenceEach(
  gen: LabGeneration,
  tmp: string,
  meta: string,
  devices: readonly Registration[],
  nodes: readonly string[],
): Promise<string> {
  fs.writeFileSync(path.join(tmp, "meta.xml"), meta);
  const calls = path.join(tmp, "calls");
  fs.writeFileSync(calls, "");
  // The recording agent: every call's stdin, then the metadata when asked; every action succeeds.
  fs.writeFileSync(
    path.join(tmp, "agent.sh"),
    `#!/bin/sh\ninput=$(cat)\nprintf '%s\\n--\\n' "$input" >> ${q(calls)}\ncase "$input" in *action=metadata*) cat ${q(path.join(tmp, "meta.xml"))} ;; esac\nexit 0\n`,
    { mode: 0o755 },
  );
  const lines = [
    "set -eu",
    "mount -t tmpfs tmpfs /dev/shm",
    `mount --bind ${q(path.join(tmp, "agent.sh"))} ${DUMMY}`,
    "ip link set lo up",
    ...(gen.pacemaker === 3 ? corosyncLines(tmp) : []),
    `PCMK_logfile=${q(path.join(tmp, "fenced.log"))} ${FENCED} -s > ${q(path.join(tmp, "fenced.out"))} 2>&1 &`,
    // Wait (bounded) until the fencer answers.
    "i=0; until stonith_admin --list-registered >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 100 ] || { echo 'fencer did not start' >&2; exit 1; }; sleep 0.1; done",
  ];
  for (const d of devices) {
    lines.push(
      `stonith_admin --register ${d.id} --agent fence_dummy --option ${q(`pcmk_host_map=${d.map}`)} --option pcmk_host_check=static-list`,
    );
    for (const node of nodes) {
      lines.push(`echo "== ${d.id} ${node}" >> ${q(calls)}`);
      lines.push(
        `stonith_admin --fence ${node} --timeout 30 --tolerance 0 >/dev/null || { echo 'fencing ${node} with ${d.id} failed' >&2; exit 1; }`,
      );
    }
    lines.push(`stonith_admin --deregister ${d.id}`);
  }
  fs.writeFileSync(path.join(tmp, "run.sh"), `${lines.join("\n")}\n`);
  const inner = gen.enter("/bin/sh", [path.join(tmp, "run.sh")]);
  const r = await run(
    "unshare",
    [
      "--net",
      "--mount",
      "--pid",
      "--fork",
      "--kill-child",
      "--mount-proc",
      "--propagation",
      "private",
      inner.program,
      ...inner.args,
    ],
    { killAfterMs: 120_000, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" } },
  );
  const out = path.join(tmp, "fenced.out");
  assert.equal(
    r.code,
    0,
    `${r.stdout}${r.stderr}\n${fs.existsSync(out) ? fs.readFileSync(out, "utf8") : ""}`,
  );
  return fs.readFileSync(calls, "utf8");
}

/** The agent's calls for fencing `node` with device `id`. */
function section(log: string, id: string, node: string): string {
  return log.split(`== ${id} ${node}\n`)[1]?.split("== ")[0] ?? "";
}

for (const gen of labGenerations()) {
  let tmp = "";

  before(() => {
    requireFile(gen.hostPath(FENCED), "pacemaker");
    requireFile(gen.hostPath(DUMMY), "fence-agents");
    gen.requireProgram("ip");
    gen.requireProgram("stonith_admin");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-hostmap-"));
  });

  after(() => {
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe(`${gen.title}: kvmha render's pcmk_host_map as pacemaker-fenced reads it`, () => {
    it("multi-outlet: fencing each node hands fence_pdu exactly that node's outlets", async () => {
      const { inventory } = await loadInventory(
        path.join(ROOT, "test/fixtures/inventories/multi-outlet.yaml"),
      );
      const plan = planCluster(inventory, gen.pacemaker);
      const pdus = plan.devices.filter((d) => d.agent === "fence_pdu");
      assert.equal(pdus.length, 2);
      // The agent the map is for: the fencer reads fence_pdu's own metadata (it advertises port).
      const meta = await run(agentPath("fence_pdu"), ["-o", "metadata"], { killAfterMs: 30_000 });
      assert.equal(meta.code, 0, meta.stderr);
      const devices = pdus.map((d) => ({
        id: d.id,
        map: d.params.find(([n]) => n === "pcmk_host_map")?.[1] ?? "",
      }));
      // The rendered map keeps `\:` inside the Eaton outlets for both generations.
      assert.match(devices[0]!.map, /\\:/);
      const log = await fenceEach(gen, tmp, meta.stdout, devices, plan.nodes);

      // Each fencing: one "off" for that node, with its outlets on that PDU as the plug.
      for (const d of pdus) {
        const pdu = d.id.replace(/^fence-pdu-/, "");
        for (const node of inventory.nodes) {
          const calls = section(log, d.id, node.name);
          const outlets = node.power.find((s) => s.pdu === pdu)?.outlets ?? [];
          assert.deepEqual(
            [...calls.matchAll(/^port=(.*)$/gm)].map((m) => m[1]),
            [outlets.join(",")],
            `${d.id} ${node.name}:\n${calls}`,
          );
          assert.match(calls, new RegExp(`^nodename=${node.name}$`, "m"));
          assert.match(calls, /^action=off$/m);
        }
      }
    });

    // What did change in 3.0 (its ChangeLog: "default pcmk_host_argument to none if port not
    // advertised"): an agent whose metadata has no `port` parameter, as fence_dummy's, gets the
    // mapped plug from 2.1 (as port=) and no plug at all from 3.0. kvmha's agents advertise port.
    it("an agent that advertises no port parameter: port= from 2.1, no plug from 3.0", async () => {
      const meta = await gen.run(DUMMY, ["-o", "metadata"], { killAfterMs: 30_000 });
      assert.equal(meta.code, 0, meta.stderr);
      assert.doesNotMatch(meta.stdout, /<parameter name="(port|plug)"/);
      const log = await fenceEach(
        gen,
        tmp,
        meta.stdout,
        [{ id: "fence-noport", map: "hv1:1\\:3" }],
        ["hv1"],
      );
      const calls = section(log, "fence-noport", "hv1");
      assert.match(calls, /^action=off$/m);
      assert.deepEqual(
        [...calls.matchAll(/^(port|plug)=(.*)$/gm)].map((m) => m[0]),
        gen.pacemaker === 2 ? ["port=1:3"] : [],
        calls,
      );
    });
  });
}
