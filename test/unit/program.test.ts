/**
 * lib/program.ts, the one bounded runner: exit codes and output, a program that cannot start, the
 * deadline (a hung program killed), an abort taken as the same time-out, no start without time,
 * output over the limit, a leftover child holding the output open, stdin; and the one-line reasons.
 * Bounds on how long a run takes are test/lab/bounds.ts's: they prove "bounded", not "fast".
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Deadline } from "../../lib/deadline.js";
import { runProgram, runProgramSync, whyFailed } from "../../lib/program.js";
import { assertBounded, assertNoWait } from "../lab/bounds.js";

describe("runProgram", () => {
  it("returns the exit code and both outputs", async () => {
    const r = await runProgram("sh", ["-c", "echo out; echo err >&2; exit 3"], Deadline.in(10_000));
    assert.deepEqual(
      [r.code, r.stdout, r.stderr, r.timedOut, r.started],
      [3, "out\n", "err\n", false, true],
    );
    assert.equal(whyFailed(r), "exit 3: err out");
    const ok = await runProgram("true", [], Deadline.in(10_000));
    assert.equal(whyFailed(ok), undefined);
  });

  it("a program that cannot start: its error code, never a throw", async () => {
    const r = await runProgram("/nonexistent/program", [], Deadline.in(10_000));
    assert.deepEqual(
      [r.code, r.spawnError, r.started, r.timedOut],
      [undefined, "ENOENT", false, false],
    );
    assert.equal(whyFailed(r), "cannot run (ENOENT)");
  });

  it("kills a hung program at its deadline", async () => {
    const t0 = Date.now();
    const r = await runProgram("sleep", ["30"], Deadline.in(300));
    assertBounded(Date.now() - t0, 300, "a hung program is killed at its deadline");
    assert.deepEqual([r.code, r.signal, r.timedOut, r.started], [undefined, "SIGKILL", true, true]);
    assert.match(whyFailed(r) ?? "", /^did not finish within \d+(\.\d)? s$/);
  });

  it("an abort is the same time-out as the deadline", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await runProgram("sleep", ["30"], Deadline.in(60_000), { signal: ac.signal });
    assert.deepEqual([r.timedOut, r.spawnError, r.code], [true, undefined, undefined]);
    const already = await runProgram("true", [], Deadline.in(60_000), { signal: ac.signal });
    assert.deepEqual([already.timedOut, already.started], [true, false]);
  });

  it("does not start a program with no time left", async () => {
    const r = await runProgram("/nonexistent/program", [], Deadline.in(0));
    assert.deepEqual([r.timedOut, r.started, r.spawnError, r.ms], [true, false, undefined, 0]);
    assert.equal(whyFailed(r), "no time left");
  });

  it("kills a program that prints more than it may, rather than reading it in part", async () => {
    const r = await runProgram("yes", [], Deadline.in(60_000), { maxOutput: 64 * 1024 });
    assert.deepEqual([r.overflow, r.code, r.timedOut], [true, undefined, false]);
    assert.ok(r.stdout.length <= 64 * 1024);
    assert.equal(whyFailed(r), "printed more output than it may");
  });

  it("does not wait for a leftover child that holds the output open", async () => {
    const t0 = Date.now();
    const r = await runProgram("sh", ["-c", "sleep 30 & echo started"], Deadline.in(60_000));
    assertNoWait(Date.now() - t0, 30_000, "the leftover child is not waited for");
    assert.deepEqual([r.code, r.stdout, r.timedOut], [0, "started\n", false]);
  });

  it("writes its input to stdin; a program that does not read it is no error", async () => {
    const r = await runProgram("cat", [], Deadline.in(10_000), { input: "a=1\nb=2\n" });
    assert.equal(r.stdout, "a=1\nb=2\n");
    const early = await runProgram("true", [], Deadline.in(10_000), { input: "x".repeat(1 << 20) });
    assert.equal(early.code, 0);
  });

  it("runs with the environment given", async () => {
    const r = await runProgram("sh", ["-c", 'echo "$KVMHA_X"'], Deadline.in(10_000), {
      env: { PATH: "/usr/bin:/bin", KVMHA_X: "y" },
    });
    assert.equal(r.stdout, "y\n");
  });
});

describe("runProgramSync", () => {
  it("the same results, synchronously", () => {
    const t0 = Date.now();
    const hung = runProgramSync("sleep", ["30"], 300);
    assertBounded(Date.now() - t0, 300, "a hung program is killed at its deadline");
    assert.deepEqual([hung.timedOut, hung.code, hung.signal], [true, undefined, "SIGKILL"]);
    const missing = runProgramSync("/nonexistent/program", [], 1000);
    assert.equal(whyFailed(missing), "cannot run (ENOENT)");
    const ok = runProgramSync("cat", [], 10_000, { input: "x" });
    assert.deepEqual([ok.code, ok.stdout], [0, "x"]);
  });
});
