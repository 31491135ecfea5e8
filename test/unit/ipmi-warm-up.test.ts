/**
 * The snapshot warm-up (lib/ipmi/warm-up.ts): it runs the whole client path against its in-process
 * stand-in BMC, quickly, through the injected socket (no real one), and leaves nothing behind that
 * would keep the process alive or end up in the snapshot.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openSession } from "../../lib/ipmi/client.js";
import { IpmiTimeoutError } from "../../lib/ipmi/errors.js";
import type { DatagramSocket } from "../../lib/ipmi/transport.js";
import { exerciseIpmiClient } from "../../lib/ipmi/warm-up.js";

/** Timers and sockets the process holds (file and connect requests of the runner come and go). */
function activeResources(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((r) => r === "Timeout" || r === "Immediate" || r === "UDPWRAP" || r === "TCPWRAP");
}

describe("exerciseIpmiClient", () => {
  it("completes the whole path well under a second, with no socket or timer left", async () => {
    const before = activeResources();
    const started = performance.now();
    const during: string[][] = [];
    const probe = setInterval(() => during.push(activeResources()), 1);
    const ran = await exerciseIpmiClient();
    clearInterval(probe);
    const took = performance.now() - started;
    assert.equal(
      ran,
      true,
      "login (17 refused, then 3; and 17), privilege, status, control and close all completed",
    );
    // Each exchange is answered on the next turn, so there is no retransmission (the first would
    // come after 250 ms); a generous bound, as the machine may be loaded.
    assert.ok(took < 2000, `took ${took.toFixed(0)} ms`);
    assert.ok(!during.flat().includes("UDPWRAP"), "no real UDP socket");
    assert.deepEqual(activeResources(), before);
  });

  it("can run again (no state kept between runs)", async () => {
    assert.equal(await exerciseIpmiClient(), true);
    assert.equal(await exerciseIpmiClient(), true);
  });

  it("openSession sends through an injected socket factory", async () => {
    const sent: Buffer[] = [];
    const kinds: string[] = [];
    const silent = (type: "udp4" | "udp6"): DatagramSocket => {
      kinds.push(type);
      return {
        on: () => undefined,
        once: () => undefined,
        off: () => undefined,
        bind: (_port: number, cb: () => void) => queueMicrotask(cb),
        send: (msg: Buffer, _port: number, _address: string, cb: (e: Error | null) => void) => {
          sent.push(msg);
          cb(null);
        },
        close: () => undefined,
        unref: () => undefined,
      };
    };
    await assert.rejects(
      openSession(
        {
          host: "::1",
          port: 623,
          username: "admin",
          password: "x",
          privilege: "administrator",
          lanplus: true,
        },
        { loginDeadline: Date.now() + 1000, requestTimeoutMs: 50, retransmitMs: 1000 },
        undefined,
        { createSocket: silent },
      ),
      IpmiTimeoutError,
    );
    assert.deepEqual(kinds, ["udp6"]);
    assert.equal(sent.length, 1, "Get Channel Authentication Capabilities, once");
  });
});
