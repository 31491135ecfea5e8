// kvmha cluster lab: the hub side of the management-network relay. Runs in
// the hub's network namespace (plain Node, no dependencies) as
//
//   node hub-relay.mjs SOCKET LISTENS_JSON
//
// LISTENS_JSON is [{ "address": "10.77.0.101", "port": 623 }, ...]. Every UDP
// datagram a node sends to one of those addresses goes, as one JSON line
// {"l":index,"a":clientAddress,"p":clientPort,"d":base64}, over the UNIX
// stream SOCKET to the test process (host namespace), which hands it to the
// simulated BMC or PDU on the host's loopback, or drops it while that device
// has no power. Lines coming back are sent from the same listening socket to
// the client. A listen with "tcp": PATH is a TCP port instead (a Redfish BMC's
// HTTPS): every connection is piped to a new connection to the UNIX socket PATH,
// whose other end (the test process) decides what reaches the device. Exits
// when SOCKET closes (the test process is gone).
import dgram from "node:dgram";
import net from "node:net";

const [socketPath, listensJson] = process.argv.slice(2);
const listens = JSON.parse(listensJson);
const sockets = [];

const conn = net.createConnection(socketPath);
conn.setEncoding("utf8");
conn.on("error", () => process.exit(1));
conn.on("close", () => process.exit(0));

let pending = "";
conn.on("data", (chunk) => {
  pending += chunk;
  let nl;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    try {
      const m = JSON.parse(line);
      const s = sockets[m.l];
      if (s) s.send(Buffer.from(m.d, "base64"), m.p, m.a);
    } catch {
      // a bad line: drop it, as a network would
    }
  }
});

let bound = 0;
const ready = () => {
  bound++;
  if (bound === listens.length) conn.write('{"ready":true}\n');
};

listens.forEach((l, i) => {
  if (l.tcp) {
    const server = net.createServer((client) => {
      const side = net.createConnection(l.tcp);
      client.pipe(side);
      side.pipe(client);
      client.on("error", () => side.destroy());
      side.on("error", () => client.destroy());
      client.on("close", () => side.destroy());
      side.on("close", () => client.destroy());
    });
    server.on("error", (err) => {
      process.stderr.write(`hub-relay: ${l.address}:${l.port}/tcp: ${err.message}\n`);
      process.exit(1);
    });
    server.listen(l.port, l.address, ready);
    return;
  }
  const s = dgram.createSocket("udp4");
  sockets[i] = s;
  s.on("message", (msg, rinfo) => {
    conn.write(
      `${JSON.stringify({ l: i, a: rinfo.address, p: rinfo.port, d: msg.toString("base64") })}\n`,
    );
  });
  s.on("error", (err) => {
    process.stderr.write(`hub-relay: ${l.address}:${l.port}: ${err.message}\n`);
    process.exit(1);
  });
  s.bind(l.port, l.address, ready);
});
