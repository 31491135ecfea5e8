/**
 * The SNMP client over real loopback sockets: replies are taken only from the PDU's own address
 * and port, a refused port is said as such at once, a v1 walk ends at v1's end of MIB, and
 * messages name the step rather than list OIDs.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { after, before, describe, it } from "node:test";
import { asGetResponse, openSnmp, requestSummary } from "../../lib/snmp/client.js";
import { SnmpNetworkError, SnmpRequestError, SnmpTimeoutError } from "../../lib/snmp/errors.js";

type Reply = (request: Buffer, from: dgram.RemoteInfo) => void;

interface FakePdu {
  readonly port: number;
  /** What the PDU does with each request (nothing, by default). */
  reply: Reply;
  close(): Promise<void>;
}

async function udpSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return socket;
}

async function fakePdu(): Promise<FakePdu & { socket: dgram.Socket }> {
  const socket = await udpSocket();
  const pdu = {
    socket,
    port: socket.address().port,
    reply: (() => {}) as Reply,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on("message", (msg, from) => pdu.reply(msg, from));
  return pdu;
}

/**
 * A v1/v2c request turned into a response with `errorStatus` at index 1 (noSuchName is 2): BER
 * with short lengths, as the client's small requests are.
 */
function errorResponse(request: Buffer, errorStatus: number): Buffer {
  const response = Buffer.from(request);
  const header = (at: number) => at + 2;
  let at = header(0); // message SEQUENCE
  at = header(at) + (response[at + 1] ?? 0); // version
  at = header(at) + (response[at + 1] ?? 0); // community
  response[at] = 0xa2; // GetResponse
  at = header(at); // into the PDU
  at = header(at) + (response[at + 1] ?? 0); // request-id
  response[at + 2] = errorStatus; // error-status INTEGER (one byte)
  response[at + 5] = 1; // error-index INTEGER (one byte)
  return response;
}

const SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0";

describe("SNMP client sockets", () => {
  let pdu: Awaited<ReturnType<typeof fakePdu>>;
  let forger: dgram.Socket;
  before(async () => {
    pdu = await fakePdu();
    forger = await udpSocket();
  });
  after(async () => {
    await pdu.close();
    await new Promise<void>((resolve) => forger.close(() => resolve()));
  });

  const client = (version: "1" | "2c" = "2c", timeoutMs = 1000) =>
    openSnmp(
      { host: "127.0.0.1", port: pdu.port, version, transport: "udp4", community: "private" },
      timeoutMs,
    );

  it("takes the PDU's own reply", async () => {
    pdu.reply = (request, from) =>
      pdu.socket.send(asGetResponse(request)!, from.port, from.address);
    const snmp = client();
    try {
      const [value] = await snmp.get([SYS_OBJECT_ID]);
      assert.equal(value?.kind, "other", "the fake PDU echoes a NULL");
    } finally {
      snmp.close();
    }
  });

  it("ignores the same reply forged from another port, and times out", async () => {
    let forged = 0;
    pdu.reply = (request, from) => {
      forged += 1;
      forger.send(asGetResponse(request)!, from.port, from.address);
    };
    const snmp = client("2c", 600);
    try {
      await assert.rejects(snmp.get([SYS_OBJECT_ID]), SnmpTimeoutError);
      assert.ok(forged >= 1, "the forger answered");
    } finally {
      snmp.close();
    }
  });

  it("says at once that a port is refused, not that the community may be wrong", async () => {
    const closed = await udpSocket();
    const port = closed.address().port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const snmp = openSnmp(
      { host: "127.0.0.1", port, version: "2c", transport: "udp4", community: "private" },
      // Generous: the refusal must end the wait long before this.
      60_000,
    );
    try {
      await assert.rejects(snmp.get([SYS_OBJECT_ID]), (err: unknown) => {
        assert.ok(err instanceof SnmpNetworkError, String(err));
        assert.match(err.message, /refused SNMP \(ICMP port unreachable\)/);
        assert.doesNotMatch(err.message, /community/);
        return true;
      });
    } finally {
      snmp.close();
    }
  });

  it("ends a v1 walk at noSuchName, v1's end of MIB; with v2c that is an error", async () => {
    pdu.reply = (request, from) =>
      pdu.socket.send(errorResponse(request, 2), from.port, from.address);
    const v1 = client("1");
    try {
      assert.deepEqual(await v1.walk("1.3.6.1.4.1.318.1.1.26.9.2.3.1.5", 10), []);
      await assert.rejects(
        v1.get([SYS_OBJECT_ID]),
        SnmpRequestError,
        "a GET's noSuchName stays an error",
      );
    } finally {
      v1.close();
    }
    const v2c = client("2c");
    try {
      await assert.rejects(v2c.walk("1.3.6.1.4.1.318.1.1.26.9.2.3.1.5", 10), SnmpRequestError);
    } finally {
      v2c.close();
    }
  });

  it("names the step in a timeout, not the OIDs", async () => {
    pdu.reply = () => {};
    const snmp = client("2c", 400);
    const oids = Array.from({ length: 11 }, (_, i) => `1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.${i + 1}`);
    try {
      await assert.rejects(snmp.get(oids, "reading the outlets' states"), (err: unknown) => {
        assert.ok(err instanceof SnmpTimeoutError);
        assert.match(err.message, /\(reading the outlets' states\)/);
        assert.doesNotMatch(err.message, /1\.3\.6\.1\.4\.1\.318/);
        return true;
      });
      await assert.rejects(
        snmp.get(oids),
        /GET 1\.3\.6\.1\.4\.1\.318\.1\.1\.12\.3\.5\.1\.1\.4\.1 and 10 more OIDs\)/,
      );
    } finally {
      snmp.close();
    }
  });
});

describe("request summaries", () => {
  it("name one OID, or the first and how many more", () => {
    assert.equal(requestSummary("GET", ["1.3.6.1.2.1.1.2.0"]), "GET 1.3.6.1.2.1.1.2.0");
    assert.equal(requestSummary("GET", ["1.3", "1.4"]), "GET 1.3 and 1 more OID");
    assert.equal(requestSummary("GET", ["1.3", "1.4", "1.5"]), "GET 1.3 and 2 more OIDs");
  });
});
