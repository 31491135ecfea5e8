// resource-agents' ocf-tester against the built ocf:kvmha:VirtualDomain (dist/bin/VirtualDomain),
// with the lab libvirtd's test driver (held open, so every virsh run sees the same state).
// Needs `npm run build` first. Run: node --import tsx --test test/integration/virtualdomain-ocf-tester.test.ts

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";

import { startLibvirt, type Libvirt } from "../lab/libvirt-daemon.js";
import { pathWithoutCib } from "../lab/libvirt-ocf.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const AGENT = path.join(ROOT, "dist", "bin", "VirtualDomain");
const OCF_TESTER = "/usr/sbin/ocf-tester";

describe("ocf-tester against VirtualDomain (test driver)", { timeout: 120_000 }, () => {
  let lv: Libvirt | undefined;
  let dir: string;
  before(async () => {
    assert.ok(fs.existsSync(AGENT), `${AGENT} is missing: run npm run build`);
    assert.ok(
      fs.existsSync(OCF_TESTER),
      `${OCF_TESTER} is missing: install the Debian package resource-agents`,
    );
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "vd-ocft-"));
    lv = await startLibvirt();
    await lv.holdTestDriver();
  });
  after(async () => {
    await lv?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("passes every check", async () => {
    const config = path.join(dir, "vd-ocft.xml");
    fs.writeFileSync(
      config,
      `<domain type='test'>\n  <name>vd-ocft</name>\n  <memory unit='MiB'>64</memory>\n  <os><type>hvm</type></os>\n</domain>\n`,
    );
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(
        OCF_TESTER,
        ["-v", "-n", "vd-ocft", "-o", `config=${config}`, "-o", `hypervisor=${lv!.testUri}`, AGENT],
        {
          env: { PATH: pathWithoutCib(), HA_RSCTMP: path.join(dir, "rsctmp"), LC_ALL: "C" },
          timeout: 100_000,
          encoding: "utf8",
        },
        (err, stdout, stderr) =>
          resolve({
            code: err === null ? 0 : typeof err.code === "number" ? err.code : null,
            out: `${stdout}${stderr}`,
          }),
      );
    });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /passed all tests/, r.out);
    assert.doesNotMatch(r.out, /\* rc=|Tests failed/, r.out);
  });
});
