/**
 * libvirt's RPC as VirtualDomain's monitor speaks it (lib/libvirt/rpc.ts, pure) against messages
 * recorded between virsh and libvirtd 9.0 (test/fixtures/libvirt-rpc/*.hex, capture.ts there) and
 * 11.3 (libvirt-11/*.hex, from the lab's Debian 13 root), and
 * the socket client (lib/libvirt/remote.ts) against a scripted libvirtd on a UNIX socket: answers
 * split across reads, polkit, SASL, errors, garbage, silence, a missing socket.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Deadline } from "../../lib/deadline.js";
import { parseDomstate } from "../../lib/libvirt/state.js";
import { exerciseLibvirtMonitorPath } from "../../lib/libvirt/warm-up.js";
import {
  type EndpointContext,
  localEndpoint,
  remoteDomainState,
} from "../../lib/libvirt/remote.js";
import {
  AuthType,
  ERR_NO_DOMAIN,
  MessageStatus,
  MessageType,
  Proc,
  REMOTE_PROGRAM,
  RpcProtocolError,
  XdrWriter,
  connectOpenArgs,
  decodeAuthList,
  decodeDomain,
  decodeError,
  decodeState,
  domstateLine,
  encodeCall,
  encodeReply,
  getStateArgs,
  lookupByNameArgs,
  takeMessages,
} from "../../lib/libvirt/rpc.js";
import { assertBounded } from "../lab/bounds.js";

const FIXTURES = path.join(import.meta.dirname, "..", "fixtures", "libvirt-rpc");

/** A recorded conversation: the messages each way, in order. */
function conversation(name: string): { calls: Buffer[]; replies: Buffer[] } {
  const calls: Buffer[] = [];
  const replies: Buffer[] = [];
  for (const line of fs.readFileSync(path.join(FIXTURES, name), "utf8").split("\n")) {
    if (line.startsWith("> ")) calls.push(Buffer.from(line.slice(2), "hex"));
    if (line.startsWith("< ")) replies.push(Buffer.from(line.slice(2), "hex"));
  }
  return { calls, replies };
}

/** The recorded message of procedure `proc` in `list`. */
function byProc(list: Buffer[], proc: number): Buffer {
  const m = list.find((b) => b.readInt32BE(12) === proc);
  assert.ok(m, `no message of procedure ${proc}`);
  return m;
}

function only(buf: Buffer) {
  const { messages, rest } = takeMessages(buf);
  assert.equal(messages.length, 1);
  assert.equal(rest.length, 0);
  return messages[0]!;
}

/**
 * The recordings, one directory per libvirt: Debian 12's 9.0 (virsh and libvirtd on the host) and
 * Debian 13's 11.3 (both from the lab's Debian 13 root; the same calls, serials and replies, but
 * for the error's format string, now "Domain not found: %1$s").
 */
const RECORDINGS = [
  { version: "9.0", dir: "." },
  { version: "11.3", dir: "libvirt-11" },
] as const;

