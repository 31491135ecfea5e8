/**
 * kvmha check --probe's pure parts and its plan, with a stand-in runner: what goes on each agent's
 * stdin (never argv), how answers become findings, secrets hidden, concurrency bounded. Every
 * finding the probe can report (findings.ts) must come out of a test here: the last test counts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import { describe, it } from "node:test";
import { readCibSecret } from "../../topology/check/agent-runner.js";
import { parseCib } from "../../topology/check/cib.js";
import { type CheckContext, contextOf } from "../../topology/check/context.js";
import { PROBE_FINDING_IDS } from "../../topology/check/findings.js";
import { type VirshRunner, probeGuestDefinitions } from "../../topology/check/libvirt-probe.js";
import {
  type AgentRun,
  type ProbeOptions,
  agentReason,
  classify,
  nodeUp,
  probeDevices as probe,
  stdinFor,
} from "../../topology/check/probe.js";

/** Every finding id a test here has produced (the count at the end). */
const produced = new Set<string>();
async function probeDevices(ctx: CheckContext, options: ProbeOptions) {
  const result = await probe(ctx, options);
  for (const f of result.findings) produced.add(f.id);
  return result;
}

/** two-node.xml with its PDUs' communities written as values: what the probe hides, tested here. */
const twoNode = fs
  .readFileSync(new URL("../fixtures/cib/two-node.xml", import.meta.url), "utf8")
  .replace(
    /<nvpair id="fence-pdu-(pdu-[ab])-community_script" name="community_script" value="[^"]*"\/>/g,
    '<nvpair id="fence-pdu-$1-community" name="community" value="private"/>',
  );

function ok(stdout = ""): AgentRun {
  return { code: 0, stdout, stderr: "", timedOut: false, spawnError: undefined };
}

