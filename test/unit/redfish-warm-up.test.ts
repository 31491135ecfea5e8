/**
 * The snapshot warm-up (lib/redfish/warm-up.ts): the whole client path against its in-process
 * stand-in BMC, through the injected TLS socket (no real one), leaving no timer or socket behind.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { warmUpWithoutTimers } from "../../lib/cli/snapshot.js";
import { exerciseRedfishClient } from "../../lib/redfish/warm-up.js";

function activeResources(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((r) => r === "Timeout" || r === "Immediate" || r === "TCPWRAP" || r === "TLSWRAP");
}

describe("exerciseRedfishClient", () => {
  it("logs in, reads, powers off, reads back and logs out, with nothing left behind", async () => {
    const before = activeResources();
    assert.equal(await exerciseRedfishClient(), true);
    assert.deepEqual(activeResources(), before);
  });

  it("completes with the timer functions inert, as while the snapshot is built", async () => {
    let ran: boolean | undefined;
    await warmUpWithoutTimers(async () => (ran = await exerciseRedfishClient()));
    assert.equal(ran, true);
  });
});
