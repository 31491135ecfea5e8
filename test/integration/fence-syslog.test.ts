/**
 * What the built fence agents send to syslog, read where syslog reads it: a datagram socket at
 * /dev/log. Each run happens in a private mount namespace whose /dev is the host's, plus a
 * /dev/log that is this test's socket (a Python listener from Debian's python3): nothing of the
 * host's logging is touched. An admin reading only the journal after a failed fence must learn the
 * device, the step and the reason, with --quiet too (fence-agents' help: quiet "does not affect
 * … logging to syslog").
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { missingProgram, requireProgram } from "../lab/bins.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(ROOT, "dist/bin");
const PYTHON = "/usr/bin/python3";

/** Prints every datagram that reaches the socket, one per line. */
const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    data = s.recv(65536)
    print(data.decode("utf-8", "replace").replace("\\n", " "), flush=True)
`;

/** Runs `argv` in a mount namespace where /dev/log is `socket`; the rest of /dev is the host's. */
const IN_NAMESPACE = `
set -e
real="$1"; sock="$2"; shift 2
mount --rbind /dev "$real"
mount -t tmpfs -o mode=0755 kvmha-dev /dev
for f in "$real"/* "$real"/.[!.]*; do [ -e "$f" ] || [ -L "$f" ] && ln -s "$f" "/dev/\${f##*/}"; done
ln -s "$sock" /dev/log
exec "$@"
`;

describe("fence agents' syslog", () => {
  let temp: string;
  let listener: ChildProcess;
  let received = "";
  let silent: dgram.Socket;
  let port = 0;

  before(async () => {
    if (!existsSync(PYTHON)) throw missingProgram(PYTHON, "python3");
    requireProgram("unshare");
    assert.ok(existsSync(join(BIN, "fence_pdu")), "run npm run build first");
    temp = mkdtempSync(join(tmpdir(), "kvmha-syslog-"));
    listener = spawn(PYTHON, ["-c", LISTENER, join(temp, "log.sock")], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    listener.stdout?.setEncoding("utf8");
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("the /dev/log stand-in did not start")),
        20_000,
      );
      listener.stdout?.on("data", (chunk: string) => {
        received += chunk;
        if (received.startsWith("ready\n")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    silent = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
    port = silent.address().port;
  });

  after(() => {
    silent?.close();
    if (listener?.pid !== undefined && listener.exitCode === null) listener.kill("SIGKILL");
    if (temp !== undefined) rmSync(temp, { recursive: true, force: true });
  });

  /** Runs an agent with `stdin`, then waits (bounded) until syslog has `until`. */
  async function agent(
    name: string,
    stdin: string,
    until: RegExp,
  ): Promise<{ status: number | null; stderr: string; syslog: string[] }> {
    const mark = received.length;
    const real = mkdtempSync(join(temp, "dev-"));
    const r = spawnSync(
      requireProgram("unshare"),
      [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        IN_NAMESPACE,
        "sh",
        real,
        join(temp, "log.sock"),
        join(BIN, name),
      ],
      { input: stdin, encoding: "utf8", timeout: 60_000, killSignal: "SIGKILL" },
    );
    for (let waited = 0; waited < 10_000 && !until.test(received.slice(mark)); waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    return {
      status: r.status,
      stderr: r.stderr,
      syslog: received
        .slice(mark)
        .split("\n")
        .filter((l) => l !== ""),
    };
  }

  it("a failed fence, --quiet: nothing on stderr; the journal names device, step and cause", async () => {
    const r = await agent(
      "fence_pdu",
      `ip=127.0.0.1\nipport=${port}\nplug=3\naction=off\nsnmp_version=2c\ncommunity=a\nlogin_timeout=1\nshell_timeout=0.3\nquiet=1\n`,
      /ERROR/,
    );
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "");
    const error = r.syslog.find((l) => l.includes("ERROR:"));
    assert.ok(error !== undefined, r.syslog.join("\n"));
    // <11>: facility user (1) * 8 + severity err (3); the identifier is the agent's name, with its pid.
    assert.match(error, /^<11>.*fence_pdu\[\d+\]: /);
    assert.match(
      error,
      new RegExp(
        `off of 127\\.0\\.0\\.1:${port} plug 3, failed while connecting and logging in: ERROR: no answer from PDU 127\\.0\\.0\\.1:${port}`,
      ),
    );
    assert.doesNotMatch(error, /\[hidden\]/);
    assert.equal(r.syslog.length, 1, "verbosity 0: errors and warnings only");
  });

  it("verbose=1: every step in the journal too, and timestamped on stderr", async () => {
    const r = await agent(
      "fence_ipmi",
      `ip=127.0.0.1\nipport=${port}\nusername=admin\npassword=ADMIN\naction=reboot\nlogin_timeout=1\nipmitool_timeout=0.3\nverbose=1\n`,
      /ERROR/,
    );
    assert.equal(r.status, 1);
    for (const line of r.stderr.trimEnd().split("\n"))
      assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR): /);
    const steps = r.syslog.join("\n");
    assert.match(
      steps,
      /^<14>.*fence_ipmi\[\d+\]: reboot of 127\.0\.0\.1:\d+: INFO: Connecting to/m,
    );
    assert.match(steps, /INFO: Logging in to BMC 127\.0\.0\.1:\d+ as user 'admin'/);
    assert.match(steps, /failed while connecting and logging in: ERROR: /);
    assert.doesNotMatch(steps, /DEBUG/, "the protocol trace needs -vv");
  });

  it("nothing to log, nothing sent: a successful metadata run starts no logger", async () => {
    const r = await agent("fence_pdu", "action=metadata\n", /$^/);
    assert.equal(r.status, 0);
    assert.deepEqual(r.syslog, []);
  });
});
