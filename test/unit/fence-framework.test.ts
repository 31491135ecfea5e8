import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FenceAgent, PowerState } from "../../lib/fence/agent.js";
import { FenceFailure } from "../../lib/fence/errors.js";
import { standard } from "../../lib/fence/options.js";
import { OptionIndex, parseArgv, parseStdin } from "../../lib/fence/parse.js";
import { agentOptions } from "../../lib/fence/run.js";
import { runAgent } from "../lab/run-agent.js";
import { fencePdu } from "../../fence/fence_pdu.js";

/**
 * A device of outlets in memory: the framework's loop is what is under test here. Real devices
 * are tested against real simulators in test/integration.
 */
class Outlets {
  state = new Map<string, PowerState>([
    ["1", "on"],
    ["2", "on"],
    ["3", "on"],
  ]);
  stuck = new Set<string>();
  /** Plugs whose switch takes effect only after this many reads. */
  lag = 0;
  calls: string[] = [];
  connectError: Error | undefined;
  private pending: { plug: string; target: "on" | "off"; reads: number }[] = [];

  agent(extra: Partial<FenceAgent<Outlets>> = {}): FenceAgent<Outlets> {
    return {
      docs: { name: "fence_test", shortdesc: "test", longdesc: "test agent", vendorUrl: "" },
      options: [standard.ip, standard.username, standard.password, standard.password_script],
      plugs: "many",
      required: ["ip"],
      needsPassword: true,
      device: {
        connect: async () => {
          this.calls.push("connect");
          if (this.connectError) throw this.connectError;
          return this;
        },
        getPowerState: async (_s, plug) => {
          this.calls.push(`get ${plug}`);
          for (const p of this.pending) p.reads += 1;
          for (const p of this.pending.filter((x) => x.reads > this.lag))
            this.state.set(p.plug, p.target);
          this.pending = this.pending.filter((x) => x.reads <= this.lag);
          return this.state.get(plug ?? "") ?? "unknown";
        },
        setPowerState: async (_s, plug, target) => {
          this.calls.push(`set ${plug} ${target}`);
          if (!this.stuck.has(plug ?? ""))
            this.pending.push({ plug: plug ?? "", target, reads: 0 });
        },
        listPlugs: async () =>
          [...this.state].map(([plug, state]) => ({ plug, alias: `outlet${plug}`, state })),
        disconnect: async () => {
          this.calls.push("disconnect");
        },
      },
      ...extra,
    };
  }
}

const run = runAgent;

const BASE = ["-a", "pdu1", "-l", "admin", "-p", "s3cret-pw"];

describe("option input", () => {
  const index = new OptionIndex(agentOptions(new Outlets().agent()));

  it("parses GNU short, clustered, long and prefixed options", () => {
    const raw = parseArgv(
      ["-a10.0.0.1", "--user=root", "-vvq", "--password", "x", "--plug", "3", "-o", "off"],
      index,
    );
    assert.equal(raw.values.get("ip"), "10.0.0.1");
    assert.equal(raw.values.get("username"), "root");
    assert.equal(raw.values.get("password"), "x");
    assert.equal(raw.values.get("plug"), "3");
    assert.equal(raw.values.get("quiet"), "1");
    assert.equal(raw.verboseCount, 2);
  });

  it("rejects unknown and ambiguous options with a usage error", () => {
    assert.throws(() => parseArgv(["--no-such"], index), /not recognized/);
    assert.throws(() => parseArgv(["-Z"], index), /not recognized/);
    assert.throws(() => parseArgv(["--p", "1"], index), /ambiguous/);
    assert.throws(() => parseArgv(["-a"], index), /requires argument/);
  });

  it("reads key=value lines: comments, aliases, last duplicate wins, booleans", () => {
    const raw = parseStdin(
      [
        "# comment",
        "ipaddr=10.0.0.1",
        "login=root",
        "passwd=one",
        "passwd=two",
        "port=4",
        "verbose=yes",
        "nodename=n1",
        "quiet=maybe",
        "  ",
        "power-timeout=7",
      ].join("\n"),
      index,
    );
    assert.equal(raw.values.get("ip"), "10.0.0.1");
    assert.equal(raw.values.get("username"), "root");
    assert.equal(raw.values.get("password"), "two");
    assert.equal(raw.values.get("plug"), "4");
    assert.equal(raw.values.get("verbose"), "1");
    assert.equal(raw.values.get("nodename"), "n1");
    assert.equal(raw.values.get("power_timeout"), "7");
    assert.equal(raw.verboseCount, 1);
    assert.equal(raw.values.has("quiet"), false);
    assert.equal(raw.warnings.length, 1);
  });

  it("warns about unknown stdin keys and stray lines without echoing values", () => {
    const raw = parseStdin("pasword=hunter2\nip=1.2.3.4\nhunter3\n", index);
    assert.deepEqual(raw.warnings, [
      "Parse error: Ignoring unknown option 'pasword'",
      "Parse error: Ignoring a line without '='",
    ]);
  });
});

