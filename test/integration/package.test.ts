// Why one file: install, upgrade and purge are one sequence on this machine's /usr; split, files
// could interleave.
/**
 * The Debian packages (scripts/package.mjs), installed for real into this machine's /usr with
 * dpkg, beside Debian's fence-agents: contents, install, every surface an admin touches (pcs,
 * crmsh, stonith_admin, crm_resource, man, --version/--help), upgrade, removal, and that nothing
 * is left behind and fence-agents' files are back.
 *
 * It builds the packages itself (gzip-compressed, for speed: the data tree is the one `npm run
 * package` makes with xz), twice, with revisions 1 and 2 for the upgrade. It refuses to start while
 * anything of kvmha's is in /usr (pacemaker-tools.test.ts links fence agents into /usr/sbin while it
 * runs; a manual install), and purges what it installed in `after`, even when a test failed.
 */
import assert from "node:assert/strict";
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { aliasTable, commandTable, subcommandTable } from "../../lib/cli/main.js";
import { profileById } from "../../lib/pdu-profiles/index.js";
import { type LabProgram, requireProgram } from "../lab/bins.js";
import { inPrivateMounts } from "../lab/clients.js";
import { ADMIN_USER, startBmc } from "../lab/ipmi-bmc.js";
import { PDU_COMMUNITIES, startPdu } from "../lab/pdu-sim.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
const V1 = `${pkg.version}-1`;
const V2 = `${pkg.version}-2`;
const MAIN = "kvmha";
const ALIASES = "kvmha-fence-aliases";
const DIVERT_ROOT = "/usr/lib/kvmha-fence-aliases/diverted";
const LOCK = "/run/lock/kvmha-package-test";

// The kvmha package's own names; fence-agents' names (fence_redfish too) are the aliases package's.
const fenceAgents = commandTable()
  .filter((c) => c.shipped && c.kind === "fence" && c.package === "kvmha")
  .map((c) => c.name);
const ocfAgents = commandTable()
  .filter((c) => c.shipped && c.kind === "ocf")
  .map((c) => c.name);
const aliases = aliasTable();

/** Every path the two packages own or make, outside directories others share. */
const OURS = [
  "/usr/lib/kvmha",
  "/usr/sbin/kvmha",
  ...fenceAgents.map((a) => `/usr/sbin/${a}`),
  "/usr/lib/ocf/resource.d/kvmha",
  "/usr/share/kvmha",
  "/usr/share/doc/kvmha",
  "/usr/share/doc/kvmha-fence-aliases",
  "/usr/share/man/man8/kvmha.8.gz",
  ...fenceAgents.map((a) => `/usr/share/man/man8/${a}.8.gz`),
  ...ocfAgents.map((a) => `/usr/share/man/man7/ocf_kvmha_${a}.7.gz`),
  "/usr/lib/kvmha-fence-aliases",
];
const ALIAS_PATHS = aliases.flatMap((a) => [
  `/usr/sbin/${a.name}`,
  `/usr/share/man/man8/${a.name}.8.gz`,
]);

const programs = {} as Record<LabProgram, string>;
const bare = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C.UTF-8" };

