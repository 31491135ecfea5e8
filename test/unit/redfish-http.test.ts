/**
 * lib/redfish's HTTP/1.1 codec on its own: requests as bytes, responses from bytes however they are
 * split, every framing a BMC uses, and the errors (never a hang, never unbounded memory).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RedfishProtocolError } from "../../lib/redfish/errors.js";
import {
  type HttpResponse,
  MAX_BODY_BYTES,
  ResponseReader,
  encodeRequest,
} from "../../lib/redfish/http.js";

/** Feeds `bytes` in pieces of `size` and returns the response (undefined if it never completed). */
function readIn(text: string | Buffer, size: number, closeAtEnd = false): HttpResponse | undefined {
  const bytes = typeof text === "string" ? Buffer.from(text, "latin1") : text;
  const reader = new ResponseReader();
  let response: HttpResponse | undefined;
  for (let i = 0; i < bytes.length; i += size) {
    response = reader.feed(bytes.subarray(i, i + size));
    if (response !== undefined && i + size < bytes.length)
      assert.fail("a response completed before its last byte");
  }
  return closeAtEnd && response === undefined ? reader.end() : response;
}

const JSON_BODY = '{"PowerState":"On"}';

describe("encodeRequest", () => {
  it("writes the request line, headers and a Content-Length for a body", () => {
    const bytes = encodeRequest({
      method: "POST",
      path: "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
      headers: { Host: "127.0.0.1:443", "Content-Type": "application/json" },
      body: Buffer.from('{"ResetType":"ForceOff"}'),
    });
    assert.equal(
      bytes.toString(),
      "POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset HTTP/1.1\r\nHost: 127.0.0.1:443\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n" +
        '{"ResetType":"ForceOff"}',
    );
  });

  it("sends Content-Length: 0 for a bodiless POST and none for a GET", () => {
    assert.match(
      encodeRequest({ method: "POST", path: "/x", headers: {} }).toString(),
      /Content-Length: 0\r\n\r\n$/,
    );
    assert.equal(
      encodeRequest({ method: "GET", path: "/x", headers: { Host: "h" } }).toString(),
      "GET /x HTTP/1.1\r\nHost: h\r\n\r\n",
    );
  });

  it("refuses a target or header that would inject (a BMC's URIs are used as given)", () => {
    for (const path of ["relative", "/a b", "/a\r\nX-Evil: 1", "/\u00e9"])
      assert.throws(
        () => encodeRequest({ method: "GET", path, headers: {} }),
        RedfishProtocolError,
        path,
      );
    assert.throws(
      () => encodeRequest({ method: "GET", path: "/", headers: { "X-Auth-Token": "a\r\nb" } }),
      RedfishProtocolError,
    );
    assert.throws(
      () => encodeRequest({ method: "GET", path: "/", headers: { "Bad Name": "x" } }),
      RedfishProtocolError,
    );
  });
});

describe("ResponseReader", () => {
  const withLength = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${JSON_BODY.length}\r\n\r\n${JSON_BODY}`;

  it("reads a Content-Length body, split anywhere", () => {
    for (const size of [1, 2, 7, 1000]) {
      const r = readIn(withLength, size);
      assert.ok(r, `size ${size}`);
      assert.equal(r.status, 200);
      assert.equal(r.reason, "OK");
      assert.equal(r.headers.get("content-type"), "application/json");
      assert.equal(r.body.toString(), JSON_BODY);
      assert.equal(r.keepAlive, true);
    }
  });

  it("reads chunked bodies, with extensions and trailers, split anywhere", () => {
    const chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      '5;name=value\r\n{"Pow\r\n' +
      `e\r\nerState":"On"}\r\n` +
      "0\r\nX-Trailer: 1\r\n\r\n";
    for (const size of [1, 3, 1000]) {
      const r = readIn(chunked, size);
      assert.ok(r, `size ${size}`);
      assert.equal(r.body.toString(), JSON_BODY);
      assert.equal(r.keepAlive, true);
    }
  });

  it("reads a body that ends with the connection (no length), and does not keep it", () => {
    const r = readIn(
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n${JSON_BODY}`,
      4,
      true,
    );
    assert.ok(r);
    assert.equal(r.body.toString(), JSON_BODY);
    assert.equal(r.keepAlive, false);
  });

  it("skips 1xx interim answers and knows 204 has no body", () => {
    const r = readIn(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\n\r\n",
      5,
    );
    assert.ok(r);
    assert.equal(r.status, 204);
    assert.equal(r.body.length, 0);
  });

  it("keeps the connection as HTTP/1.1 and Connection say", () => {
    const keep = (head: string): boolean | undefined =>
      readIn(`${head}\r\nContent-Length: 0\r\n\r\n`, 100)?.keepAlive;
    assert.equal(keep("HTTP/1.1 200 OK"), true);
    assert.equal(keep("HTTP/1.1 200 OK\r\nConnection: close"), false);
    assert.equal(keep("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close"), false);
    assert.equal(keep("HTTP/1.0 200 OK"), false);
    assert.equal(keep("HTTP/1.0 200 OK\r\nConnection: keep-alive"), true);
  });

  it("joins repeated headers and accepts a repeated identical Content-Length", () => {
    const r = readIn(
      "HTTP/1.1 200 OK\r\nSet-Cookie: a\r\nset-cookie: b\r\nContent-Length: 2, 2\r\n\r\n{}",
      3,
    );
    assert.ok(r);
    assert.equal(r.headers.get("set-cookie"), "a, b");
    assert.equal(r.body.toString(), "{}");
  });

  it("refuses what is not HTTP, malformed framing, and bytes after the answer", () => {
    const bad = [
      "SSH-2.0-OpenSSH\r\n\r\n",
      "HTTP/2 200\r\n\r\n",
      "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\n{}",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}extra",
    ];
    for (const text of bad)
      assert.throws(() => readIn(text, 1000, true), RedfishProtocolError, JSON.stringify(text));
  });

  it("bounds the head and the body", () => {
    assert.throws(
      () => new ResponseReader().feed(Buffer.alloc(70 * 1024, 0x41)),
      /headers are too long/,
    );
    assert.throws(
      () => readIn(`HTTP/1.1 200 OK\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`, 1000),
      /larger than/,
    );
    const reader = new ResponseReader();
    reader.feed(Buffer.from("HTTP/1.1 200 OK\r\n\r\n"));
    assert.throws(() => {
      for (let i = 0; i < 9; i += 1) reader.feed(Buffer.alloc(1024 * 1024));
    }, /larger than/);
  });

  it("tells a connection closed before any answer from one closed mid-answer", () => {
    const silent = new ResponseReader();
    assert.equal(silent.started, false);
    assert.throws(() => silent.end(), /without answering/);
    const cut = new ResponseReader();
    cut.feed(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}"));
    assert.equal(cut.started, true);
    assert.throws(() => cut.end(), /in the middle of its answer/);
  });
});
