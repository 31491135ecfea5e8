#!/usr/bin/env node
// One-off: turns the reference captures (pcap + decoded text) into the JSON vectors next to this
// file. Run by hand when the captures change:
//   node test/vectors/ipmi/make-vectors.mjs /work/shared/reference/ipmi
// The unit tests read only the JSON files, never the captures.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = process.argv[2];
if (!src) {
  console.error('usage: make-vectors.mjs <directory with the reference captures>');
  process.exit(2);
}
const out = dirname(fileURLToPath(import.meta.url));

/** UDP payloads of a classic little/big-endian pcap with Ethernet, raw IP or Linux cooked frames. */
function readPcap(file) {
  const b = readFileSync(file);
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${file}: not a pcap`);
  const u32 = (o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const link = u32(20);
  const skip = { 1: 14, 101: 0, 113: 16, 0: 4 }[link];
  if (skip === undefined) throw new Error(`${file}: link type ${link}`);
  const packets = [];
  for (let o = 24; o + 16 <= b.length; ) {
    const len = u32(o + 8);
    let p = b.subarray(o + 16 + skip, o + 16 + len);
    o += 16 + len;
    if ((p[0] >> 4) !== 4 || p[9] !== 17) continue; // IPv4 UDP only
    p = p.subarray((p[0] & 15) * 4);
    packets.push({ srcPort: p.readUInt16BE(0), dstPort: p.readUInt16BE(2), udp: p.subarray(8, p.readUInt16BE(4)) });
  }
  return packets;
}

/** The decoded text: one block per packet, "[RC->BMC] 48 bytes" then indented lines. */
function readDecoded(file) {
  const blocks = [];
  let cur;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\[(RC->BMC|BMC->RC)\] (\d+) bytes/.exec(line);
    if (m) {
      cur = { dir: m[1], bytes: Number(m[2]), text: '' };
      blocks.push(cur);
    } else if (cur) cur.text += line + '\n';
  }
  const hexOf = (s) => s.replace(/\s+/g, '').toLowerCase();
  for (const blk of blocks) {
    const t = blk.text;
    const f = {};
    let m;
    if ((m = /HMAC=([0-9a-f ]+?) -> (VALID|INVALID)/.exec(t))) {
      f.hmac = hexOf(m[1]);
      f.hmacValid = m[2] === 'VALID';
    }
    if ((m = /ICV=([0-9a-f ]+?) -> (VALID|INVALID)/.exec(t))) {
      f.icv = hexOf(m[1]);
      f.icvValid = m[2] === 'VALID';
    }
    if ((m = /SIK=([0-9a-f]+)/.exec(t))) f.sik = m[1];
    if ((m = /K1 =([0-9a-f]+)/.exec(t))) f.k1 = m[1];
    if ((m = /K2 =([0-9a-f]+)/.exec(t))) f.k2 = m[1];
    if ((m = /AuthCode=([0-9a-f ]+?) -> (VALID|INVALID)/.exec(t))) {
      f.authCode = hexOf(m[1]);
      f.authCodeValid = m[2] === 'VALID';
    }
    if ((m = /IV=([0-9a-f ]+)\n/.exec(t))) f.iv = hexOf(m[1]);
    if ((m = /plaintext=([0-9a-f ]+?)(?: \(|\n)/.exec(t))) f.plaintextPadded = hexOf(m[1]);
    if ((m = / seq=(\d+) len=/.exec(t))) f.sessionSeq = Number(m[1]);
    if ((m = /OpenSessionRsp tag=\d+ status=0x([0-9a-f]+)/.exec(t))) f.openSessionStatus = parseInt(m[1], 16);
    if ((m = /IPMI: (.*)\n/.exec(t)) || (m = /msg: (.*)\n/.exec(t))) f.ipmi = m[1].trim();
    blk.fields = f;
  }
  return blocks;
}

const CAPTURES = [
  'rmcpplus_C3_chassis_status',
  'rmcpplus_C3_chassis_off_on',
  'rmcpplus_C3_wrong_password',
  'rmcpplus_C17_rejected',
  'rmcpplus_noC_get_cipher_suites',
  'ipmi15_md5_chassis_status',
  'ipmi15_md5_wrong_password',
];

for (const name of CAPTURES) {
  const pcap = readPcap(join(src, `${name}.pcap`));
  const bmcPort = 9623;
  const decodedFile = join(src, `${name}.decoded.txt`);
  const decoded = existsSync(decodedFile) ? readDecoded(decodedFile) : undefined;
  if (decoded && decoded.length !== pcap.length) throw new Error(`${name}: ${decoded.length} decoded blocks, ${pcap.length} packets`);
  const packets = pcap.map((p, i) => {
    const dir = p.dstPort === bmcPort ? 'rc->bmc' : 'bmc->rc';
    const entry = { dir, hex: p.udp.toString('hex') };
    if (decoded) {
      const blk = decoded[i];
      if (blk.bytes !== p.udp.length || (blk.dir === 'RC->BMC') !== (dir === 'rc->bmc')) {
        throw new Error(`${name}: packet ${i} does not match its decoded block`);
      }
      Object.assign(entry, blk.fields);
    }
    return entry;
  });
  const vector = {
    source: `${name}.pcap${decoded ? ` + ${name}.decoded.txt` : ''}: ipmitool 1.8.19 vs OpenIPMI ipmi_sim 2.0.33 over loopback`,
    username: 'admin',
    password: 'secret',
    bmcGuid: 'a123456789abcdefa123456789abcdef',
    ...(name.endsWith('wrong_password')
      ? { note: "password is the BMC's; the client's wrong password is not recorded (any decoded SIK/K1/K2 derive from it)" }
      : {}),
    packets,
  };
  writeFileSync(join(out, `${name}.json`), JSON.stringify(vector, null, 1) + '\n');
  console.log(`${name}.json: ${packets.length} packets`);
}