for (const { version, dir } of RECORDINGS) {
  describe(`libvirt RPC codec, against virsh and libvirtd ${version}`, () => {
    const running = conversation(path.join(dir, "domstate-running.hex"));
    const gone = conversation(path.join(dir, "domstate-no-domain.hex"));
    const paused = conversation(path.join(dir, "domstate-paused.hex"));

    it("encodes the calls virsh sends byte for byte (same serials)", () => {
      assert.deepEqual(encodeCall(Proc.AUTH_LIST, 0), byProc(running.calls, Proc.AUTH_LIST));
      assert.deepEqual(
        encodeCall(Proc.CONNECT_OPEN, 2, connectOpenArgs("qemu:///system")),
        byProc(running.calls, Proc.CONNECT_OPEN),
      );
      assert.deepEqual(
        encodeCall(Proc.DOMAIN_LOOKUP_BY_NAME, 6, lookupByNameArgs("vd-bench")),
        byProc(running.calls, Proc.DOMAIN_LOOKUP_BY_NAME),
      );
      assert.deepEqual(
        encodeCall(Proc.DOMAIN_LOOKUP_BY_NAME, 6, lookupByNameArgs("no-such-guest")),
        byProc(gone.calls, Proc.DOMAIN_LOOKUP_BY_NAME),
      );
      const dom = decodeDomain(only(byProc(running.replies, Proc.DOMAIN_LOOKUP_BY_NAME)).body);
      assert.deepEqual(
        encodeCall(Proc.DOMAIN_GET_STATE, 7, getStateArgs(dom)),
        byProc(running.calls, Proc.DOMAIN_GET_STATE),
      );
      assert.deepEqual(
        encodeCall(Proc.CONNECT_CLOSE, 9),
        byProc(running.calls, Proc.CONNECT_CLOSE),
      );
    });

    it("decodes libvirtd's replies: auth types, the domain, its state and reason", () => {
      const auth = only(byProc(running.replies, Proc.AUTH_LIST));
      assert.deepEqual(
        {
          program: auth.program,
          version: auth.version,
          type: auth.type,
          serial: auth.serial,
          status: auth.status,
        },
        {
          program: REMOTE_PROGRAM,
          version: 1,
          type: MessageType.REPLY,
          serial: 0,
          status: MessageStatus.OK,
        },
      );
      assert.deepEqual(decodeAuthList(auth.body), [AuthType.NONE]);
      const dom = decodeDomain(only(byProc(running.replies, Proc.DOMAIN_LOOKUP_BY_NAME)).body);
      assert.equal(dom.name, "vd-bench");
      assert.equal(dom.uuid.length, 16);
      assert.ok(dom.id > 0, "a running domain has an ID");
      const state = decodeState(only(byProc(running.replies, Proc.DOMAIN_GET_STATE)).body);
      assert.equal(domstateLine(state.state, state.reason), "running (booted)");
      const p = decodeState(only(byProc(paused.replies, Proc.DOMAIN_GET_STATE)).body);
      assert.equal(domstateLine(p.state, p.reason), "paused (user)");
      // What the warm-up and the scripted daemon below send is what libvirtd sends.
      assert.deepEqual(
        encodeReply(Proc.CONNECT_OPEN, 2),
        byProc(running.replies, Proc.CONNECT_OPEN),
      );
      assert.deepEqual(
        encodeReply(
          Proc.DOMAIN_GET_STATE,
          7,
          new XdrWriter().int(state.state).int(state.reason).bytes(),
        ),
        byProc(running.replies, Proc.DOMAIN_GET_STATE),
      );
    });

    it("decodes the error of a lookup of no such domain", () => {
      const m = only(byProc(gone.replies, Proc.DOMAIN_LOOKUP_BY_NAME));
      assert.equal(m.status, MessageStatus.ERROR);
      const e = decodeError(m.body);
      assert.equal(e.code, ERR_NO_DOMAIN);
      assert.equal(e.message, "Domain not found: no domain with matching name 'no-such-guest'");
    });

    it("splits a stream into messages whatever the chunking, keeping a partial one", () => {
      const stream = Buffer.concat(running.replies);
      for (const cut of [1, 3, 4, 5, 27, 28, 29, stream.length - 1]) {
        const a = takeMessages(stream.subarray(0, cut));
        const b = takeMessages(Buffer.concat([a.rest, stream.subarray(cut)]));
        assert.equal(
          a.messages.length + b.messages.length,
          running.replies.length,
          `cut at ${cut}`,
        );
        assert.equal(b.rest.length, 0);
      }
      assert.throws(() => takeMessages(Buffer.from("0000000300000000", "hex")), RpcProtocolError);
      assert.throws(() => takeMessages(Buffer.from("7fffffff", "hex")), RpcProtocolError);
    });

    it("refuses truncated bodies and absurd strings instead of reading past them", () => {
      assert.throws(() => decodeState(Buffer.from("00000001", "hex")), RpcProtocolError);
      assert.throws(() => decodeDomain(Buffer.from("00000008766400", "hex")), RpcProtocolError);
      assert.throws(() => decodeDomain(Buffer.from("ffffffff", "hex")), RpcProtocolError);
      assert.throws(() => decodeAuthList(Buffer.from("000000ff", "hex")), RpcProtocolError);
    });

    it("the snapshot warm-up runs through the codec without a socket, a file or a throw", () => {
      assert.doesNotThrow(() => exerciseLibvirtMonitorPath());
    });

    it("names states and reasons as virsh prints them, so the health mapping is virsh's", () => {
      assert.equal(domstateLine(3, 5), "paused (I/O error)");
      assert.equal(parseDomstate(domstateLine(3, 5)).health, "failed");
      assert.equal(parseDomstate(domstateLine(3, 1)).health, "running");
      assert.equal(parseDomstate(domstateLine(5, 2)).health, "stopped");
      assert.equal(domstateLine(5, 2), "shut off (destroyed)");
      assert.equal(parseDomstate(domstateLine(6, 1)).health, "failed");
      assert.equal(parseDomstate(domstateLine(0, 0)).health, "unknown");
      assert.equal(domstateLine(1, 99), "running (unknown)");
      assert.equal(domstateLine(42, 0), "no state (unknown)");
    });
  });
}