describe("the verify-after-act loop", () => {
  it("reports status with exit 0 for on and 2 for off", async () => {
    const dev = new Outlets();
    assert.deepEqual(await run(dev.agent(), [...BASE, "-n", "1", "-o", "status"]), {
      code: 0,
      out: "Status: ON\n",
      err: "",
      syslog: [],
    });
    dev.state.set("1", "off");
    assert.equal((await run(dev.agent(), [...BASE, "-n", "1", "-o", "status"])).code, 2);
  });

  it("switches off and reads the state back before reporting success", async () => {
    const dev = new Outlets();
    dev.lag = 2;
    const r = await run(dev.agent(), [...BASE, "-n", "2", "-o", "off"]);
    assert.equal(r.code, 0);
    assert.equal(r.out, "Success: Powered OFF\n");
    assert.equal(dev.state.get("2"), "off");
    assert.deepEqual(dev.calls.slice(0, 3), ["connect", "get 2", "set 2 off"]);
    assert.equal(dev.calls.at(-1), "disconnect");
  });

  it("switches and verifies every plug of a list, each once", async () => {
    const dev = new Outlets();
    const r = await run(dev.agent(), [...BASE, "-n", "1,3,3", "-o", "off"]);
    assert.equal(r.code, 0);
    assert.equal(dev.state.get("1"), "off");
    assert.equal(dev.state.get("3"), "off");
    assert.equal(dev.state.get("2"), "on");
    assert.deepEqual(
      dev.calls.filter((c) => c.startsWith("set")),
      ["set 1 off", "set 3 off"],
    );
  });

  it("fails when one plug of a list never goes off", async () => {
    const dev = new Outlets();
    dev.stuck.add("3");
    const r = await run(dev.agent(), [...BASE, "-n", "1,3", "-o", "off", "--power-timeout", "0.3"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /ERROR: Failed: Timed out waiting to power OFF \(plug 3 still on\)/);
    assert.equal(r.out, "");
  });

  it("tries on retry_on times, as fence-agents counts it (default: once)", async () => {
    for (const [retryOn, expected] of [
      [undefined, 1],
      ["3", 3],
    ] as const) {
      const dev = new Outlets();
      dev.state.set("2", "off");
      dev.stuck.add("2");
      const extra = retryOn === undefined ? [] : ["--retry-on", retryOn];
      const agent = dev.agent({
        options: [standard.ip, standard.username, standard.password, standard.retry_on],
      });
      const r = await run(agent, [
        ...BASE,
        "-n",
        "2",
        "-o",
        "on",
        "--power-timeout",
        "0.2",
        ...extra,
      ]);
      assert.equal(r.code, 1);
      assert.equal(dev.calls.filter((c) => c === "set 2 on").length, expected);
    }
  });

  it("never treats an unknown state as off", async () => {
    const dev = new Outlets();
    dev.state.set("2", "unknown");
    for (const action of ["status", "off", "reboot"]) {
      const r = await run(dev.agent(), [...BASE, "-n", "2", "-o", action]);
      assert.equal(r.code, 1, action);
      assert.match(r.err, /neither on nor off/);
      assert.deepEqual(
        dev.calls.filter((c) => c.startsWith("set")),
        [],
      );
    }
  });

  it("says Already OFF without switching", async () => {
    const dev = new Outlets();
    dev.state.set("1", "off");
    const r = await run(dev.agent(), [...BASE, "-n", "1", "-o", "off"]);
    assert.equal(r.out, "Success: Already OFF\n");
    assert.deepEqual(
      dev.calls.filter((c) => c.startsWith("set")),
      [],
    );
  });

  it("reboots as verified off then on; success rests on the off", async () => {
    const dev = new Outlets();
    let r = await run(dev.agent(), [...BASE, "-n", "1", "-o", "reboot"]);
    assert.equal(r.code, 0);
    assert.equal(r.out, "Success: Rebooted\n");
    assert.deepEqual(
      dev.calls.filter((c) => c.startsWith("set")),
      ["set 1 off", "set 1 on"],
    );

    const stuckOn = new Outlets();
    stuckOn.state.set("1", "off");
    stuckOn.stuck.add("1");
    r = await run(stuckOn.agent(), [...BASE, "-n", "1", "-o", "reboot", "--power-timeout", "0.2"]);
    assert.equal(r.code, 0, "off is proven, so the reboot fenced even though on failed");
    assert.match(r.err, /Timed out waiting to power ON/);

    const stuckOff = new Outlets();
    stuckOff.stuck.add("1");
    r = await run(stuckOff.agent(), [...BASE, "-n", "1", "-o", "reboot", "--power-timeout", "0.2"]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.out, /Success/);
  });

  it("lists plugs with their real states", async () => {
    const dev = new Outlets();
    dev.state.set("2", "off");
    const r = await run(dev.agent(), [...BASE, "-o", "list-status"]);
    assert.equal(r.out, "1,outlet1,ON\n2,outlet2,OFF\n3,outlet3,ON\n");
  });

  it("maps device failures to exit 1 and one line", async () => {
    const dev = new Outlets();
    dev.connectError = new FenceFailure("no answer from 127.0.0.1:623 within 1 s");
    const r = await run(dev.agent(), [...BASE, "-n", "1", "-o", "off"]);
    assert.equal(r.code, 1);
    assert.equal(r.err, "ERROR: no answer from 127.0.0.1:623 within 1 s\n");
  });

  it("a secret interpolated into a message prints as [hidden]; as text it cannot be read", async () => {
    const dev = new Outlets();
    const agent = dev.agent();
    const r = await run(
      {
        ...agent,
        device: {
          ...agent.device,
          connect: async (ctx) => {
            assert.throws(() => ctx.options.string("password"), /secret: read it with secret\(\)/);
            throw new FenceFailure(`device said: bad password ${ctx.options.secret("password")}`);
          },
        },
      },
      [...BASE, "-n", "1", "-o", "off", "-vvv"],
    );
    assert.doesNotMatch(r.err + r.out, /s3cret-pw/);
    assert.match(r.err, /ERROR: device said: bad password \[hidden\]\n$/);
  });

  it("hides secrets and password scripts in the debug dump of options", async () => {
    const dev = new Outlets();
    const r = await run(
      dev.agent(),
      [],
      "ip=pdu\nplug=1\naction=status\npassword=visible-pw\npassword_script=echo script-pw\nverbose_level=3\n",
    );
    assert.match(r.err, /password=\[hidden\]/);
    assert.match(r.err, /password_script=\[hidden\]/);
    assert.doesNotMatch(r.err, /visible-pw|script-pw/);
  });

  it("takes the password from password_script, and hides it", async () => {
    const dev = new Outlets();
    let seen = "";
    const agent = dev.agent();
    const r = await run(
      {
        ...agent,
        device: {
          ...agent.device,
          connect: async (ctx) => {
            seen = ctx.options.secret("password")?.reveal() ?? "";
            throw new FenceFailure(`login refused for ${ctx.options.secret("password")}`);
          },
        },
      },
      [],
      "ip=pdu\nplug=1\naction=off\npassword_script=echo from-script\n",
    );
    assert.equal(seen, "from-script");
    assert.doesNotMatch(r.err, /from-script/);
  });

  it("validates input with clear errors and exit 1", async () => {
    const dev = new Outlets();
    assert.match(
      (await run(dev.agent(), ["-l", "x", "-p", "y", "-n", "1"])).err,
      /You have to enter fence address/,
    );
    assert.match(
      (await run(dev.agent(), ["-a", "x", "-n", "1"])).err,
      /password or password script/,
    );
    assert.match((await run(dev.agent(), [...BASE, "-o", "off"])).err, /plug number/);
    assert.match(
      (await run(dev.agent(), [...BASE, "-o", "explode"])).err,
      /Unrecognised action 'explode'/,
    );
    assert.match(
      (await run(dev.agent(), [...BASE, "--power-timeout", "soon"])).err,
      /not a valid time in seconds/,
    );
    assert.equal((await run(dev.agent(), [...BASE, "-o", "validate-all"])).code, 0);
    assert.equal(dev.calls.length, 0, "validation never talks to the device");
  });

  it("prints metadata, usage and version without touching the device", async () => {
    const dev = new Outlets();
    const meta = await run(dev.agent(), ["-o", "meta-data"]);
    assert.equal(meta.code, 0);
    assert.match(meta.out, /^<\?xml version="1.0" \?>\n<resource-agent name="fence_test"/);
    assert.match(meta.out, /<parameter name="ip" unique="0" required="0" obsoletes="ipaddr">/);
    assert.match(meta.out, /<parameter name="ipaddr" unique="0" required="0" deprecated="1">/);
    assert.match(meta.out, /<action name="list-status" \/>/);
    assert.equal((await run(dev.agent(), ["-h"])).code, 0);
    assert.match((await run(dev.agent(), ["-V"])).out, /^\d+\.\d+\.\d+/);
    assert.deepEqual(dev.calls, []);
  });
});

describe("fence_pdu's community_script", () => {
  /** fence_pdu with its device replaced: what reaches connect() is under test, not SNMP. */
  async function runPdu(
    stdin: string,
  ): Promise<{ code: number; out: string; err: string; community: string | undefined }> {
    let community: string | undefined;
    const agent: FenceAgent<Outlets> = {
      ...(fencePdu as unknown as FenceAgent<Outlets>),
      device: {
        ...new Outlets().agent().device,
        connect: async (ctx) => {
          community = ctx.options.secret("community")?.reveal();
          throw new FenceFailure(`no answer (community ${ctx.options.secret("community")})`);
        },
      },
    };
    return { ...(await runAgent(agent, [], stdin)), community };
  }

  it("gives the agent the script's first line as the community, and wins over community", async () => {
    const r = await runPdu(
      "ip=pdu\nplug=1\naction=off\nsnmp_version=2c\ncommunity=from-cib\ncommunity_script=printf 'from-script\\nsecond\\n'\nverbose_level=3\n",
    );
    assert.equal(r.community, "from-script");
    assert.equal(r.code, 1);
    assert.match(r.err, /WARNING: community is ignored: community_script is set and wins/);
    assert.match(r.err, /community=\[hidden\]/);
    assert.match(r.err, /community_script=\[hidden\]/);
    // Neither the script's output (even inside an error message) nor the given community is written.
    assert.doesNotMatch(r.err + r.out, /from-script|from-cib|printf/);
  });

  it("without community_script the community option (or its default) is used", async () => {
    assert.equal(
      (await runPdu("ip=pdu\nplug=1\naction=off\nsnmp_version=2c\n")).community,
      "private",
    );
    assert.equal(
      (await runPdu("ip=pdu\nplug=1\naction=off\ncommunity=given\n")).community,
      "given",
    );
  });

  it("a failing or silent script is one line and exit 1, before the device is reached", async () => {
    for (const [script, message] of [
      ["exit 3", "ERROR: community_script exited with status 3\n"],
      ["true", "ERROR: community_script printed nothing on its first line\n"],
    ] as const) {
      const r = await runPdu(`ip=pdu\nplug=1\naction=off\ncommunity_script=${script}\n`);
      assert.equal(r.code, 1);
      assert.equal(r.err, message);
      assert.equal(r.community, undefined, "connect never called");
    }
  });

  it("is refused with SNMPv3 (exit 1, one line), and advertised in metadata", async () => {
    const r = await runPdu(
      "ip=pdu\nplug=1\naction=off\nsnmp_version=3\nusername=u\ncommunity_script=echo x\n",
    );
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      "ERROR: Failed: community_script is for SNMP v1 and v2c; SNMPv3 uses username and password_script\n",
    );
    const meta = await runPdu("action=metadata\n");
    assert.match(meta.out, /<parameter name="community_script" unique="0" required="0">/);
    assert.equal(
      agentOptions(fencePdu).find((o) => o.name === "community_script")?.scriptFor,
      "community",
    );
  });
});

