import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { OcfAgent } from "../../lib/ocf/agent.js";
import {
  OcfExit,
  OcfGenericError,
  OcfNotConfigured,
  OcfNotInstalled,
} from "../../lib/ocf/codes.js";
import { haDate } from "../../lib/ocf/log.js";
import { parseTimeMs } from "../../lib/ocf/params.js";
import { type OcfIo, cutoffMarginMs, runOcfAgent } from "../../lib/ocf/run.js";
import { dummy } from "./ocf-dummy.js";
import { assertBefore, assertWaited } from "../lab/bounds.js";

interface Run {
  code: number;
  out: string;
  err: string;
  syslog: string[];
}

function io(opts: { tty?: boolean } = {}): OcfIo & { result: Omit<Run, "code"> } {
  const result = { out: "", err: "", syslog: [] as string[] };
  return {
    result,
    out: (t) => {
      result.out += t;
    },
    err: (t) => {
      result.err += t;
    },
    stderrIsTty: () => opts.tty ?? false,
    syslog: (facility, level, tag, message) => {
      result.syslog.push(`${facility}.${level} ${tag} ${message}`);
    },
    startedAt: () => Date.now(),
    pid: 4242,
  };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "ocf-test-"));
}

async function run(
  agent: OcfAgent,
  args: string[],
  env: Record<string, string> = {},
  opts: { tty?: boolean } = {},
): Promise<Run> {
  const sink = io(opts);
  const base = {
    OCF_ROOT: "/usr/lib/ocf",
    OCF_RESOURCE_INSTANCE: "d1",
    HA_RSCTMP: tmp(),
    PATH: process.env.PATH ?? "",
  };
  const code = await runOcfAgent(agent, args, { ...base, ...env }, sink);
  return { code, ...sink.result };
}

describe("OCF exit codes and errors", () => {
  it("has the OCF numbers", () => {
    assert.deepEqual(Object.values(OcfExit), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191]);
    assert.equal(new OcfNotConfigured("x").exitCode, 6);
    assert.equal(new OcfNotInstalled("x").exitCode, 5);
    assert.equal(new OcfGenericError("x").name, "OcfGenericError");
  });
});