describe("libvirtd's socket for a hypervisor URI", () => {
  const ctx = (o: Partial<EndpointContext> = {}): EndpointContext => ({
    exists: () => false,
    clientConf: () => "",
    euid: 0,
    ...o,
  });

  it("takes the socket parameter of a local URI, and opens the URI without it", () => {
    assert.deepEqual(localEndpoint("qemu+unix:///system?socket=/tmp/lab/libvirt-sock", ctx()), {
      socket: "/tmp/lab/libvirt-sock",
      name: "qemu:///system",
    });
    assert.deepEqual(localEndpoint("test+unix:///default?socket=%2Ftmp%2Fa%20b", ctx()), {
      socket: "/tmp/a b",
      name: "test:///default",
    });
    assert.deepEqual(localEndpoint("qemu:///system?socket=/s", ctx()), {
      socket: "/s",
      name: "qemu:///system",
    });
    assert.deepEqual(
      localEndpoint("qemu+UNIX:///system?socket=/a+b", ctx()),
      { socket: "/a+b", name: "qemu:///system" },
      "'+' is not a space in libvirt's URIs",
    );
  });

  it("picks the system socket as virsh does: the driver's own daemon, else libvirtd's", () => {
    const have = (...paths: string[]) => ctx({ exists: (p) => paths.includes(p) });
    assert.deepEqual(localEndpoint("qemu:///system", have("/var/run/libvirt/libvirt-sock")), {
      socket: "/var/run/libvirt/libvirt-sock",
      name: "qemu:///system",
    });
    assert.deepEqual(
      localEndpoint(
        "qemu:///system",
        have("/var/run/libvirt/libvirt-sock", "/var/run/libvirt/virtqemud-sock"),
      ),
      { socket: "/var/run/libvirt/virtqemud-sock", name: "qemu:///system" },
    );
    assert.equal(
      localEndpoint("qemu:///system", have()),
      undefined,
      "no daemon: virsh says so in its words",
    );
  });

  it("leaves to virsh what it would not reach through a local socket, or reach differently", () => {
    const have = ctx({ exists: () => true });
    for (const uri of [
      undefined,
      "",
      "qemu+ssh://root@node2/system",
      "qemu+tls://node2/system",
      "qemu://node2/system",
      "qemu:///session",
      "test:///default",
      "qemu+unix:///system?mode=legacy",
      "qemu+unix:///system?socket=relative",
      "qemu+unix:///system?socket=/s&no_verify=1",
      "qemu+unix:///system?socket",
      "qemu+unix:///system?socket=/a;b",
      "qemu+unix:///system;x?socket=/s",
    ]) {
      assert.equal(localEndpoint(uri, have), undefined, String(uri));
    }
    assert.equal(
      localEndpoint("qemu:///system", ctx({ exists: () => true, euid: 189 })),
      undefined,
      "not root",
    );
    // virsh runs the test driver inside its own process (its socket parameter is ignored there).
    assert.equal(
      localEndpoint("test:///default?socket=/run/lab/libvirt-sock", have),
      undefined,
      "test driver without +unix",
    );
    // libvirt matches the scheme as written: "QEMU" is no driver to the daemon, virsh fails.
    assert.equal(localEndpoint("QEMU:///system", have), undefined, "upper-case driver");
    assert.equal(
      localEndpoint("QEMU+unix:///system?socket=/s", have),
      undefined,
      "upper-case driver with a socket",
    );
    assert.equal(
      localEndpoint(
        "qemu:///system",
        ctx({ exists: () => true, clientConf: () => '# x\nremote_mode = "legacy"\n' }),
      ),
      undefined,
      "remote_mode chosen",
    );
    assert.ok(
      localEndpoint(
        "qemu:///system",
        ctx({ exists: () => true, clientConf: () => '#remote_mode = "legacy"\n' }),
      ),
      "a comment chooses nothing",
    );
  });
});

