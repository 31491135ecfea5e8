// Time in tests. A test never asserts that something is fast (speed is measured in bench/); it
// may assert that a wait is bounded, in one of these four forms, each with slack generous enough
// for a loaded 2-core machine, so that it proves "bounded", never "fast" (DEVELOPERS.md):
//
// - assertBounded: a wait with a deadline (a timeout, a kill at a deadline) ended by it;
// - assertNoWait: a wait that must not happen at all (a timeout, a retransmission) did not;
// - assertWaited: a delay that is the behaviour under test (power_wait, a cut-off) was kept;
// - assertBefore: a hard limit that is itself the behaviour (an agent reports before the op
//   timeout Pacemaker would kill it at, keeping its own margin inside it).

import assert from "node:assert/strict";

/** Slack on top of a deadline: twice the deadline plus this much is still "bounded by it". */
export const SLACK_MS = 5_000;

/** `ms` (how long it took) is bounded by `deadlineMs`: less than twice it plus SLACK_MS. */
export function assertBounded(ms: number, deadlineMs: number, what: string): void {
  const limit = 2 * deadlineMs + SLACK_MS;
  assert.ok(
    ms < limit,
    `${what}: took ${ms} ms; its deadline is ${deadlineMs} ms (bound ${limit} ms)`,
  );
}

/** A wait of `waitMs` did not happen: it took less than half of it. */
export function assertNoWait(ms: number, waitMs: number, what: string): void {
  assert.ok(ms < waitMs / 2, `${what}: took ${ms} ms, as if it waited for its ${waitMs} ms`);
}

/** A delay of `delayMs` that is the behaviour under test was kept. */
export function assertWaited(ms: number, delayMs: number, what: string): void {
  assert.ok(ms >= delayMs, `${what}: took ${ms} ms, less than its ${delayMs} ms`);
}

/** A hard limit that is the behaviour itself (an op timeout) was kept. */
export function assertBefore(ms: number, limitMs: number, what: string): void {
  assert.ok(ms < limitMs, `${what}: took ${ms} ms, past its limit of ${limitMs} ms`);
}
