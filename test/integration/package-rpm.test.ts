/**
 * The RPM packages (scripts/package-rpm.mjs): built by `npm run package` with rpmbuild, checked
 * with rpmlint, their metadata read back with rpm -qp, then installed with `rpm --root` into a
 * scratch root (a bare file-system skeleton with a static busybox as /bin/sh, for the scriptlets),
 * their agents run from there, and removed: the root is as it was.
 *
 * `--nodeps` is used for the kvmha package only, and only because of what the scratch root cannot
 * have: the runtime libraries rpm's ELF generator requires (libc.so.6, ld-linux-x86-64.so.2, and
 * what else the executable's runtime links) and /bin/sh, which no package in its empty rpm database
 * provides. kvmha-fence-aliases is installed without it: its one Requires (kvmha = version) is met.
 */
import assert from "node:assert/strict";
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { agentPath } from "../lab/agents.js";
import { aliasTable, commandTable } from "../../lib/cli/main.js";
import { requireStaticBusybox } from "../lab/libvirt-bins.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  version: string;
};
const V = `${pkg.version}-1`;
// The kvmha package's own names; fence-agents' names (fence_redfish too) are the aliases package's.
const fenceAgents = commandTable()
  .filter((c) => c.shipped && c.kind === "fence" && c.package === "kvmha")
  .map((c) => c.name);
const ocfAgents = commandTable()
  .filter((c) => c.shipped && c.kind === "ocf")
  .map((c) => c.name);
const aliases = aliasTable();
/** What a distribution's filesystem package would have made before kvmha is installed. */
const SKELETON = [
  "usr/bin",
  "usr/sbin",
  "usr/lib",
  "usr/libexec",
  "usr/share/man/man7",
  "usr/share/man/man8",
  "usr/share/doc",
  "usr/share/licenses",
  "var/lib/rpm",
  "var/tmp",
  "tmp",
];

let work = "";
let scratch = "";
const rpms = { main: "", aliases: "" };

