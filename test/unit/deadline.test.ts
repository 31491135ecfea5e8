import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Deadline } from "../../lib/deadline.js";

describe("Deadline", () => {
  it("gives whole milliseconds, never negative, so timers and execFile accept them", () => {
    const deadline = Deadline.in(1000.75, 5000.5);
    assert.equal(deadline.remainingMs(5000.5), 1000);
    assert.ok(Number.isInteger(deadline.remainingMs(5100.1)));
    assert.equal(deadline.remainingMs(9000), 0);
    assert.ok(deadline.expired(6001.25));
    assert.equal(deadline.within(10, 5000.5).remainingMs(5000.5), 10);
  });
});