// --- the client against a scripted libvirtd ---

type Script = (
  proc: number,
  body: Buffer,
) => { status?: number; body: Buffer } | "silence" | "garbage" | "hangup";

const ok = (body: Buffer = Buffer.alloc(0)) => ({ body });
const error = (code: number, message: string) => ({
  status: MessageStatus.ERROR,
  body: new XdrWriter()
    .int(code)
    .int(10)
    .optionalString(message)
    .int(2)
    .uint(0)
    .optionalString(undefined)
    .optionalString(undefined)
    .optionalString(undefined)
    .int(0)
    .int(0)
    .uint(0)
    .bytes(),
});
const DOMAIN = new XdrWriter().string("vm1").fixedOpaque(Buffer.alloc(16, 7)).int(3).bytes();
const state = (s: number, r: number) => new XdrWriter().int(s).int(r).bytes();
const authList = (...types: number[]) => {
  const w = new XdrWriter().uint(types.length);
  for (const t of types) w.int(t);
  return w.bytes();
};

/** libvirtd as these tests need it: answers each call by the script, a byte at a time when asked. */
const standard: Script = (proc) => {
  switch (proc) {
    case Proc.AUTH_LIST:
      return ok(authList(AuthType.NONE));
    case Proc.DOMAIN_LOOKUP_BY_NAME:
      return ok(DOMAIN);
    case Proc.DOMAIN_GET_STATE:
      return ok(state(1, 1));
    default:
      return ok();
  }
};