function sh(
  program: string,
  args: readonly string[],
  timeoutMs = 120_000,
): SpawnSyncReturns<string> {
  const r = spawnSync(program, args, {
    encoding: "utf8",
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C", HOME: work },
    timeout: timeoutMs,
    killSignal: "SIGKILL",
    maxBuffer: 64 << 20,
  });
  if (r.error) throw new Error(`${program} ${args.join(" ")}: ${r.error.message}`);
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** rpm on the scratch root (Debian's rpm keeps its database under $HOME unless told). */
function rpmRoot(args: readonly string[]): SpawnSyncReturns<string> {
  return sh("rpm", ["--root", scratch, "--dbpath", "/var/lib/rpm", ...args]);
}

/** Every path under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

before(() => {
  for (const [tool, deb] of [
    ["rpmbuild", "rpm"],
    ["rpm", "rpm"],
    ["rpmlint", "rpmlint"],
  ] as const) {
    if (spawnSync(tool, ["--version"]).error)
      throw new Error(`${tool} is not installed (Debian package ${deb}; scripts/lab-deps.sh)`);
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-rpm-test-"));
  ok(
    sh(
      process.execPath,
      [
        path.join(ROOT, "scripts/package.mjs"),
        "--no-build",
        "--formats",
        "rpm",
        "--compression",
        "gzip",
        "--out",
        path.join(work, "out"),
      ],
      15 * 60_000,
    ),
    "package.mjs --formats rpm",
  );
  rpms.main = path.join(work, "out", `kvmha-${V}.x86_64.rpm`);
  rpms.aliases = path.join(work, "out", `kvmha-fence-aliases-${V}.noarch.rpm`);

  scratch = path.join(work, "root");
  for (const d of SKELETON) fs.mkdirSync(path.join(scratch, d), { recursive: true });
  fs.copyFileSync(requireStaticBusybox(), path.join(scratch, "usr/bin/sh"));
  fs.chmodSync(path.join(scratch, "usr/bin/sh"), 0o755);
  fs.symlinkSync("usr/bin", path.join(scratch, "bin"));
  fs.symlinkSync("usr/sbin", path.join(scratch, "sbin"));
  ok(rpmRoot(["--initdb"]), "rpm --initdb");
});

after(() => {
  if (work !== "") fs.rmSync(work, { recursive: true, force: true });
});

describe("RPM packages: built, linted, read back", () => {
  it("rpmlint finds no error (packaging/rpm/rpmlintrc only filters the missing signature)", () => {
    const r = sh("rpmlint", [
      "-r",
      path.join(ROOT, "packaging/rpm/rpmlintrc"),
      rpms.main,
      rpms.aliases,
    ]);
    const out = `${r.stdout}${r.stderr}`;
    assert.match(out, / 0 errors, /, out);
    assert.doesNotMatch(out, /: E: /, out);
  });

  it("kvmha: the executable, every agent's link and man page, templates, docs, licenses", () => {
    const files = ok(sh("rpm", ["-qpl", rpms.main]), "rpm -qpl")
      .trim()
      .split("\n");
    const want = [
      "/usr/libexec/kvmha/kvmha",
      "/usr/sbin/kvmha",
      "/usr/share/man/man8/kvmha.8.gz",
      "/usr/share/licenses/kvmha/COPYING",
      "/usr/share/licenses/kvmha/COPYRIGHT",
      "/usr/share/kvmha/cib.xml.tmpl",
      "/usr/share/doc/kvmha/install.md.gz",
      ...fenceAgents.flatMap((a) => [`/usr/sbin/${a}`, `/usr/share/man/man8/${a}.8.gz`]),
      ...ocfAgents.flatMap((a) => [
        `/usr/lib/ocf/resource.d/kvmha/${a}`,
        `/usr/share/man/man7/ocf_kvmha_${a}.7.gz`,
      ]),
    ];
    for (const f of want) assert.ok(files.includes(f), `${f} missing from:\n${files.join("\n")}`);
    // Nothing Debian-only.
    assert.deepEqual(
      files.filter((f) => /changelog\.Debian|\/DEBIAN\//.test(f)),
      [],
    );
  });

  it("kvmha: Requires from the ELF generator, virsh recommended, the install-agents guard", () => {
    const requires = ok(sh("rpm", ["-qpR", rpms.main]), "rpm -qpR");
    // Every library the executable needs (its DT_NEEDED entries, whichever runtime it embeds) is
    // required, and nothing more.
    const needed = [
      ...ok(sh("readelf", ["-d", agentPath("kvmha")]), "readelf").matchAll(
        /\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g,
      ),
    ].map((m) => `${m[1]}()(64bit)`);
    assert.ok(needed.includes("libc.so.6()(64bit)"), needed.join(" "));
    const libs = requires.split("\n").filter((r) => /^lib|^ld-/.test(r) && r.endsWith("()(64bit)"));
    assert.deepEqual(libs.sort(), needed.sort(), requires);
    assert.match(
      ok(sh("rpm", ["-qp", "--recommends", rpms.main]), "--recommends"),
      /^\/usr\/bin\/virsh$/m,
    );
    assert.match(
      ok(sh("rpm", ["-qp", "--scripts", rpms.main]), "--scripts"),
      /preinstall scriptlet[\s\S]*install-manifest\.json/,
    );
  });

  it("kvmha-fence-aliases: noarch, needs this very kvmha, conflicts with fence-agents' owners", () => {
    assert.equal(ok(sh("rpm", ["-qp", "--qf", "%{ARCH}", rpms.aliases]), "arch"), "noarch");
    assert.match(ok(sh("rpm", ["-qpR", rpms.aliases]), "-qpR"), new RegExp(`^kvmha = ${V}$`, "m"));
    const conflicts = ok(sh("rpm", ["-qp", "--conflicts", rpms.aliases]), "--conflicts");
    for (const owner of ["fence-agents-ipmilan", "fence-agents-apc-snmp", "fence-agents"])
      assert.match(conflicts, new RegExp(`^${owner}$`, "m"));
    const files = ok(sh("rpm", ["-qpl", rpms.aliases]), "rpm -qpl");
    for (const a of aliases) {
      assert.match(files, new RegExp(`^/usr/sbin/${a.name}$`, "m"));
      assert.match(files, new RegExp(`^/usr/share/man/man8/${a.name}\\.8\\.gz$`, "m"));
    }
  });
});

describe("RPM packages: installed into a scratch root with rpm --root, run, removed", () => {
  let before: string[] = [];

  it("the preinstall scriptlet refuses a root holding an install-agents copy", () => {
    const manifest = path.join(scratch, "usr/lib/kvmha/install-manifest.json");
    fs.mkdirSync(path.dirname(manifest), { recursive: true });
    fs.writeFileSync(manifest, "{}\n");
    try {
      const r = rpmRoot(["-i", "--nodeps", rpms.main]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /installed by 'npm run install-agents'/);
      assert.equal(rpmRoot(["-q", "kvmha"]).status, 1, "kvmha is recorded as installed");
    } finally {
      fs.rmSync(path.join(scratch, "usr/lib/kvmha"), { recursive: true, force: true });
    }
  });

  it("installs (kvmha with --nodeps, the aliases without), and rpm -V finds nothing changed", () => {
    before = tree(scratch).filter((p) => !p.startsWith("var/lib/rpm"));
    const refused = rpmRoot(["-i", rpms.main]);
    assert.notEqual(refused.status, 0, "installed without its C runtime?");
    assert.match(refused.stderr, /libc\.so\.6.* is needed by kvmha/);
    ok(rpmRoot(["-i", "--nodeps", rpms.main]), "rpm -i --nodeps kvmha");
    ok(rpmRoot(["-i", rpms.aliases]), "rpm -i kvmha-fence-aliases");
    ok(rpmRoot(["-V", "--nodeps", "kvmha", "kvmha-fence-aliases"]), "rpm -V");
  });

  it("every agent and alias answers -o metadata from the scratch root, VirtualDomain meta-data", () => {
    for (const name of [...fenceAgents, ...aliases.map((a) => a.name)]) {
      const xml = ok(sh(path.join(scratch, "usr/sbin", name), ["-o", "metadata"]), name);
      assert.match(xml, new RegExp(`<resource-agent name="${name}"`), name);
    }
    for (const name of ocfAgents) {
      const xml = ok(
        sh(path.join(scratch, "usr/lib/ocf/resource.d/kvmha", name), ["meta-data"]),
        name,
      );
      assert.match(xml, new RegExp(`<resource-agent name="${name}"`), name);
    }
    assert.equal(
      ok(sh(path.join(scratch, "usr/sbin/kvmha"), ["--version"]), "kvmha --version").split(" ")[0],
      "kvmha",
    );
  });

  it("removal leaves the root as it was", () => {
    const refused = rpmRoot(["-e", "kvmha"]);
    assert.notEqual(refused.status, 0, "kvmha removed under its aliases");
    ok(rpmRoot(["-e", "kvmha-fence-aliases", "kvmha"]), "rpm -e");
    assert.equal(rpmRoot(["-qa"]).stdout.trim(), "");
    assert.deepEqual(
      tree(scratch).filter((p) => !p.startsWith("var/lib/rpm")),
      before,
    );
  });
});