describe("kvmha check --probe", () => {
  it("stdin: the device's options without the fencer's, then the action and plug; lanplus=0 for a bare fence_ipmilan", () => {
    const cib = parseCib(
      twoNode.replace(
        'type="fence_ipmi">\n        <instance_attributes id="fence-ipmi-node2',
        'type="fence_ipmilan">\n        <instance_attributes id="fence-ipmi-node2',
      ),
    );
    const pdu = cib.primitives.find((p) => p.id === "fence-pdu-pdu-a");
    assert.ok(pdu);
    assert.deepEqual(stdinFor(pdu, "status", "3"), {
      stdin: "ip=10.0.0.201\nsnmp_version=2c\ncommunity=private\naction=status\nplug=3\n",
    });
    const ipmilan = cib.primitives.find((p) => p.id === "fence-ipmi-node2");
    assert.ok(ipmilan);
    assert.equal(ipmilan.type, "fence_ipmilan");
    const input = stdinFor(ipmilan, "status");
    assert.ok(
      "stdin" in input && input.stdin.endsWith("lanplus=0\naction=status\n"),
      JSON.stringify(input),
    );
    const evil = parseCib(
      twoNode.replace(
        'name="community" value="private"',
        'name="community" value="private&#10;action=off"',
      ),
    );
    const evilPdu = evil.primitives.find((p) => p.id === "fence-pdu-pdu-a");
    assert.ok(evilPdu);
    assert.deepEqual(stdinFor(evilPdu, "status", "3"), { unsafe: "community" });
  });

  it("cibsecrets: an lrm:// value is read from the nodes' secret store; unreadable: the device is skipped", async () => {
    const xml = twoNode.replace(
      'name="community" value="private"',
      'name="community" value="lrm://"',
    );
    const pdu = parseCib(xml).primitives.find((p) => p.id === "fence-pdu-pdu-a");
    assert.ok(pdu);
    const input = stdinFor(pdu, "monitor", undefined, (rsc, name) =>
      rsc === "fence-pdu-pdu-a" && name === "community" ? "s3cret" : undefined,
    );
    assert.ok(
      "stdin" in input && input.stdin.includes("community=s3cret\n"),
      JSON.stringify(input),
    );
    const asked: string[] = [];
    const result = await probeDevices(contextOf(parseCib(xml)), {
      agentDir: "/x",
      timeoutMs: 1000,
      jobs: 1,
      runScripts: true,
      secret: () => undefined,
      runner: async (_a, stdin) => (asked.push(stdin), ok()),
    });
    assert.deepEqual(result.findings, []);
    assert.deepEqual(
      result.outcomes.filter((o) => o.result === "skipped").map((o) => [o.device, o.detail]),
      [["fence-pdu-pdu-a", "'community' is kept by cibsecrets and not readable here"]],
    );
    assert.ok(asked.every((x) => !x.includes("lrm://")));
    // Without a runner, an agent missing from the agent directory is not run: skipped, no finding.
    const missing = await probeDevices(contextOf(parseCib(twoNode)), {
      agentDir: "/nonexistent/kvmha-agents",
      timeoutMs: 1000,
      jobs: 1,
      runScripts: true,
    });
    assert.deepEqual(missing.findings, []);
    assert.ok(
      missing.outcomes.some(
        (o) =>
          o.result === "skipped" && o.detail === "fence_ipmi is not in /nonexistent/kvmha-agents",
      ),
      JSON.stringify(missing.outcomes),
    );
    const dir = fs.mkdtempSync(`${os.tmpdir()}/kvmha-cibsecrets-`);
    try {
      fs.mkdirSync(`${dir}/dev`);
      fs.writeFileSync(`${dir}/dev/password`, "pw\n");
      assert.equal(readCibSecret("dev", "password", dir), "pw");
      assert.equal(readCibSecret("dev", "missing", dir), undefined);
      assert.equal(readCibSecret("../etc", "passwd", dir), undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the agent's reason: its last ERROR line, as the agent wrote it; classified", () => {
    const run: AgentRun = {
      code: 1,
      stdout: "",
      stderr:
        "WARNING: Parse error: Ignoring unknown option 'x'\nERROR: community refused by PDU 10.0.0.201:161\n",
      timedOut: false,
      spawnError: undefined,
    };
    assert.equal(agentReason(run), "community refused by PDU 10.0.0.201:161");
    assert.equal(
      agentReason({ ...run, timedOut: true }),
      "the agent did not finish within the probe timeout",
    );
    assert.equal(
      classify(
        "no answer from BMC 10.0.0.1:623 within 5 s (Get Channel Authentication Capabilities)",
      ),
      "unreachable",
    );
    assert.equal(
      classify(
        "BMC 10.0.0.101:623 refused the login of user 'admin': wrong password (RAKP 2 key exchange code does not match)",
      ),
      "credentials",
    );
    assert.equal(classify("PDU 10.0.0.201:161 has no outlet 9"), "missing-outlet");
    assert.equal(classify("something else"), "failed");
  });

  it("node up: online in the status section; every node when the CIB has none", () => {
    assert.equal(nodeUp(contextOf(parseCib(twoNode)), "node1"), true);
    const noStatus = contextOf(parseCib(twoNode.replace(/<status>[\s\S]*<\/status>/, "<status/>")));
    assert.equal(nodeUp(noStatus, "node2"), true);
    const down = contextOf(
      parseCib(
        twoNode.replace(
          'uname="node2" in_ccm="true" crmd="online"',
          'uname="node2" in_ccm="false" crmd="offline"',
        ),
      ),
    );
    assert.equal(nodeUp(down, "node2"), false);
  });

  it("asks each BMC once and each outlet once, options on stdin only, at most `jobs` at once", async () => {
    const ctx = contextOf(parseCib(twoNode));
    const calls: { agent: string; stdin: string }[] = [];
    let running = 0;
    let most = 0;
    const result = await probeDevices(ctx, {
      agentDir: "/opt/kvmha",
      timeoutMs: 1000,
      jobs: 2,
      runScripts: true,
      runner: async (agent, stdin) => {
        running++;
        most = Math.max(most, running);
        calls.push({ agent, stdin });
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return ok();
      },
    });
    assert.deepEqual(result.findings, []);
    assert.ok(most <= 2, `at most 2 at once, saw ${most}`);
    const asked = calls
      .map(
        (c) =>
          `${c.agent} ${/action=(\S+)/.exec(c.stdin)?.[1]} ${/plug=(\S+)/.exec(c.stdin)?.[1] ?? "-"} ${/ip=(\S+)/.exec(c.stdin)?.[1]}`,
      )
      .sort();
    assert.deepEqual(asked, [
      "/opt/kvmha/fence_ipmi status - 10.0.0.101",
      "/opt/kvmha/fence_ipmi status - 10.0.0.102",
      "/opt/kvmha/fence_pdu monitor - 10.0.0.201",
      "/opt/kvmha/fence_pdu monitor - 10.0.0.202",
      "/opt/kvmha/fence_pdu status 3 10.0.0.201",
      "/opt/kvmha/fence_pdu status 3 10.0.0.202",
      "/opt/kvmha/fence_pdu status 4 10.0.0.201",
      "/opt/kvmha/fence_pdu status 4 10.0.0.202",
    ]);
    for (const c of calls) assert.doesNotMatch(c.stdin, /pcmk_/);
  });

  it("a device that fails its first question is not asked about outlets; one finding for it", async () => {
    const ctx = contextOf(parseCib(twoNode));
    const calls: string[] = [];
    const result = await probeDevices(ctx, {
      agentDir: "/x",
      timeoutMs: 1000,
      jobs: 4,
      runScripts: true,
      runner: async (_agent, stdin) => {
        calls.push(stdin);
        if (stdin.includes("ip=10.0.0.201"))
          return {
            code: 1,
            stdout: "",
            stderr: "ERROR: no answer from PDU 10.0.0.201:161 within 3 s\n",
            timedOut: false,
            spawnError: undefined,
          };
        return ok();
      },
    });
    assert.deepEqual(
      result.findings.map((f) => [f.id, f.subject.id]),
      [["probe-unreachable", "fence-pdu-pdu-a"]],
    );
    assert.equal(calls.filter((c) => c.includes("ip=10.0.0.201")).length, 1);
    assert.deepEqual(
      result.outcomes.map((o) => o.result),
      ["ok", "ok", "problem", "ok"],
    );
  });

  it("each kind of answer becomes its finding", async () => {
    const fail = (stderr: string, code = 1): AgentRun => ({
      code,
      stdout: "",
      stderr,
      timedOut: false,
      spawnError: undefined,
    });
    const ids = async (xml: string, answer: (stdin: string) => AgentRun) =>
      (
        await probeDevices(contextOf(parseCib(xml)), {
          agentDir: "/x",
          timeoutMs: 1000,
          jobs: 1,
          runScripts: true,
          runner: (_agent, stdin) => Promise.resolve(answer(stdin)),
        })
      ).findings.map((f) => [f.id, f.subject.id]);
    const bmc1 = (stdin: string) => stdin.includes("ip=10.0.0.101");
    assert.deepEqual(
      await ids(twoNode, (i) =>
        bmc1(i) ? fail("ERROR: BMC refused the login of user 'admin': wrong password\n") : ok(),
      ),
      [["probe-credentials", "fence-ipmi-node1"]],
    );
    assert.deepEqual(
      await ids(twoNode, (i) => (bmc1(i) ? fail("ERROR: chassis said something odd\n") : ok())),
      [["probe-failed", "fence-ipmi-node1"]],
    );
    assert.deepEqual(await ids(twoNode, (i) => (bmc1(i) ? fail("", 2) : ok())), [
      ["probe-bmc-off", "fence-ipmi-node1"],
    ]);
    const outlet3 = (i: string) => i.includes("ip=10.0.0.201") && i.includes("plug=3");
    assert.deepEqual(await ids(twoNode, (i) => (outlet3(i) ? fail("", 2) : ok())), [
      ["probe-outlet-off", "fence-pdu-pdu-a"],
    ]);
    assert.deepEqual(
      await ids(twoNode, (i) =>
        outlet3(i) ? fail("ERROR: PDU 10.0.0.201:161 has no outlet 3\n") : ok(),
      ),
      [["probe-outlet-missing", "fence-pdu-pdu-a"]],
    );
    const evil = twoNode.replace(
      'name="community" value="private"',
      'name="community" value="private&#10;action=off"',
    );
    assert.deepEqual(await ids(evil, () => ok()), [["probe-unsafe-option", "fence-pdu-pdu-a"]]);
  });

  it("a short password never garbles the agent's reason (nothing searches the text for secrets)", async () => {
    const xml = twoNode.replace(
      '<nvpair id="fence-ipmi-node1-password_script" name="password_script" value="/etc/kvmha/ipmi-node1.pw"/>',
      '<nvpair id="fence-ipmi-node1-password" name="password" value="a"/>',
    );
    const reason =
      "no answer from BMC 10.0.0.101:623 within 5 s (Get Channel Authentication Capabilities)";
    const result = await probeDevices(contextOf(parseCib(xml)), {
      agentDir: "/x",
      timeoutMs: 1000,
      jobs: 1,
      runScripts: true,
      runner: (_a, stdin) =>
        Promise.resolve(
          stdin.includes("ip=10.0.0.101")
            ? {
                code: 1,
                stdout: "",
                stderr: `ERROR: ${reason}\n`,
                timedOut: false,
                spawnError: undefined,
              }
            : ok(),
        ),
    });
    assert.deepEqual(
      result.findings.map((f) => f.message),
      [`BMC 10.0.0.101 did not answer: ${reason}`],
    );
  });

  it("a CIB file's commands are not run, nor this node's cibsecrets sent, without --run-scripts", async () => {
    const xml = twoNode
      .replace(
        'name="community" value="private"/>\n          <nvpair id="fence-pdu-pdu-a-pcmk_host_map"',
        'name="community" value="lrm://"/>\n          <nvpair id="fence-pdu-pdu-a-pcmk_host_map"',
      )
      .replace(
        'name="community" value="private"/>\n          <nvpair id="fence-pdu-pdu-b-pcmk_host_map"',
        'name="Community-Script" value="/bin/cat /etc/kvmha/pdu-b"/>\n          <nvpair id="fence-pdu-pdu-b-pcmk_host_map"',
      );
    const asked: string[] = [];
    const options: ProbeOptions = {
      agentDir: "/x",
      timeoutMs: 1000,
      jobs: 1,
      secret: () => "s3cret",
      runner: async (_a, stdin) => (asked.push(stdin), ok()),
    };
    const result = await probeDevices(contextOf(parseCib(xml)), options);
    assert.deepEqual(result.findings, []);
    assert.deepEqual(asked, [], "no agent was run");
    assert.deepEqual(
      result.outcomes.map((o) => [o.device, o.result, o.detail]),
      [
        [
          "fence-ipmi-node1",
          "skipped",
          "'password_script' would run a command this file names: give --run-scripts to run it",
        ],
        [
          "fence-ipmi-node2",
          "skipped",
          "'password_script' would run a command this file names: give --run-scripts to run it",
        ],
        [
          "fence-pdu-pdu-a",
          "skipped",
          "'community' is kept by cibsecrets, and this node's secret would go to the address this file names: give --run-scripts to send it",
        ],
        [
          "fence-pdu-pdu-b",
          "skipped",
          "'Community-Script' would run a command this file names: give --run-scripts to run it",
        ],
      ],
    );
    // With --run-scripts (or the live CIB) they are asked.
    await probeDevices(contextOf(parseCib(xml)), { ...options, runScripts: true });
    assert.equal(asked.filter((i) => /action=(status|monitor)\n$/.test(i)).length, 4);
  });

  it("debug_file never reaches an agent: the probe writes no file", () => {
    const xml = twoNode.replace(
      'name="community" value="private"/>',
      'name="community" value="private"/><nvpair id="d1" name="debug_file" value="/etc/cron.d/x"/><nvpair id="d2" name="debug" value="/etc/x"/>',
    );
    const pdu = parseCib(xml).primitives.find((p) => p.id === "fence-pdu-pdu-a");
    assert.ok(pdu);
    assert.deepEqual(stdinFor(pdu, "status", "3"), {
      stdin: "ip=10.0.0.201\nsnmp_version=2c\ncommunity=private\naction=status\nplug=3\n",
    });
  });

  it("--libvirt-uri: each node's libvirt asked read-only; autostart an error, defined a warning, no answer a warning", async () => {
    const ctx = contextOf(
      parseCib(
        twoNode.replace(
          "</resources>",
          '<primitive id="web1" class="ocf" provider="kvmha" type="VirtualDomain"><instance_attributes id="web1-ia"><nvpair id="web1-c" name="config" value="/srv/vm/web1.xml"/></instance_attributes></primitive><primitive id="db1" class="ocf" provider="heartbeat" type="VirtualDomain"><instance_attributes id="db1-ia"><nvpair id="db1-c" name="config" value="/srv/vm/db1.xml"/></instance_attributes></primitive></resources>',
        ),
      ),
    );
    const asked: string[] = [];
    const answers: Record<string, AgentRun> = {
      "qemu+ssh://node1/system --persistent": ok("web1\nother\n"),
      "qemu+ssh://node1/system --autostart": ok("\n"),
      "qemu+ssh://node2/system --persistent": ok("database\n"),
      "qemu+ssh://node2/system --autostart": ok("database\n"),
    };
    const run: VirshRunner = async (args) => {
      asked.push(args.join(" "));
      const key = `${args[2] ?? ""} ${args[5] ?? ""}`;
      return (
        answers[key] ?? {
          code: 1,
          stdout: "",
          stderr: "error: failed to connect to the hypervisor",
          timedOut: false,
          spawnError: undefined,
        }
      );
    };
    const found = await probeGuestDefinitions(ctx, {
      uriPattern: "qemu+ssh://%n/system",
      timeoutMs: 1000,
      run,
      domainOf: (f) => (f === "/srv/vm/db1.xml" ? "database" : undefined),
    });
    for (const f of found) produced.add(f.id);
    assert.ok(
      asked.every((a) => a.startsWith("-r -c qemu+ssh://node")),
      asked.join("\n"),
    );
    assert.deepEqual(found.map((f) => `${f.severity} ${f.id} ${f.subject.id}`).sort(), [
      "error probe-guest-autostart db1",
      "warning probe-guest-defined web1",
    ]);
    const auto = found.find((f) => f.id === "probe-guest-autostart")!;
    assert.match(auto.message, /db1 \(domain database\) is marked autostart in libvirt on node2/);
    assert.equal(
      auto.hint,
      "virsh -c qemu+ssh://node2/system autostart --disable database; virsh -c qemu+ssh://node2/system undefine database (the cluster starts it from its config= file)",
    );
    // A node whose libvirt does not answer: said, never taken for "nothing defined there".
    const silent = await probeGuestDefinitions(ctx, {
      uriPattern: "qemu+tcp://%n-down/system",
      timeoutMs: 1000,
      run,
    });
    for (const f of silent) produced.add(f.id);
    assert.deepEqual(
      silent.map((f) => `${f.id} ${f.subject.id}`),
      ["probe-libvirt-failed node1", "probe-libvirt-failed node2"],
    );
    assert.match(silent[0]!.message, /did not answer: exit 1: error: failed to connect/);
  });

  // Tests run in order: this one, last in the file, sees what every test above produced.
  it("every finding of the probe was produced by a test above", () => {
    const untested = PROBE_FINDING_IDS.filter((id) => !produced.has(id));
    assert.deepEqual(untested, [], `probe findings without a test: ${untested.join(", ")}`);
  });
});
