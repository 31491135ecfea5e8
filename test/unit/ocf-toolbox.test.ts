/**
 * lib/ocf/toolbox.ts, what a resource agent is built from besides the runner: have_binary, state
 * files in HA_RSCTMP written atomically, another program run in the agent's environment, and lock
 * files (held, released, taken over from a dead owner, waited for within a deadline).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { Deadline } from "../../lib/deadline.js";
import type { OcfContext } from "../../lib/ocf/agent.js";
import { OcfGenericError } from "../../lib/ocf/codes.js";
import { OcfLog } from "../../lib/ocf/log.js";
import { readParams } from "../../lib/ocf/params.js";
import {
  haveBinary,
  readStateFile,
  removeStateFile,
  runTool,
  stateFile,
  stepDeadline,
  withLock,
  writeStateFile,
} from "../../lib/ocf/toolbox.js";

function context(rscTmp: string, env: Record<string, string> = {}): OcfContext {
  const log = new OcfLog(
    { tag: "T", stderrIsTty: false, debug: false, exitReasonPrefix: "ocf-exit-reason:" },
    { err: () => undefined, syslog: () => undefined },
  );
  return {
    agent: "Toy",
    action: "start",
    instance: "t1",
    params: readParams([], {}),
    log,
    timeoutMs: 20_000,
    intervalMs: 0,
    isProbe: false,
    checkLevel: 0,
    deadline: Deadline.in(20_000),
    signal: new AbortController().signal,
    rscTmp,
    varLib: rscTmp,
    ocfRoot: "/usr/lib/ocf",
    meta: () => undefined,
    childEnv: () => ({ PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env, LC_ALL: "C" }),
  };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), "ocf-toolbox-"));

describe("OCF toolbox", () => {
  it("haveBinary: on PATH, or at a path; only executable files", () => {
    const dir = tmp();
    writeFileSync(join(dir, "tool"), "#!/bin/sh\n", { mode: 0o755 });
    writeFileSync(join(dir, "plain"), "", { mode: 0o644 });
    assert.ok(haveBinary("tool", `/nonexistent:${dir}`));
    assert.ok(!haveBinary("plain", dir));
    assert.ok(!haveBinary("tool", "/nonexistent"));
    assert.ok(haveBinary(join(dir, "tool"), "/nonexistent"));
    assert.ok(haveBinary("sh", undefined), "the default PATH");
  });

  it("state files: HA_RSCTMP/<agent>-<instance>.<suffix>, created with it, atomic, root's only", async () => {
    const rsc = join(tmp(), "not-yet");
    const ctx = context(rsc);
    assert.equal(stateFile(ctx, "state"), join(rsc, "Toy-t1.state"));
    assert.equal(readStateFile(ctx, "state"), undefined);
    await writeStateFile(ctx, "state", "one\n");
    await writeStateFile(ctx, "state", "two\n");
    assert.equal(readStateFile(ctx, "state"), "two\n");
    assert.equal(statSync(stateFile(ctx, "state")).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(rsc), ["Toy-t1.state"], "no temporary file left");
    await removeStateFile(ctx, "state");
    await removeStateFile(ctx, "state");
    assert.equal(existsSync(stateFile(ctx, "state")), false);
  });

  it("a failed write leaves the old file and no temporary file", async () => {
    const rsc = tmp();
    const ctx = context(rsc);
    await writeStateFile(ctx, "x", "old\n");
    mkdirSync(join(rsc, "Toy-t1.y"));
    await assert.rejects(writeStateFile(ctx, "y", "new\n"));
    assert.deepEqual(readdirSync(rsc).sort(), ["Toy-t1.x", "Toy-t1.y"]);
    assert.equal(readStateFile(ctx, "x"), "old\n");
  });

  it("runTool: the agent's environment, and why it failed in one line", async () => {
    const ctx = context(tmp());
    const ok = await runTool(ctx, "sh", ["-c", 'echo "$LC_ALL"'], stepDeadline(ctx));
    assert.deepEqual([ok.why, ok.stdout], [undefined, "C\n"]);
    const bad = await runTool(ctx, "sh", ["-c", "echo no >&2; exit 2"], stepDeadline(ctx));
    assert.equal(bad.why, "exit 2: no");
    const missing = await runTool(ctx, "kvmha-no-such-tool", [], stepDeadline(ctx));
    assert.equal(missing.why, "cannot run (ENOENT)");
  });

  it("withLock: one holder at a time, released after, even when the body fails", async () => {
    const file = join(tmp(), "toy.lock");
    const order: string[] = [];
    const hold = (name: string) =>
      withLock(file, Deadline.in(20_000), async () => {
        order.push(`${name} in`);
        assert.equal(readFileSync(file, "utf8"), `${process.pid}\n`);
        await new Promise((r) => setTimeout(r, 50));
        order.push(`${name} out`);
      });
    await Promise.all([hold("a"), hold("b")]);
    assert.deepEqual(order, ["a in", "a out", "b in", "b out"]);
    assert.equal(existsSync(file), false);
    await assert.rejects(
      withLock(file, Deadline.in(20_000), () => Promise.reject(new Error("body"))),
      /body/,
    );
    assert.equal(existsSync(file), false);
  });

  it("withLock: many at once, never two inside (a lock file is never seen half-written)", async () => {
    const file = join(tmp(), "many.lock");
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        withLock(file, Deadline.in(60_000), async () => {
          inside += 1;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside -= 1;
        }),
      ),
    );
    assert.equal(most, 1);
    assert.deepEqual(readdirSync(dirname(file)), []);
  });

  it("withLock: a dead owner's lock is taken over; a live owner's fails at the deadline, named", async () => {
    const dir = tmp();
    const file = join(dir, "toy.lock");
    const gone = spawn("true");
    await new Promise((r) => gone.once("exit", r));
    writeFileSync(file, `${gone.pid}\n`);
    assert.equal(await withLock(file, Deadline.in(20_000), () => Promise.resolve(1)), 1);
    const holder = spawn("sleep", ["30"]);
    try {
      writeFileSync(file, `${holder.pid}\n`);
      await assert.rejects(
        withLock(file, Deadline.in(500), () => Promise.resolve(2)),
        (e: unknown) =>
          e instanceof OcfGenericError &&
          e.message === `lock ${file} is held by process ${holder.pid}`,
      );
      assert.equal(readFileSync(file, "utf8"), `${holder.pid}\n`, "a held lock is left alone");
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