function sh(
  program: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): SpawnSyncReturns<string> {
  const r = spawnSync(program, args, {
    encoding: "utf8",
    env: options.env ?? bare,
    timeout: options.timeoutMs ?? 60_000,
    killSignal: "SIGKILL",
    maxBuffer: 64 << 20,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  if (r.error) throw new Error(`${program} ${args.join(" ")}: ${r.error.message}`);
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * dpkg's view of a package: "install ok installed", "deinstall ok config-files", … or "" when dpkg
 * has no record of it (or only the "not-installed" one a refused install leaves).
 */
function dpkgStatus(name: string): string {
  const r = sh(programs.dpkg, ["-s", name]);
  const status = r.status === 0 ? (/^Status: (.*)$/m.exec(r.stdout)?.[1] ?? "") : "";
  return status.endsWith(" not-installed") ? "" : status;
}

/** dpkg-query's raw status line, "" when dpkg has no record at all. */
function dpkgRecord(name: string): string {
  const r = sh(programs.dpkg, ["-s", name]);
  return r.status === 0 ? (/^Status: (.*)$/m.exec(r.stdout)?.[1] ?? "") : "";
}

function diversionsByUs(): string[] {
  return ok(sh(programs["dpkg-divert"], ["--list"]), "dpkg-divert --list")
    .split("\n")
    .filter((l) => l.endsWith(` by ${ALIASES}`));
}

function md5(p: string): string {
  return createHash("md5").update(readFileSync(p)).digest("hex");
}

function controlField(deb: string, field: string): string {
  return ok(sh(programs["dpkg-deb"], ["-f", deb, field]), `dpkg-deb -f ${field}`).trim();
}

/** `dpkg-deb -c` as "path" or "path -> target", without the leading "./" and trailing "/". */
function contents(deb: string): string[] {
  return ok(sh(programs["dpkg-deb"], ["-c", deb]), "dpkg-deb -c")
    .trim()
    .split("\n")
    .map((l) => l.replace(/^\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+\.\//, "").replace(/\/$/, ""))
    .filter((l) => l !== "");
}

/**
 * A private copy of a current build (manifest.json, bin/kvmha), so that both revisions package the
 * same executable while other builds replace dist/ (a build removes the manifest while it works).
 */
function snapshotBuild(dir: string): string {
  let why = "";
  for (let attempt = 1; attempt <= 6; attempt++) {
    const b = sh(process.execPath, [join(ROOT, "scripts/build.mjs")], {
      env: process.env,
      timeoutMs: 10 * 60_000,
    });
    if (b.status === 0) {
      try {
        const manifest = readFileSync(join(ROOT, "dist/manifest.json"), "utf8");
        mkdirSync(join(dir, "bin"), { recursive: true });
        copyFileSync(join(ROOT, "dist/bin/kvmha"), join(dir, "bin/kvmha"));
        chmodSync(join(dir, "bin/kvmha"), 0o755);
        const size = (JSON.parse(manifest) as { size: number }).size;
        if (
          statSync(join(dir, "bin/kvmha")).size === size &&
          readFileSync(join(ROOT, "dist/manifest.json"), "utf8") === manifest
        ) {
          writeFileSync(join(dir, "manifest.json"), manifest);
          return dir;
        }
        why = "dist/ changed while it was copied";
      } catch (err) {
        why = (err as Error).message;
      }
    } else why = `${b.stdout}${b.stderr}`.trim().split("\n").slice(-1)[0] ?? "";
    sleepMs(5000); // another build is replacing dist/: let it finish
  }
  throw new Error(`no stable build to package: ${why}`);
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe(
  "Debian packages: install, surfaces, upgrade, removal beside fence-agents",
  { concurrency: false },
  () => {
    let work = "";
    let lockHeld = false;
    let weInstalled = false;
    const debs = { main1: "", alias1: "", main2: "", alias2: "" };
    /** fence-agents' files under the alias names, and their md5, before anything happened. */
    const fenceAgentsFiles = new Map<string, string>();

    before(() => {
      for (const p of [
        "dpkg",
        "dpkg-deb",
        "dpkg-divert",
        "dpkg-shlibdeps",
        "man",
        "pcs",
        "crm",
        "stonith_admin",
        "crm_resource",
        "cibadmin",
        "fence_ipmilan",
      ] as const) {
        programs[p] = requireProgram(p);
      }
      // One package test at a time on this machine: it owns /usr/lib/kvmha while it runs.
      try {
        mkdirSync(LOCK);
      } catch {
        const holder = existsSync(join(LOCK, "pid"))
          ? readFileSync(join(LOCK, "pid"), "utf8").trim()
          : "";
        const alive = /^\d+$/.test(holder) && existsSync(`/proc/${holder}`);
        if (alive) throw new Error(`another package test (pid ${holder}) holds ${LOCK}`);
        rmSync(LOCK, { recursive: true, force: true }); // its holder is gone
        mkdirSync(LOCK);
      }
      writeFileSync(join(LOCK, "pid"), `${process.pid}\n`);
      lockHeld = true;

      for (const name of [MAIN, ALIASES]) {
        const status = dpkgStatus(name);
        if (status !== "")
          throw new Error(
            `${name} is already known to dpkg (${status}): purge it first (dpkg --purge ${name}); this test installs and purges it`,
          );
      }
      const inTheWay = OURS.filter(exists);
      if (inTheWay.length > 0) {
        throw new Error(
          `${inTheWay.join(", ")} exist (a manual install, or pacemaker-tools.test.ts running): this test installs the package into /usr and needs these paths free`,
        );
      }
      if (diversionsByUs().length > 0)
        throw new Error(
          `diversions by ${ALIASES} exist without the package: ${diversionsByUs().join("; ")}`,
        );
      const owned = new Set(
        ok(sh(programs.dpkg, ["-L", "fence-agents"]), "dpkg -L fence-agents").split("\n"),
      );
      for (const p of ALIAS_PATHS)
        if (owned.has(p) && existsSync(p)) fenceAgentsFiles.set(p, md5(p));
      assert.ok(
        fenceAgentsFiles.has("/usr/sbin/fence_ilo3"),
        "fence-agents must ship /usr/sbin/fence_ilo3 for this test",
      );

      work = mkdtempSync(join(tmpdir(), "kvmha-package-test-"));
      const build = snapshotBuild(join(work, "build"));
      for (const [rev, main, alias] of [
        ["1", "main1", "alias1"],
        ["2", "main2", "alias2"],
      ] as const) {
        const args = [
          join(ROOT, "scripts/package.mjs"),
          "--from",
          build,
          "--out",
          join(work, rev),
          "--revision",
          rev,
          "--compression",
          "gzip",
          "--formats",
          "deb",
        ];
        ok(
          sh(process.execPath, args, { env: process.env, timeoutMs: 15 * 60_000 }),
          `package.mjs --revision ${rev}`,
        );
        debs[main] = join(work, rev, `${MAIN}_${pkg.version}-${rev}_amd64.deb`);
        debs[alias] = join(work, rev, `${ALIASES}_${pkg.version}-${rev}_all.deb`);
      }
    });

    after(() => {
      try {
        if (weInstalled) {
          for (const name of [ALIASES, MAIN]) {
            if (dpkgRecord(name) !== "")
              sh(programs.dpkg, ["--purge", name], { timeoutMs: 120_000 });
          }
        }
      } finally {
        if (work !== "") rmSync(work, { recursive: true, force: true });
        if (lockHeld) rmSync(LOCK, { recursive: true, force: true });
      }
    });

    it("kvmha: control fields, files, links, man pages, md5sums", () => {
      const deb = debs.main1;
      assert.equal(controlField(deb, "Package"), MAIN);
      assert.equal(controlField(deb, "Version"), V1);
      assert.equal(controlField(deb, "Architecture"), "amd64");
      assert.equal(controlField(deb, "Section"), "admin");
      assert.match(controlField(deb, "Maintainer"), /^.+ <.+@.+>$/);
      assert.match(controlField(deb, "Installed-Size"), /^\d+$/);
      assert.ok(Number(controlField(deb, "Installed-Size")) > 100_000); // the ~115 MB executable, in KiB
      // Only what the executable links against: libc, and for Node's runtime the C++ runtime.
      const depends = controlField(deb, "Depends")
        .split(", ")
        .map((d) => d.split(" ")[0]);
      assert.ok(depends.includes("libc6"), depends.join(", "));
      for (const d of depends) assert.ok(["libc6", "libgcc-s1", "libstdc++6"].includes(d ?? ""), d);
      assert.equal(controlField(deb, "Recommends"), "libvirt-clients");
      assert.match(
        controlField(deb, "Description"),
        /^high availability for KVM guests under Pacemaker\n /,
      );

      const files = contents(deb);
      const expected = [
        "usr/lib/kvmha/kvmha",
        "usr/sbin/kvmha -> ../lib/kvmha/kvmha",
        ...fenceAgents.map((a) => `usr/sbin/${a} -> ../lib/kvmha/kvmha`),
        ...ocfAgents.map((a) => `usr/lib/ocf/resource.d/kvmha/${a} -> ../../../kvmha/kvmha`),
        "usr/share/man/man8/kvmha.8.gz",
        ...fenceAgents.map((a) => `usr/share/man/man8/${a}.8.gz`),
        ...ocfAgents.map((a) => `usr/share/man/man7/ocf_kvmha_${a}.7.gz`),
        "usr/share/doc/kvmha/copyright",
        "usr/share/doc/kvmha/changelog.Debian.gz",
      ];
      for (const f of expected)
        assert.ok(files.includes(f), `${f} missing from ${files.join("\n")}`);
      // Docs, compressed above 4 KiB (policy 12.3).
      for (const f of [
        "README.md",
        "install.md",
        "migration.md",
        "fence_ipmi.md",
        "fence_pdu.md",
        "VirtualDomain.md",
      ]) {
        assert.ok(
          files.includes(`usr/share/doc/kvmha/${f}`) ||
            files.includes(`usr/share/doc/kvmha/${f}.gz`),
          f,
        );
      }
      // Whatever crm-templates/ holds, under /usr/share/kvmha.
      const templates = ok(
        sh("git", [
          "-C",
          ROOT,
          "ls-files",
          "--others",
          "--cached",
          "--exclude-standard",
          "crm-templates",
        ]),
        "git ls-files",
      )
        .trim()
        .split("\n")
        .filter((f) => f !== "" && existsSync(join(ROOT, f)));
      assert.ok(templates.length > 0);
      for (const t of templates)
        assert.ok(files.includes(`usr/share/kvmha/${t.slice("crm-templates/".length)}`), t);
      // Nothing of the fence-agents names in the main package: those are the aliases package's.
      // (Their documents are the main package's: usr/share/doc/kvmha/fence_redfish.md.gz.)
      for (const a of aliases)
        assert.ok(!files.some((f) => f.includes(a.name) && !f.includes("/doc/kvmha/")), a.name);

      const x = join(work, "x1");
      ok(sh(programs["dpkg-deb"], ["-R", deb, x]), "dpkg-deb -R");
      const sums = readFileSync(join(x, "DEBIAN/md5sums"), "utf8").trim().split("\n");
      const regular = files.filter(
        (f) => !f.includes(" -> ") && existsSync(join(x, f)) && lstatSync(join(x, f)).isFile(),
      );
      assert.deepEqual(sums.map((l) => l.split("  ")[1]).sort(), regular.sort());
      for (const l of sums) {
        const [sum, path] = l.split("  ");
        assert.equal(md5(join(x, path as string)), sum, path);
      }
      assert.equal(lstatSync(join(x, "usr/lib/kvmha/kvmha")).mode & 0o777, 0o755);
      // Man pages are gzip -9n: no name and no time stamp in the header.
      const gz = readFileSync(join(x, "usr/share/man/man8/fence_ipmi.8.gz"));
      assert.equal(gz.readUInt8(3) & 0x08, 0, "FNAME set");
      assert.equal(gz.readUInt32LE(4), 0, "MTIME set");
      rmSync(x, { recursive: true, force: true });
    });

    it("kvmha-fence-aliases: links and man pages for every alias, divert scripts, exact dependency", () => {
      const deb = debs.alias1;
      assert.equal(controlField(deb, "Architecture"), "all");
      assert.equal(controlField(deb, "Depends"), `kvmha (= ${V1})`);
      const files = contents(deb);
      for (const a of aliases) {
        assert.ok(files.includes(`usr/sbin/${a.name} -> ../lib/kvmha/kvmha`), a.name);
        assert.ok(files.includes(`usr/share/man/man8/${a.name}.8.gz`), a.name);
      }
      assert.ok(files.includes("usr/share/doc/kvmha-fence-aliases/copyright"));
      const x = join(work, "x2");
      ok(sh(programs["dpkg-deb"], ["-e", deb, x]), "dpkg-deb -e");
      const preinst = readFileSync(join(x, "preinst"), "utf8");
      for (const p of ALIAS_PATHS) assert.ok(preinst.includes(p), p);
      assert.match(
        readFileSync(join(x, "postrm"), "utf8"),
        /dpkg-divert --package kvmha-fence-aliases --remove --rename/,
      );
      rmSync(x, { recursive: true, force: true });
    });

    it("kvmha refuses to install over a copy made by npm run install-agents", () => {
      mkdirSync("/usr/lib/kvmha");
      try {
        writeFileSync("/usr/lib/kvmha/install-manifest.json", "{}\n");
        const r = sh(programs.dpkg, ["-i", debs.main1], { timeoutMs: 300_000 });
        weInstalled = true; // whatever dpkg did, after() must look
        assert.notEqual(r.status, 0);
        assert.match(r.stdout + r.stderr, /installed by 'npm run install-agents'/);
        assert.equal(dpkgStatus(MAIN), ""); // dpkg keeps only a "not-installed" record, gone at purge
        assert.ok(!exists("/usr/sbin/kvmha"));
      } finally {
        rmSync("/usr/lib/kvmha/install-manifest.json", { force: true });
        rmdirSync("/usr/lib/kvmha");
      }
    });

    it("dpkg -i installs both beside fence-agents; its files are diverted, unchanged, under their own names", () => {
      weInstalled = true;
      ok(sh(programs.dpkg, ["-i", debs.main1, debs.alias1], { timeoutMs: 300_000 }), "dpkg -i");
      assert.equal(dpkgStatus(MAIN), "install ok installed");
      assert.equal(dpkgStatus(ALIASES), "install ok installed");
      assert.equal(readlinkSync("/usr/sbin/fence_ipmi"), "../lib/kvmha/kvmha");
      assert.equal(diversionsByUs().length, ALIAS_PATHS.length);
      for (const p of ALIAS_PATHS) {
        assert.ok(
          diversionsByUs().includes(`diversion of ${p} to ${DIVERT_ROOT}${p} by ${ALIASES}`),
          p,
        );
        const before = fenceAgentsFiles.get(p);
        if (before !== undefined)
          assert.equal(md5(`${DIVERT_ROOT}${p}`), before, `${p} was changed while diverted`);
      }
      for (const a of aliases)
        assert.equal(readlinkSync(`/usr/sbin/${a.name}`), "../lib/kvmha/kvmha");
      // fence-agents' own agent still works, with its own name-dependent defaults, from where it went.
      const theirs = sh(`${DIVERT_ROOT}/usr/sbin/fence_ilo3`, ["-o", "metadata"]);
      assert.match(
        theirs.stdout,
        /<resource-agent name="fence_ilo3" shortdesc="Fence agent for IPMI"/,
      );
      const owners = ok(sh(programs.dpkg, ["-S", "/usr/sbin/fence_ilo3"]), "dpkg -S");
      assert.match(owners, /^diversion by kvmha-fence-aliases from: \/usr\/sbin\/fence_ilo3$/m);
      assert.match(
        owners,
        new RegExp(
          `^diversion by kvmha-fence-aliases to: ${DIVERT_ROOT}/usr/sbin/fence_ilo3$`,
          "m",
        ),
      );
    });

    it("--version and --help on every executable and alias", () => {
      const version = ok(sh("/usr/sbin/kvmha", ["--version"]), "kvmha --version");
      assert.match(
        version,
        new RegExp(
          `^kvmha ${pkg.version.replace(/\./g, "\\.")} \\((node v|bun )\\d+\\.\\d+\\.\\d+\\)\\n$`,
        ),
      );
      const help = ok(sh("/usr/sbin/kvmha", ["--help"]), "kvmha --help");
      for (const s of subcommandTable()) assert.match(help, new RegExp(`kvmha ${s.name}\\b`));
      for (const a of aliases) assert.ok(help.includes(a.name), a.name);
      for (const name of [...fenceAgents, ...aliases.map((a) => a.name)]) {
        const exe = `/usr/sbin/${name}`;
        const v = sh(exe, ["--version"]);
        assert.equal(v.status, 0, `${name} --version: ${v.stderr}`);
        assert.equal(v.stdout, `${pkg.version}\n`, name);
        assert.equal(v.stderr, "", name);
        const h = sh(exe, ["--help"]);
        assert.equal(h.status, 0, `${name} --help: ${h.stderr}`);
        assert.match(h.stdout, new RegExp(`^Usage:\\n\\t${name} \\[options\\]\\n`), name);
        assert.match(h.stdout, /--ip=\[ip\]/, name);
      }
      // An OCF agent answers as resource-agents' do: `usage` succeeds, anything else is unimplemented (3).
      for (const name of ocfAgents) {
        const exe = `/usr/lib/ocf/resource.d/kvmha/${name}`;
        assert.match(ok(sh(exe, ["usage"]), `${name} usage`), new RegExp(`^usage: ${name} \\{`));
        for (const flag of ["--help", "--version"]) {
          const r = sh(exe, [flag]);
          assert.equal(r.status, 3, `${name} ${flag}`);
          assert.match(r.stdout + r.stderr, new RegExp(`usage: ${name} \\{`));
        }
      }
    });

    it("kvmha render works as installed, from an empty directory, with /usr/share/kvmha hidden: the templates are built in", () => {
      const cwd = mkdtempSync(join(tmpdir(), "kvmha-package-render-"));
      try {
        const inventory = join(cwd, "cluster.yaml");
        copyFileSync(join(ROOT, "test/fixtures/inventories/two-node.yaml"), inventory);
        const hidden = inPrivateMounts(
          'mount -t tmpfs -o size=1m kvmha-hide /usr/share/kvmha && cd "$1" && exec /usr/sbin/kvmha render "$2" --format cib',
          [cwd, inventory],
        );
        const r = sh(hidden.program, hidden.args);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^<\?xml version="1\.0"/);
        assert.match(r.stdout, /<primitive id="fence-ipmi-hv1" class="stonith" type="fence_ipmi">/);
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    });

    it("pcs stonith describe: fence_ipmi, fence_pdu and the aliases with their own description and defaults", () => {
      const ipmi = ok(
        sh(programs.pcs, ["stonith", "describe", "fence_ipmi", "--full"]),
        "pcs stonith describe fence_ipmi",
      );
      assert.match(ipmi, /^fence_ipmi - Fence agent for IPMI \(native IPMI 2\.0, no ipmitool\)/);
      for (const p of [
        "ip",
        "username",
        "password_script",
        "lanplus",
        "cipher",
        "privlvl",
        "method",
        "power_timeout",
      ])
        assert.match(ipmi, new RegExp(`^\\s+${p}( \\(required\\))?:`, "m"), p);
      const pdu = ok(
        sh(programs.pcs, ["stonith", "describe", "fence_pdu"]),
        "pcs stonith describe fence_pdu",
      );
      assert.match(pdu, /^fence_pdu - Fence agent for switched PDUs over SNMP/);
      const ilo3 = ok(
        sh(programs.pcs, ["stonith", "describe", "fence_ilo3", "--full"]),
        "pcs stonith describe fence_ilo3",
      );
      assert.match(ilo3, /^fence_ilo3 - Fence agent for HP iLO3 over IPMI 2\.0/);
      assert.match(ilo3, /^\s+power_wait: /m); // pcs shows no defaults: crm ra info below does
      const apc = ok(
        sh(programs.pcs, ["stonith", "describe", "fence_apc_snmp"]),
        "pcs stonith describe fence_apc_snmp",
      );
      assert.match(
        apc,
        /^fence_apc_snmp - Fence agent for APC and Tripp Lite switched PDUs over SNMP/,
      );
      const list = ok(sh(programs.pcs, ["stonith", "list"]), "pcs stonith list");
      for (const name of [...fenceAgents, ...aliases.map((a) => a.name)])
        assert.match(list, new RegExp(`^${name} - `, "m"), name);
    });

    it("pcs -f CIB stonith create --agent-validation: the agents' validate-all accepts good options and refuses bad ones", () => {
      const cib = join(work, "cib.xml");
      writeFileSync(cib, ok(sh(programs.cibadmin, ["--empty"]), "cibadmin --empty"));
      const create = (...args: string[]) =>
        sh(programs.pcs, ["-f", cib, "stonith", "create", ...args, "--agent-validation"]);
      ok(
        create(
          "ipmi-node1",
          "fence_ipmi",
          "ip=192.0.2.1",
          "username=admin",
          "password_script=/etc/kvmha/ipmi-node1.pw",
          "pcmk_host_list=node1",
        ),
        "create fence_ipmi",
      );
      ok(
        create("ilo-node2", "fence_ilo3", "ip=192.0.2.2", "username=admin", "pcmk_host_list=node2"),
        "create fence_ilo3",
      );
      ok(
        create(
          "pdu-a",
          "fence_pdu",
          "ip=192.0.2.201",
          "snmp_version=2c",
          "community=private",
          "pcmk_host_map=node1:3;node2:4",
        ),
        "create fence_pdu",
      );
      ok(
        create("apc-b", "fence_apc_snmp", "ip=192.0.2.202", "pcmk_host_map=node1:1"),
        "create fence_apc_snmp",
      );
      // Refused by our validate-all (pcs shows the agent's ERROR line), not by pcs' own checks.
      let r = create(
        "bad-cipher",
        "fence_ipmi",
        "ip=192.0.2.1",
        "cipher=5",
        "pcmk_host_list=node1",
      );
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /Validation result from agent[\s\S]*cipher suite 5 is not supported/);
      r = create("bad-v3", "fence_pdu", "ip=192.0.2.201", "snmp_version=3", "pcmk_host_list=node1");
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /Validation result from agent[\s\S]*SNMPv3 needs username/);
      const xml = readFileSync(cib, "utf8");
      for (const [id, type] of [
        ["ipmi-node1", "fence_ipmi"],
        ["ilo-node2", "fence_ilo3"],
        ["pdu-a", "fence_pdu"],
        ["apc-b", "fence_apc_snmp"],
      ]) {
        assert.match(xml, new RegExp(`<primitive id="${id}" class="stonith" type="${type}"`), id);
      }
      assert.doesNotMatch(xml, /bad-cipher|bad-v3/);
    });

    it("pcs resource describe and crm ra info: ocf:kvmha:VirtualDomain and stonith agents", () => {
      const vd = ok(
        sh(programs.pcs, ["resource", "describe", "ocf:kvmha:VirtualDomain"]),
        "pcs resource describe",
      );
      assert.match(
        vd,
        /^ocf:kvmha:VirtualDomain - Manages virtual domains through the libvirt virtualization framework/,
      );
      assert.match(vd, /^\s+config \(required\)/m);
      assert.match(vd, /^Default operations:[\s\S]*^\s+migrate_to:/m);
      const crmVd = ok(
        sh(programs.crm, ["ra", "info", "ocf:kvmha:VirtualDomain"], { timeoutMs: 120_000 }),
        "crm ra info ocf:kvmha:VirtualDomain",
      );
      assert.match(crmVd, /\(ocf:kvmha:VirtualDomain\)/);
      assert.match(crmVd, /^config\* \(string\):/m);
      const crmIpmi = ok(
        sh(programs.crm, ["ra", "info", "stonith:fence_ipmi"], { timeoutMs: 120_000 }),
        "crm ra info stonith:fence_ipmi",
      );
      assert.match(crmIpmi, /^stonith:fence_ipmi/m);
      assert.match(crmIpmi, /^ip\* \(string\):/m);
      assert.match(crmIpmi, /^lanplus \(boolean, \[1\]\):/m);
      const crmIlo = ok(
        sh(programs.crm, ["ra", "info", "stonith:fence_ilo3"], { timeoutMs: 120_000 }),
        "crm ra info stonith:fence_ilo3",
      );
      assert.match(crmIlo, /^power_wait \(second, \[4\]\):/m);
    });

    it("stonith_admin --metadata and --validate, crm_resource --show-metadata", () => {
      for (const name of [...fenceAgents, ...aliases.map((a) => a.name)]) {
        const md = ok(
          sh(programs.stonith_admin, ["--metadata", "-a", name]),
          `stonith_admin --metadata -a ${name}`,
        );
        assert.match(md, new RegExp(`<resource-agent name="${name}" shortdesc="`), name);
      }
      ok(
        sh(programs.stonith_admin, [
          "--validate",
          "-a",
          "fence_pdu",
          "-o",
          "ip=192.0.2.1",
          "-o",
          "snmp_version=2c",
        ]),
        "stonith_admin --validate fence_pdu",
      );
      ok(
        sh(programs.stonith_admin, [
          "--validate",
          "-a",
          "fence_idrac",
          "-o",
          "ip=192.0.2.1",
          "-o",
          "username=root",
        ]),
        "stonith_admin --validate fence_idrac",
      );
      const bad = sh(programs.stonith_admin, [
        "--validate",
        "-a",
        "fence_ipmi",
        "-o",
        "ip=192.0.2.1",
        "-o",
        "lanplus=1",
        "-o",
        "auth=md5",
      ]);
      assert.notEqual(bad.status, 0);
      assert.match(bad.stdout + bad.stderr, /auth applies to IPMI 1\.5 only/);
      for (const name of ocfAgents) {
        const md = ok(
          sh(programs.crm_resource, ["--show-metadata", `ocf:kvmha:${name}`]),
          "crm_resource --show-metadata",
        );
        assert.match(md, new RegExp(`<resource-agent name="${name}" version="`));
        // The same parameters as the agent prints by hand (Pacemaker's environment may select OCF 1.1 details).
        const params = (xml: string) =>
          [...xml.matchAll(/<parameter name="([^"]+)"/g)].map((m) => m[1]);
        assert.deepEqual(
          params(md),
          params(ok(sh(`/usr/lib/ocf/resource.d/kvmha/${name}`, ["meta-data"]), "meta-data")),
        );
      }
    });

    it("man pages: every agent, alias and kvmha, each listing what the agent's metadata lists", () => {
      const man = (page: string, section?: string) =>
        ok(
          sh(programs.man, [...(section ? [section] : []), page], {
            env: { ...bare, MANPAGER: "cat", PAGER: "cat", MANWIDTH: "200" },
          }),
          `man ${page}`,
        );
      for (const name of [...fenceAgents, ...aliases.map((a) => a.name)]) {
        const page = man(name, "8");
        const md = ok(sh(`/usr/sbin/${name}`, ["-o", "metadata"]), "metadata");
        const shortdesc = /<resource-agent name="[^"]+" shortdesc="([^"]+)"/.exec(md)?.[1] ?? "";
        assert.ok(
          page.includes(
            `${name} - ${shortdesc
              .replace(/&apos;/g, "'")
              .replace(/&quot;/g, '"')
              .replace(/&amp;/g, "&")}`,
          ),
          `${name}: NAME line`,
        );
        for (const [, long] of md.matchAll(/<getopt mixed="(?:-., )?(--[a-z0-9-]+)/g))
          assert.ok(page.includes(long as string), `${name}: ${long}`);
      }
      assert.match(man("fence_ilo3", "8"), /Default: 4\./);
      for (const name of ocfAgents) {
        const page = man(`ocf_kvmha_${name}`, "7");
        const md = ok(sh(`/usr/lib/ocf/resource.d/kvmha/${name}`, ["meta-data"]), "meta-data");
        for (const [, param] of md.matchAll(/<parameter name="([^"]+)"/g))
          assert.match(page, new RegExp(`^\\s+${param}\\b`, "m"), `${name}: ${param}`);
      }
      const kvmha = man("kvmha", "8");
      for (const s of subcommandTable())
        assert.match(kvmha, new RegExp(`kvmha ${s.name}\\n`), s.name);
      for (const a of aliases) assert.ok(kvmha.includes(a.name), a.name);
    });

    it("the installed names fence lab devices: fence_ilo3 and fence_idrac a BMC, fence_apc_snmp and fence_tripplite_snmp PDUs", async () => {
      const bmc = await startBmc();
      try {
        const ipmi = (name: string, action: string) =>
          sh(`/usr/sbin/${name}`, [], {
            input: `ip=${bmc.host}\nipport=${bmc.port}\nusername=${ADMIN_USER.name}\npassword=${ADMIN_USER.password}\naction=${action}\n`,
          });
        let r = ipmi("fence_idrac", "off");
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "Success: Powered OFF\n");
        assert.equal(await bmc.readPower(), "off");
        // fence_ilo3 waits its power_wait (4 s) after the command, then reads the state back.
        const started = Date.now();
        r = ipmi("fence_ilo3", "on");
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "Success: Powered ON\n");
        assert.ok(Date.now() - started >= 4000, "fence_ilo3 did not wait power_wait=4");
        assert.equal(await bmc.readPower(), "on");
      } finally {
        await bmc.stop();
      }
      for (const [name, id] of [
        ["fence_apc_snmp", "apc-rpdu"],
        ["fence_tripplite_snmp", "tripplite"],
      ] as const) {
        const profile = profileById(id);
        assert.ok(profile !== undefined);
        const pdu = await startPdu({ profile, outlets: 4 });
        try {
          const input = `ip=${pdu.host}\nipport=${pdu.port}\ncommunity=${PDU_COMMUNITIES.readWrite}\nsnmp_version=2c\nplug=2,3\naction=off\n`;
          const r = sh(`/usr/sbin/${name}`, [], { input });
          assert.equal(r.status, 0, `${name}: ${r.stderr}`);
          assert.equal(r.stdout, "Success: Powered OFF\n");
          assert.deepEqual(
            [await pdu.readOutlet(1), await pdu.readOutlet(2), await pdu.readOutlet(3)],
            ["on", "off", "off"],
            name,
          );
        } finally {
          await pdu.stop();
        }
      }
    });

    it("upgrade: revision 2 over revision 1 keeps the diversions and fence-agents' files", () => {
      ok(
        sh(programs.dpkg, ["-i", debs.main2, debs.alias2], { timeoutMs: 300_000 }),
        "dpkg -i (upgrade)",
      );
      for (const name of [MAIN, ALIASES]) {
        assert.equal(dpkgStatus(name), "install ok installed");
        assert.equal(
          ok(sh(programs.dpkg, ["-s", name]), "dpkg -s").match(/^Version: (.*)$/m)?.[1],
          V2,
        );
      }
      assert.equal(diversionsByUs().length, ALIAS_PATHS.length);
      for (const [p, sum] of fenceAgentsFiles) assert.equal(md5(`${DIVERT_ROOT}${p}`), sum, p);
      const changelog = sh("zcat", ["/usr/share/doc/kvmha/changelog.Debian.gz"]).stdout;
      assert.match(changelog, new RegExp(`^kvmha \\(${V2.replace(/\./g, "\\.")}\\)`));
      assert.match(
        ok(sh("/usr/sbin/fence_ilo3", ["-o", "metadata"]), "fence_ilo3 after upgrade"),
        /<resource-agent name="fence_ilo3"/,
      );
    });

    it("removal and purge: fence-agents' files are back where they were, and nothing of ours is left", () => {
      ok(sh(programs.dpkg, ["-r", ALIASES], { timeoutMs: 120_000 }), "dpkg -r kvmha-fence-aliases");
      assert.deepEqual(diversionsByUs(), []);
      for (const [p, sum] of fenceAgentsFiles) {
        assert.equal(md5(p), sum, p);
        assert.equal(ok(sh(programs.dpkg, ["-S", p]), "dpkg -S").trim(), `fence-agents: ${p}`);
      }
      // dpkg's own check of fence-agents' files against its md5sums: all present, none changed.
      ok(sh(programs.dpkg, ["--verify", "fence-agents"]), "dpkg --verify fence-agents");
      assert.match(
        sh("/usr/sbin/fence_ilo3", ["-o", "metadata"]).stdout,
        /shortdesc="Fence agent for IPMI"/,
      );
      assert.ok(!exists("/usr/lib/kvmha-fence-aliases"));

      ok(sh(programs.dpkg, ["-r", MAIN], { timeoutMs: 120_000 }), "dpkg -r kvmha");
      for (const name of [ALIASES, MAIN])
        ok(sh(programs.dpkg, ["--purge", name], { timeoutMs: 120_000 }), `dpkg --purge ${name}`);
      assert.equal(dpkgRecord(MAIN), "");
      assert.equal(dpkgRecord(ALIASES), "");
      assert.deepEqual(OURS.filter(exists), []);
      assert.deepEqual(diversionsByUs(), []);
      ok(sh(programs.dpkg, ["--audit"]), "dpkg --audit");
    });
  },
);