describe("libvirt socket client (scripted libvirtd)", () => {
  let dir: string;
  let n = 0;
  const servers: net.Server[] = [];
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-rpc-"));
  });
  after(() => {
    for (const s of servers) s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A scripted daemon; `seen` collects the procedures called, in order. */
  async function daemon(
    script: Script,
    opts: { byteAtATime?: boolean } = {},
  ): Promise<{ socket: string; seen: number[]; closes: number }> {
    const socket = path.join(dir, `sock-${n++}`);
    const seen: number[] = [];
    const result = { socket, seen, closes: 0 };
    const server = net.createServer((c) => {
      let buf: Buffer = Buffer.alloc(0);
      c.on("error", () => {});
      c.on("data", (chunk: Buffer) => {
        const { messages, rest } = takeMessages(Buffer.concat([buf, chunk]));
        buf = rest;
        for (const m of messages) {
          seen.push(m.proc);
          if (m.proc === Proc.CONNECT_CLOSE) {
            result.closes++;
            continue;
          }
          const answer = script(m.proc, m.body);
          if (answer === "silence") continue;
          if (answer === "hangup") return void c.destroy();
          const bytes =
            answer === "garbage"
              ? Buffer.from("00000008deadbeef", "hex")
              : encodeReply(m.proc, m.serial, answer.body, answer.status);
          if (opts.byteAtATime === true) for (const b of bytes) c.write(Buffer.from([b]));
          else c.write(bytes);
        }
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    return result;
  }

  const soon = () => Deadline.in(2000);

  it("asks auth, open, lookup, state and says goodbye; the answer is virsh's line", async () => {
    const d = await daemon(standard);
    assert.deepEqual(
      await remoteDomainState({ socket: d.socket, name: "qemu:///system" }, "vm1", soon()),
      { kind: "state", line: "running (booted)" },
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(d.seen, [
      Proc.AUTH_LIST,
      Proc.CONNECT_OPEN,
      Proc.DOMAIN_LOOKUP_BY_NAME,
      Proc.DOMAIN_GET_STATE,
      Proc.CONNECT_CLOSE,
    ]);
  });

  it("reads replies that arrive a byte at a time", async () => {
    const d = await daemon(
      (p, b) => (p === Proc.DOMAIN_GET_STATE ? ok(state(3, 5)) : standard(p, b)),
      { byteAtATime: true },
    );
    assert.deepEqual(
      await remoteDomainState({ socket: d.socket, name: "qemu:///system" }, "vm1", soon()),
      { kind: "state", line: "paused (I/O error)" },
    );
  });

  it("passes polkit as root does; SASL is left to virsh", async () => {
    const polkit = await daemon((p, b) =>
      p === Proc.AUTH_LIST
        ? ok(authList(AuthType.POLKIT))
        : p === Proc.AUTH_POLKIT
          ? ok(new XdrWriter().int(1).bytes())
          : standard(p, b),
    );
    assert.equal(
      (await remoteDomainState({ socket: polkit.socket, name: "qemu:///system" }, "vm1", soon()))
        .kind,
      "state",
    );
    assert.deepEqual(polkit.seen.slice(0, 3), [
      Proc.AUTH_LIST,
      Proc.AUTH_POLKIT,
      Proc.CONNECT_OPEN,
    ]);
    const sasl = await daemon((p, b) =>
      p === Proc.AUTH_LIST ? ok(authList(AuthType.SASL)) : standard(p, b),
    );
    const a = await remoteDomainState(
      { socket: sasl.socket, name: "qemu:///system" },
      "vm1",
      soon(),
    );
    assert.equal(a.kind, "unavailable");
    assert.ok(!sasl.seen.includes(Proc.CONNECT_OPEN));
  });

  it("no such domain is an answer; any other error is not", async () => {
    const gone = await daemon((p, b) =>
      p === Proc.DOMAIN_LOOKUP_BY_NAME ? error(ERR_NO_DOMAIN, "Domain not found") : standard(p, b),
    );
    assert.deepEqual(
      await remoteDomainState({ socket: gone.socket, name: "qemu:///system" }, "vm1", soon()),
      { kind: "gone" },
    );
    const denied = await daemon((p, b) =>
      p === Proc.CONNECT_OPEN ? error(38, "authentication failed") : standard(p, b),
    );
    const a = await remoteDomainState(
      { socket: denied.socket, name: "qemu:///system" },
      "vm1",
      soon(),
    );
    assert.equal(a.kind, "unavailable");
    assert.match(a.kind === "unavailable" ? a.why : "", /authentication failed/);
  });

  it("garbage, a hang-up, silence and a missing socket end in 'ask virsh', within the deadline", async () => {
    for (const script of [(): "garbage" => "garbage", (): "hangup" => "hangup"]) {
      const d = await daemon((p, b) => (p === Proc.DOMAIN_GET_STATE ? script() : standard(p, b)));
      assert.equal(
        (await remoteDomainState({ socket: d.socket, name: "qemu:///system" }, "vm1", soon())).kind,
        "unavailable",
      );
    }
    const silent = await daemon((p, b) =>
      p === Proc.DOMAIN_GET_STATE ? "silence" : standard(p, b),
    );
    const t0 = Date.now();
    const a = await remoteDomainState(
      { socket: silent.socket, name: "qemu:///system" },
      "vm1",
      Deadline.in(300),
    );
    assert.equal(a.kind, "unavailable");
    assertBounded(Date.now() - t0, 300, "a silent libvirtd is given up on");
    assert.equal(
      (
        await remoteDomainState(
          { socket: path.join(dir, "nothing-here"), name: "qemu:///system" },
          "vm1",
          soon(),
        )
      ).kind,
      "unavailable",
    );
    assert.equal(
      (
        await remoteDomainState(
          { socket: silent.socket, name: "qemu:///system" },
          "vm1",
          Deadline.in(0),
        )
      ).kind,
      "unavailable",
    );
  });
});