describe("OCF runner: the Dummy example agent", () => {
  it("start, monitor, stop through the state file under HA_RSCTMP", async () => {
    const rsc = tmp();
    const env = { HA_RSCTMP: rsc, OCF_RESKEY_CRM_meta_interval: "10000" };
    assert.equal((await run(dummy, ["monitor"], env)).code, OcfExit.NOT_RUNNING);
    const started = await run(dummy, ["start"], env);
    assert.equal(started.code, 0, started.err);
    assert.ok(existsSync(join(rsc, "Dummy-d1.state")));
    assert.equal((await run(dummy, ["monitor"], env)).code, 0);
    assert.equal((await run(dummy, ["stop"], env)).code, 0);
    assert.equal((await run(dummy, ["stop"], env)).code, 0, "stop of a stopped resource succeeds");
    assert.equal((await run(dummy, ["monitor"], env)).code, OcfExit.NOT_RUNNING);
  });

  it("an unknown or missing action: reason and usage on stderr, exit 3 (OCF_ERR_UNIMPLEMENTED)", async () => {
    const r = await run(dummy, ["frobnicate"]);
    assert.equal(r.code, OcfExit.ERR_UNIMPLEMENTED);
    assert.match(r.err, /^ocf-exit-reason:frobnicate: action not supported\n/);
    assert.match(
      r.err,
      /usage: Dummy \{start\|stop\|monitor\|migrate_to\|migrate_from\|meta-data\|validate-all\}\n/,
    );
    assert.equal(r.out, "");
    const none = await run(dummy, []);
    assert.equal(none.code, OcfExit.ERR_UNIMPLEMENTED);
    assert.match(none.err, /ocf-exit-reason:no action given/);
    const notify = await run(dummy, ["notify"]);
    assert.equal(notify.code, OcfExit.ERR_UNIMPLEMENTED, "an action the agent does not declare");
  });

  it("usage and help print on stdout and succeed", async () => {
    const r = await run(dummy, ["usage"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^usage: Dummy \{/);
  });

  it("meta-data needs no instance and no valid parameters", async () => {
    const r = await run(dummy, ["meta-data"], {
      OCF_RESOURCE_INSTANCE: "",
      OCF_RESKEY_op_sleep: "soon",
    });
    assert.equal(r.code, 0);
    assert.match(r.out, /<resource-agent name="Dummy"/);
  });

  it("a parameter of the wrong form is OCF_ERR_CONFIGURED for every action, secret values unnamed", async () => {
    const r = await run(dummy, ["stop"], { OCF_RESKEY_op_sleep: "soon" });
    assert.equal(r.code, OcfExit.ERR_CONFIGURED);
    assert.equal(
      r.err.split("\n")[0],
      "ocf-exit-reason:op_sleep: the value 'soon' is not a time (a number of seconds, or with a unit: ms, s, min, h)",
    );
    const b = await run(dummy, ["start"], { OCF_RESKEY_fail_validate: "maybe" });
    assert.equal(b.code, OcfExit.ERR_CONFIGURED);
  });

  it("a required parameter that is unset or empty: OCF_ERR_CONFIGURED, as ocf-rarun", async () => {
    const agent: OcfAgent = {
      ...dummy,
      parameters: [
        { name: "config", type: "string", required: true, shortdesc: "c", longdesc: "c" },
      ],
    };
    for (const env of [{}, { OCF_RESKEY_config: "" }] as Record<string, string>[]) {
      const r = await run(agent, ["monitor"], env);
      assert.equal(r.code, OcfExit.ERR_CONFIGURED);
      assert.match(r.err, /^ocf-exit-reason:config: required parameter not set\n/);
    }
  });

  it("a failed validation: stop succeeds, a probe finds it stopped, a monitor fails, start keeps the code", async () => {
    const env = { OCF_RESKEY_fail_validate: "yes", OCF_RESKEY_passwd: "s3cret-pw" };
    const stop = await run(dummy, ["stop"], env);
    assert.equal(stop.code, 0);
    assert.doesNotMatch(stop.err, /ocf-exit-reason/);
    assert.equal(
      (await run(dummy, ["monitor"], { ...env, OCF_RESKEY_CRM_meta_interval: "0" })).code,
      OcfExit.NOT_RUNNING,
    );
    const monitor = await run(dummy, ["monitor"], {
      ...env,
      OCF_RESKEY_CRM_meta_interval: "10000",
    });
    assert.equal(monitor.code, OcfExit.ERR_GENERIC);
    const start = await run(dummy, ["start"], env);
    assert.equal(start.code, OcfExit.ERR_CONFIGURED);
    assert.match(start.err, /^ocf-exit-reason:validation refused, passwd=\[hidden\]\n/);
    const all = [stop, monitor, start].map((r) => r.err).join("");
    assert.doesNotMatch(all, /s3cret-pw/);
    assert.equal((await run(dummy, ["validate-all"], env)).code, OcfExit.ERR_CONFIGURED);
    assert.equal((await run(dummy, ["validate-all"])).code, 0);
  });

  it("a missing required binary is OCF_ERR_INSTALLED, and mapped like a failed validation", async () => {
    const agent: OcfAgent = { ...dummy, requiredBinaries: ["no-such-binary-kvmha"] };
    const start = await run(agent, ["start"]);
    assert.equal(start.code, OcfExit.ERR_INSTALLED);
    assert.match(
      start.err,
      /^ocf-exit-reason:no-such-binary-kvmha: required binary not installed\n/,
    );
    assert.equal((await run(agent, ["stop"])).code, 0);
    assert.equal((await run({ ...dummy, requiredBinaries: ["sh"] }, ["start"])).code, 0);
  });

  it("Pacemaker's run without OCF_RESOURCE_INSTANCE is OCF_ERR_ARGS; by hand it is 'default'", async () => {
    const r = await run(dummy, ["monitor"], {
      OCF_RESOURCE_INSTANCE: "",
      OCF_RA_VERSION_MAJOR: "1",
    });
    assert.equal(r.code, OcfExit.ERR_ARGS);
    const rsc = tmp();
    assert.equal(
      (await run(dummy, ["start"], { OCF_RESOURCE_INSTANCE: "", HA_RSCTMP: rsc })).code,
      0,
    );
    assert.ok(existsSync(join(rsc, "Dummy-default.state")));
  });

  it("an action that outlives the op timeout is cut off before it, with ERR_GENERIC and a reason", async () => {
    const t0 = Date.now();
    const r = await run(dummy, ["start"], {
      OCF_RESKEY_op_sleep: "10s",
      OCF_RESKEY_CRM_meta_timeout: "1000",
    });
    const took = Date.now() - t0;
    assert.equal(r.code, OcfExit.ERR_GENERIC);
    assert.match(
      r.err,
      /^ocf-exit-reason:start did not finish in time: cut off 0\.5 s before its op timeout of 1 s\n/,
    );
    // Cut off at 0.5 s (timers may fire a few ms early), and never at Pacemaker's 1 s.
    assertWaited(took, 450, "the action runs until its cut-off");
    assertBefore(took, 1000, "the cut-off comes before the op timeout");
  });

  it("an action that throws something untyped: ERR_GENERIC, one line, no stack", async () => {
    const agent: OcfAgent = {
      ...dummy,
      actions: { start: { timeout: "5s", run: async () => JSON.parse("{") as undefined } },
    };
    const r = await run(agent, ["start"]);
    assert.equal(r.code, OcfExit.ERR_GENERIC);
    assert.equal(r.err.split("\n").length, 2);
    assert.match(r.err, /^ocf-exit-reason:internal error: /);
  });

  it("the context: probe, interval, check level, meta attributes, child environment", async () => {
    let seen: Record<string, unknown> = {};
    const agent: OcfAgent = {
      ...dummy,
      actions: {
        monitor: {
          timeout: "30s",
          run: async (ctx) => {
            seen = {
              probe: ctx.isProbe,
              interval: ctx.intervalMs,
              level: ctx.checkLevel,
              timeout: ctx.timeoutMs,
              target: ctx.meta("migrate_target"),
              lc: ctx.childEnv().LC_ALL,
              lang: ctx.childEnv().LANG,
              left: ctx.deadline.remainingMs(),
            };
          },
        },
      },
    };
    await run(agent, ["monitor"], {
      OCF_CHECK_LEVEL: "10",
      OCF_RESKEY_CRM_meta_migrate_target: "node2",
      LANG: "de_DE.UTF-8",
    });
    assert.deepEqual(
      { ...seen, left: undefined },
      {
        probe: true,
        interval: 0,
        level: 10,
        timeout: 30_000,
        target: "node2",
        lc: "C",
        lang: undefined,
        left: undefined,
      },
    );
    assert.ok(
      (seen.left as number) > 26_000 && (seen.left as number) <= 27_000,
      "30 s less the 3 s margin",
    );
    await run(agent, ["monitor"], {
      OCF_RESKEY_CRM_meta_interval: "15000",
      OCF_RESKEY_CRM_meta_timeout: "60000",
      OCF_RESKEY_OCF_CHECK_LEVEL: "20",
    });
    assert.equal(seen.probe, false);
    assert.equal(seen.interval, 15_000);
    assert.equal(seen.timeout, 60_000);
    assert.equal(seen.level, 20);
  });
});

describe("OCF logging", () => {
  const quietPasswd = { OCF_RESKEY_passwd: "pw-9913" };
  const loud: OcfAgent = {
    ...dummy,
    actions: {
      start: {
        timeout: "5s",
        run: async (ctx) => {
          ctx.log.info(`starting with ${ctx.params.secret("passwd") ?? ""}`);
          ctx.log.debug("a debug line");
          throw new OcfGenericError("could not start");
        },
      },
    },
  };

  it("without HA_LOGFILE or HA_LOGFACILITY: dated lines on stderr, the reason once, no debug", async () => {
    const r = await run(loud, ["start"], quietPasswd);
    const lines = r.err.trimEnd().split("\n");
    assert.equal(lines.length, 2, r.err);
    assert.match(
      lines[0] as string,
      /^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d INFO: starting with \[hidden\]$/,
    );
    assert.equal(lines[1], "ocf-exit-reason:could not start");
  });

  it("HA_debug shows debug lines; OCF_EXIT_REASON_PREFIX changes the prefix", async () => {
    const r = await run(loud, ["start"], {
      ...quietPasswd,
      HA_debug: "1",
      OCF_EXIT_REASON_PREFIX: "REASON=",
    });
    assert.match(r.err, /DEBUG: a debug line/);
    assert.match(r.err, /^REASON=could not start$/m);
  });

  it("on a terminal: TAG: LEVEL: message", async () => {
    const r = await run(loud, ["start"], quietPasswd, { tty: true });
    assert.match(r.err, /^Dummy\(d1\)\[4242\]: INFO: starting with \[hidden\]$/m);
  });

  it("HA_LOGFILE and HA_LOGFACILITY take the lines off stderr; the reason stays there", async () => {
    const dir = tmp();
    const logFile = join(dir, "ha.log");
    const r = await run(loud, ["start"], {
      ...quietPasswd,
      HA_LOGFILE: logFile,
      HA_LOGFACILITY: "daemon",
      HA_DEBUGLOG: join(dir, "debug.log"),
      HA_debug: "1",
    });
    assert.equal(r.err, "ocf-exit-reason:could not start\n");
    const text = readFileSync(logFile, "utf8");
    assert.match(
      text,
      /^[A-Z][a-z]{2} \d\d [\d:]{8} Dummy\(d1\)\[4242\]: {4}INFO: starting with \[hidden\]$/m,
    );
    assert.match(text, /ERROR: could not start$/m);
    assert.doesNotMatch(text, /DEBUG/);
    assert.match(
      readFileSync(join(dir, "debug.log"), "utf8"),
      /^Dummy\(d1\)\[4242\]:\t.*DEBUG: a debug line$/m,
    );
    assert.deepEqual(r.syslog, [
      "daemon.debug Dummy(d1)[4242] DEBUG: start: fake=dummy op_sleep=0 passwd=[hidden] fail_validate=false",
      "daemon.info Dummy(d1)[4242] INFO: starting with [hidden]",
      "daemon.debug Dummy(d1)[4242] DEBUG: a debug line",
      "daemon.err Dummy(d1)[4242] ERROR: could not start",
    ]);
    const none = await run(loud, ["start"], { HA_LOGFACILITY: "none" });
    assert.deepEqual(none.syslog, []);
  });

  it("OCF_TRACE_RA traces steps and the environment to HA_VARLIB/trace_ra/<agent>/<instance>.<action>.<stamp>", async () => {
    const varLib = tmp();
    const r = await run(loud, ["start"], { ...quietPasswd, OCF_TRACE_RA: "1", HA_VARLIB: varLib });
    assert.equal(r.code, OcfExit.ERR_GENERIC);
    const dir = join(varLib, "trace_ra", "Dummy");
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0] as string, /^d1\.start\.\d{4}-\d\d-\d\d\.\d\d:\d\d:\d\d$/);
    const text = readFileSync(join(dir, files[0] as string), "utf8");
    assert.match(text, /^\+ [\d:.]+: env OCF_RESKEY_passwd=\[hidden\]$/m);
    assert.match(text, /DEBUG: a debug line/, "debug lines are traced even when HA_debug is off");
    assert.match(text, /exit 1$/m);
    assert.doesNotMatch(text, /pw-9913/);
    const file = join(tmp(), "t.trace");
    await run(loud, ["start"], { OCF_RESKEY_trace_ra: "yes", OCF_TRACE_FILE: file });
    assert.match(readFileSync(file, "utf8"), /start: running/);
  });

  it("haDate is HA_DATEFMT's default shape", () => {
    assert.equal(haDate(new Date(2024, 0, 5, 7, 8, 9)), "Jan 05 07:08:09 ");
  });
});