describe("logging: what -v, -vv, --quiet and syslog get", () => {
  async function logged(args: string[], device = new Outlets()) {
    return runAgent(device.agent(), args);
  }
  const STAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} /;

  it("-v: each step (connect, login, status, command, read-back), timestamped", async () => {
    const r = await logged([...BASE, "-n", "2", "-o", "off", "-v"]);
    assert.equal(r.code, 0, r.err);
    const lines = r.err.trimEnd().split("\n");
    for (const line of lines) assert.match(line, STAMP);
    const text = lines.map((l) => l.replace(STAMP, "")).join("\n");
    assert.match(text, /^INFO: Connecting to pdu1 plug 2 \(login_timeout 5 s\)$/m);
    assert.match(text, /^INFO: Logged in to pdu1 plug 2$/m);
    assert.match(text, /^INFO: Status of plug 2: ON$/m);
    assert.match(text, /^INFO: Sending power OFF of plug 2$/m);
    assert.match(text, /^INFO: Power OFF of plug 2 accepted by the device$/m);
    assert.match(text, /^INFO: Read back OFF after \d+\.\d\d s$/m);
    assert.doesNotMatch(text, /DEBUG/);
    // syslog gets the same lines, each naming the action and the device.
    assert.ok(r.syslog.length >= 6);
    for (const line of r.syslog) assert.match(line, /^fence_test info off of pdu1 plug 2: INFO: /);
  });

  it("verbosity 0: nothing but warnings and errors; -vv adds the debug lines", async () => {
    assert.equal((await logged([...BASE, "-n", "2", "-o", "off"])).err, "");
    assert.deepEqual((await logged([...BASE, "-n", "2", "-o", "off"])).syslog, []);
    const vv = await logged([...BASE, "-n", "2", "-o", "off", "-vv"]);
    assert.match(vv.err, /DEBUG: Read back: OFF of plug 2/);
  });

  it("a failure: one plain ERROR line on stderr; syslog names the step, with --quiet too", async () => {
    const dev = new Outlets();
    dev.stuck.add("1");
    const r = await logged([...BASE, "-n", "1", "-o", "off", "--power-timeout=0.2", "-q"], dev);
    assert.equal(r.code, 1);
    assert.equal(r.err, "");
    assert.deepEqual(r.syslog, [
      "fence_test error off of pdu1 plug 1, failed while reading back power OFF: ERROR: Failed: Timed out waiting to power OFF (plug 1 still on)",
    ]);
    const loud = await logged([...BASE, "-n", "1", "-o", "off", "--power-timeout=0.2"], dev);
    assert.equal(loud.err, "ERROR: Failed: Timed out waiting to power OFF (plug 1 still on)\n");
  });

  it("bytes from a device or from stdin never reach a terminal or a log raw", async () => {
    const dev = new Outlets();
    dev.connectError = new FenceFailure("device said \u001b[2J\u0007 and\rforged line \u009b");
    const r = await logged([...BASE, "-n", "1", "-o", "off"], dev);
    assert.equal(r.err, "ERROR: device said \\x1b[2J\\x07 and\\x0dforged line \\x9b\n");
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(r.syslog.join(""), /[\u0000-\u001f\u007f-\u009f]/);
  });
});
