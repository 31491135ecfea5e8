/**
 * Input an admin can get wrong, and what the framework says about it: out-of-range ports and
 * attempts, waits longer than a timer can keep, password scripts that leave processes behind,
 * and stdin noise (escape bytes, megabytes of unknown keys).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fenceIpmi } from "../../fence/fence_ipmi.js";
import { fencePdu } from "../../fence/fence_pdu.js";
import type { FenceAgent } from "../../lib/fence/agent.js";
import { runPasswordScript } from "../../lib/fence/secrets.js";
import { runAgent } from "../lab/run-agent.js";

const run = runAgent;

describe("values out of range are refused by the option layer, with the fix", () => {
  it("ipport 70000, -1 and 0: one line naming the range, exit 1, no RangeError", async () => {
    for (const agent of [fenceIpmi, fencePdu] as FenceAgent<unknown>[]) {
      for (const port of ["70000", "-1", "0", "99999999999999999999"]) {
        const r = await run(agent, ["-a", "127.0.0.1", "-n", "1", "-u", port, "-o", "status"]);
        assert.equal(r.code, 1, r.err);
        assert.match(
          r.err,
          /^ERROR: Failed: --ipport \S+ is out of range: a TCP\/UDP port is 1 to 65535\n$/,
        );
        assert.doesNotMatch(r.err, /RangeError|internal error/);
      }
    }
  });

  it("delay above 24.8 days would become 1 ms in a timer: refused", async () => {
    // port_as_ip: the plug is the address, so no ip is needed (fence-agents takes it so).
    const plugAsIp = await run(fenceIpmi, [
      "--port-as-ip",
      "-n",
      "127.0.0.1",
      "-u",
      "1",
      "-o",
      "status",
      "-l",
      "u",
      "-p",
      "x",
      "--login-timeout",
      "1",
    ]);
    assert.doesNotMatch(plugAsIp.err, /You have to enter fence address/);
    assert.match(plugAsIp.err, /127\.0\.0\.1:1/);
    const r = await run(fencePdu, [], "ip=127.0.0.1\nplug=1\naction=off\ndelay=2147484\n");
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      "ERROR: Failed: --delay 2147484 is too long: at most 2147483 seconds (24.8 days), the longest wait a timer can keep\n",
    );
    for (const name of ["power_timeout", "login_timeout", "power_wait", "shell_timeout"]) {
      const t = await run(fenceIpmi, [], `ip=127.0.0.1\naction=status\n${name}=1e9\n`);
      assert.equal(t.code, 1, name);
      const u = await run(fenceIpmi, [], `ip=127.0.0.1\naction=status\n${name}=3000000\n`);
      assert.match(u.err, /is too long: at most 2147483 seconds/, name);
    }
  });

  it("retry_on 0 or 1000 is refused", async () => {
    const r = await run(fencePdu, [], "ip=127.0.0.1\nplug=1\naction=on\nretry_on=0\n");
    assert.match(r.err, /--retry-on 0 is out of range: a number of attempts is 1 to 100/);
  });
});

describe("password_script", () => {
  const temp = mkdtempSync(join(tmpdir(), "kvmha-pwscript-"));
  after(() => rmSync(temp, { recursive: true, force: true }));

  /** Is the process gone (or a zombie waiting for init)? */
  function gone(pid: number): boolean {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return / [ZX] /.test(stat.slice(stat.lastIndexOf(")")));
    } catch {
      return true;
    }
  }

  it("a background process holding stdout costs nothing and is ended with the script", async () => {
    const pidFile = join(temp, "bg.pid");
    const started = Date.now();
    // A 60 s budget: finishing well before it proves nobody waited for the pipe to close.
    const value = await runPasswordScript(
      "password_script",
      `sleep 300 & echo $! > ${pidFile}; echo from-script`,
      60_000,
    );
    assert.equal(value, "from-script");
    assert.ok(Date.now() - started < 30_000, "returned without waiting for the background sleep");
    const pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
    for (let i = 0; i < 100 && !gone(pid); i += 1) await new Promise((r) => setTimeout(r, 50));
    assert.ok(gone(pid), `the background process ${pid} was left running`);
  });

  it("on timeout the whole group is ended, grandchildren included", async () => {
    const pidFile = join(temp, "hang.pid");
    await assert.rejects(
      runPasswordScript("password_script", `sleep 300 & echo $! > ${pidFile}; wait`, 1000),
      /password_script did not finish within 1 s/,
    );
    assert.ok(existsSync(pidFile));
    const pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
    for (let i = 0; i < 100 && !gone(pid); i += 1) await new Promise((r) => setTimeout(r, 50));
    assert.ok(gone(pid));
  });

  it("failures say which option and why, never what was printed", async () => {
    await assert.rejects(
      runPasswordScript("community_script", "echo secret-x; exit 3", 5000),
      (err: Error) => err.message === "community_script exited with status 3",
    );
    await assert.rejects(
      runPasswordScript("password_script", "true", 5000),
      /password_script printed nothing on its first line/,
    );
    assert.equal(await runPasswordScript("password_script", "printf 'a b \\nc\\n'", 5000), "a b");
  });
});

describe("stdin noise", () => {
  it("unknown keys are escaped, cut short, and counted past ten", async () => {
    const noise = `\u001b]0;pwned\u0007key=1\n${"k".repeat(500)}=v\n${Array.from({ length: 50000 }, (_, i) => `junk${i}=x`).join("\n")}\nip=127.0.0.1\naction=validate-all\n`;
    const r = await run(fenceIpmi, [], noise);
    assert.equal(r.code, 0, r.err);
    const lines = r.err.trimEnd().split("\n");
    assert.ok(lines.length <= 12, `${lines.length} warning lines`);
    assert.ok(r.err.length < 2000, `${r.err.length} bytes of warnings`);
    assert.match(
      lines[0] as string,
      /^WARNING: Parse error: Ignoring unknown option '\\x1b\]0;pwned\\x07key'$/,
    );
    assert.match(lines[1] as string, /'k{64}… \(436 more\)'$/);
    assert.match(r.err, /Ignoring 49992 more unknown options \(50002 in all\)/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(r.err, /[\u0000-\u0009\u000b-\u001f\u007f]/);
  });

  it("an unknown action is escaped and the valid ones listed", async () => {
    const r = await run(fencePdu, ["-o", "\u001b[31mboom"]);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /Unrecognised action '\\x1b\[31mboom' \(one of: on, off, reboot, status, list/,
    );
  });
});