describe("OCF values", () => {
  it("times: seconds by default, Pacemaker's units", () => {
    assert.equal(parseTimeMs("90"), 90_000);
    assert.equal(parseTimeMs("90s"), 90_000);
    assert.equal(parseTimeMs("500ms"), 500);
    assert.equal(parseTimeMs("2min"), 120_000);
    assert.equal(parseTimeMs("1h"), 3_600_000);
    assert.equal(parseTimeMs("soon"), undefined);
  });

  it("the cut-off margin: 10%, 0.5 s to 5 s, never more than half", () => {
    assert.equal(cutoffMarginMs(20_000), 2000);
    assert.equal(cutoffMarginMs(90_000), 5000);
    assert.equal(cutoffMarginMs(3000), 500);
    assert.equal(cutoffMarginMs(600), 300);
  });

  it("booleans as ocf_is_true, unset defaults, and an environment _default is not honoured", async () => {
    let seen: unknown[] = [];
    const agent: OcfAgent = {
      ...dummy,
      actions: {
        start: {
          timeout: "5s",
          run: async (ctx) => {
            seen = [
              ctx.params.flag("fail_validate"),
              ctx.params.string("fake"),
              ctx.params.isSet("fake"),
              ctx.params.string("state"),
            ];
          },
        },
      },
      validate: undefined,
    };
    await run(agent, ["start"], {
      OCF_RESKEY_fail_validate: "True",
      OCF_RESKEY_fake_default: "env-default",
    });
    assert.deepEqual(seen, [true, "dummy", false, undefined]);
    await run(agent, ["start"], { OCF_RESKEY_fail_validate: "off", OCF_RESKEY_fake: "" });
    assert.deepEqual(seen, [false, "", true, undefined]);
  });
});
