/**
 * ocf:kvmha:VirtualDomain without libvirt: the domain-XML reader, the libvirt state mapping, QEMU's
 * -name argument, the virsh runner's deadline, and the meta-data (against ra-api-1.dtd, and the
 * parameters, defaults and actions of resource-agents' ocf:heartbeat:VirtualDomain).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { virtualDomain } from "../../agents/VirtualDomain.js";
import { Deadline } from "../../lib/deadline.js";
import { DomainXmlError, parseDomainXml } from "../../lib/libvirt/domain-xml.js";
import { qemuNameArg, qemuProcessRunning } from "../../lib/libvirt/qemu-process.js";
import {
  isConnectionFailure,
  isNotFound,
  isNotRunning,
  parseDomstate,
} from "../../lib/libvirt/state.js";
import { virsh, virshMessage } from "../../lib/libvirt/virsh.js";
import { metadataXml } from "../../lib/ocf/metadata.js";
import { assertBounded } from "../lab/bounds.js";

const DTD = "/usr/share/resource-agents/ra-api-1.dtd";
const REFERENCE = "/usr/lib/ocf/resource.d/heartbeat/VirtualDomain";

function need(path: string, pkg: string): void {
  assert.ok(
    existsSync(path),
    `${path} is missing: install the Debian package ${pkg} (scripts/lab-deps.sh)`,
  );
}

describe("domain XML", () => {
  it("reads name, UUID (normalized), type and emulator", async () => {
    const d = await parseDomainXml(
      "<?xml version='1.0'?>\n<!-- a comment <name>no</name> -->\n<domain type='kvm'>\n  <name>\n  vm1 </name>\n  <uuid>4DEA22B31D52D8F32516782E98AB3FA0</uuid>\n  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>\n</domain>\n",
    );
    assert.deepEqual(d, {
      name: "vm1",
      uuid: "4dea22b3-1d52-d8f3-2516-782e98ab3fa0",
      type: "kvm",
      emulator: "/usr/bin/qemu-system-x86_64",
      vcpus: undefined,
      memoryKib: undefined,
      pools: [],
      networks: [],
    });
  });
  it("decodes entities and CDATA, ignores <name> elsewhere (metadata, devices)", async () => {
    const d = await parseDomainXml(
      "<domain type='test'><metadata><x:name xmlns:x='urn:x'>other</x:name></metadata><name><![CDATA[a&b]]></name><devices><disk><name>nope</name></disk></devices></domain>",
    );
    assert.equal(d.name, "a&b");
    assert.equal(d.uuid, undefined);
    assert.equal(
      (await parseDomainXml("<domain type='qemu'><name>x&amp;y</name></domain>")).name,
      "x&y",
    );
  });
  it("refuses what is not a domain, with one-line reasons", async () => {
    const bad: [string, RegExp][] = [
      ["", /empty/],
      ["<domain type='kvm'><name>a</name>", /not well-formed/],
      ["<network><name>a</name></network>", /root element is <network>/],
      ["<domain><name>a</name></domain>", /no type attribute/],
      ["<domain type='kvm'><name> </name></domain>", /no <name>/],
      ["<domain type='kvm'></domain>", /no <name>/],
      ["<domain type='kvm'><name>a</name><name>b</name></domain>", /2 <name> elements/],
      ["<domain type='kvm'><name>a</name><uuid>xyz</uuid></domain>", /not a UUID/],
    ];
    for (const [xml, re] of bad) {
      await assert.rejects(
        parseDomainXml(xml),
        (e: unknown) =>
          e instanceof DomainXmlError && re.test(e.message) && !e.message.includes("\n"),
        xml,
      );
    }
  });
});

describe("libvirt states", () => {
  const cases: [string, string, string, string][] = [
    ["running (booted)\n\n", "running", "booted", "running"],
    ["running (unknown)", "running", "unknown", "running"],
    ["idle (unknown)", "idle", "unknown", "running"],
    ["blocked", "blocked", "", "running"],
    ["in shutdown (user)", "in shutdown", "user", "running"],
    ["paused (user)", "paused", "user", "running"],
    ["paused (migrating)", "paused", "migrating", "running"],
    ["paused (ioerror)", "paused", "ioerror", "failed"],
    ["paused (I/O error)", "paused", "i/o error", "failed"],
    ["paused (crashed)", "paused", "crashed", "failed"],
    ["paused (post-copy failed)", "paused", "post-copy failed", "failed"],
    ["crashed (panicked)", "crashed", "panicked", "failed"],
    ["shut off (destroyed)", "shut off", "destroyed", "stopped"],
    ["shut off (shutdown)", "shut off", "shutdown", "stopped"],
    ["pmsuspended (unknown)", "pmsuspended", "unknown", "running"],
    ["no state", "no state", "", "unknown"],
    ["", "", "", "unknown"],
  ];
  for (const [out, state, reason, health] of cases) {
    it(`'${out.trim()}' is ${health}`, () =>
      assert.deepEqual(parseDomstate(out), { state, reason, health }));
  }
  it("classifies virsh errors", () => {
    assert.ok(isNotFound("failed to get domain 'x'"));
    assert.ok(isNotFound("Domain not found: no domain with matching name 'x'"));
    assert.ok(!isNotFound("failed to connect to the hypervisor"));
    assert.ok(
      isConnectionFailure(
        "failed to connect to the hypervisor; Failed to connect socket to '/x': No such file or directory",
      ),
    );
    assert.ok(
      isNotRunning(
        "Failed to destroy domain 'test'; Requested operation is not valid: domain is not running",
      ),
    );
  });
});

describe("QEMU's -name", () => {
  it("finds the guest name", () => {
    assert.equal(qemuNameArg("guest=vm1,debug-threads=on"), "vm1");
    assert.equal(qemuNameArg("vm1"), "vm1");
    assert.equal(qemuNameArg("guest=a,,b,debug-threads=on"), "a,b");
    assert.equal(qemuNameArg("debug-threads=on"), "");
  });
  it("scans a /proc tree for a QEMU process of that guest", async () => {
    const proc = mkdtempSync(join(tmpdir(), "vd-proc-"));
    const add = (pid: string, argv: string[]): void => {
      mkdirSync(join(proc, pid));
      writeFileSync(join(proc, pid, "cmdline"), `${argv.join("\0")}\0`);
    };
    add("10", ["/usr/bin/qemu-system-x86_64", "-name", "guest=vm1,debug-threads=on", "-S"]);
    add("11", ["/bin/sh", "-c", "echo -name guest=vm2"]);
    add("12", ["qemu-kvm", "-name", "vm3"]);
    mkdirSync(join(proc, "self"));
    assert.equal(await qemuProcessRunning("vm1", proc), true);
    assert.equal(await qemuProcessRunning("vm2", proc), false);
    assert.equal(await qemuProcessRunning("vm3", proc), true);
    assert.equal(await qemuProcessRunning("vm", proc), false);
  });
});

describe("virsh runner", () => {
  it("kills a hung virsh at its deadline and says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vd-virsh-"));
    const fake = join(dir, "virsh");
    writeFileSync(fake, '#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\nexec sleep 30\n');
    chmodSync(fake, 0o755);
    const t0 = Date.now();
    const r = await virsh(["domstate", "x"], Deadline.in(500), {
      program: fake,
      uri: "test:///default",
    });
    assertBounded(Date.now() - t0, 500, "a hung virsh is killed at its deadline");
    assert.equal(r.timedOut, true);
    assert.equal(r.code, undefined);
    assert.deepEqual(r.args, ["--connect", "test:///default", "--quiet", "domstate", "x"]);
  });
  it("reports a missing program and an error message", async () => {
    const r = await virsh(["uri"], Deadline.in(2000), { program: "/nonexistent/virsh" });
    assert.equal(r.spawnError, "ENOENT");
    const dir = mkdtempSync(join(tmpdir(), "vd-virsh-"));
    const fake = join(dir, "virsh");
    writeFileSync(
      fake,
      "#!/bin/sh\necho 'error: failed to get domain' >&2\necho 'error: Domain not found' >&2\nexit 1\n",
    );
    chmodSync(fake, 0o755);
    const e = await virsh(["domstate", "x"], Deadline.in(2000), { program: fake });
    assert.equal(e.code, 1);
    assert.equal(virshMessage(e), "failed to get domain; Domain not found");
  });
  it("does not start a call with no time left", async () => {
    const r = await virsh(["uri"], Deadline.in(0), { program: "/nonexistent/virsh" });
    assert.equal(r.timedOut, true);
    assert.equal(r.spawnError, undefined);
  });
});

describe("VirtualDomain meta-data", () => {
  // What ocf-tester and a shell see (no OCF_RA_VERSION_*): OCF 1.0, valid against the DTD.
  const xml = metadataXml(virtualDomain, { ocf11: false });
  it("is valid against ra-api-1.dtd", () => {
    need(DTD, "resource-agents");
    need("/usr/bin/xmllint", "libxml2-utils");
    const r = spawnSync("xmllint", ["--dtdvalid", DTD, "--noout", "-"], {
      input: xml,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
  });
  it("declares every parameter of ocf:heartbeat:VirtualDomain with its type, default and required flag", () => {
    need(REFERENCE, "resource-agents");
    const ref = spawnSync(REFERENCE, ["meta-data"], {
      encoding: "utf8",
      env: { ...process.env, OCF_ROOT: "/usr/lib/ocf" },
    }).stdout;
    const params = (text: string): Map<string, string> => {
      const out = new Map<string, string>();
      for (const m of text.matchAll(
        /<parameter name="([^"]+)"([^>]*)>[\s\S]*?<content type="([^"]+)"\s*(?:default="([^"]*)")?\s*\/>/g,
      )) {
        const required = /required="1"/.test(m[2] ?? "") ? "required" : "optional";
        out.set(m[1] as string, `${m[3]} ${required} default=${m[4] ?? "(none)"}`);
      }
      return out;
    };
    const theirs = params(ref);
    const ours = params(xml);
    assert.ok(theirs.size >= 25, `parsed ${theirs.size} reference parameters`);
    // Ours adds what users lack in the reference (docs/VirtualDomain.md); nothing else differs.
    const added = [
      "guest_agent_check",
      "migration_auto_converge",
      "migration_postcopy",
      "migration_postcopy_after",
      "migration_time_limit",
    ];
    assert.deepEqual(
      [...ours.keys()].filter((k) => !added.includes(k)).sort(),
      [...theirs.keys()].sort(),
    );
    for (const k of added) assert.ok(ours.has(k), k);
    for (const [name, what] of theirs) assert.equal(ours.get(name), what, name);
  });
  it("advertises the reference's timeouts for start, stop, monitor, status, migrate_to, migrate_from", () => {
    assert.match(xml, /<action name="start" timeout="90s" \/>/);
    assert.match(xml, /<action name="stop" timeout="90s" \/>/);
    assert.match(xml, /<action name="monitor" timeout="30s" interval="10s" depth="0" \/>/);
    assert.match(xml, /<action name="status" timeout="30s" interval="10s" depth="0" \/>/);
    assert.match(xml, /<action name="migrate_to" timeout="120s" \/>/);
    assert.match(xml, /<action name="migrate_from" timeout="60s" \/>/);
  });
  it("in the OCF 1.1 form (Pacemaker) advertises reload-agent and marks only what needs no restart reloadable; valid against pcs's ocf-1.1.rng", () => {
    const x11 = metadataXml(virtualDomain, { ocf11: true });
    assert.match(x11, /<version>1\.1<\/version>/);
    assert.match(x11, /<action name="reload-agent" timeout="20s" \/>/);
    assert.doesNotMatch(xml, /reload-agent|reloadable/);
    const reloadable = [...x11.matchAll(/<parameter name="([^"]+)"[^>]*reloadable="1"/g)].map(
      (m) => m[1],
    );
    for (const fixed of [
      "config",
      "hypervisor",
      "snapshot",
      "backingfile",
      "stateless",
      "copyindirs",
      "start_resources",
    ])
      assert.ok(!reloadable.includes(fixed), fixed);
    for (const r of [
      "monitor_scripts",
      "autoset_utilization_cpu",
      "unset_utilization_hv_memory",
      "migration_speed",
      "migrate_options",
      "guest_agent_check",
      "shutdown_mode",
      "force_stop",
    ])
      assert.ok(reloadable.includes(r), r);
    need("/usr/share/pcs/data/ocf-1.1.rng", "pcs");
    const r = spawnSync(
      "xmllint",
      ["--relaxng", "/usr/share/pcs/data/ocf-1.1.rng", "--noout", "-"],
      { input: x11, encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
  });
});
