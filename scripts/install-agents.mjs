#!/usr/bin/env node
// Installs the built executable and links to it for every shipped command (see docs/build.md):
//
//   PREFIX/usr/lib/kvmha/kvmha                          the executable (a copy of dist/bin/kvmha)
//   PREFIX/usr/sbin/kvmha                               -> ../lib/kvmha/kvmha
//   PREFIX/usr/sbin/<fence agent>                       -> ../lib/kvmha/kvmha
//   PREFIX/usr/lib/ocf/resource.d/kvmha/<resource agent> -> ../../../kvmha/kvmha
//   PREFIX/usr/lib/kvmha/install-manifest.json          what was installed, for --uninstall
//
//   npm run install-agents [-- --prefix DIR] [--force] [--from BUILD_DIR]
//   npm run uninstall-agents [-- --prefix DIR]
//
// No prefix installs into /. (Mind the `--`: without it npm takes --prefix for itself.) --from
// installs from another build output directory than dist/. --force replaces files in the way. Which commands exist, and which of them are shipped (implemented and
// installed), comes from dist/manifest.json, written by scripts/build.mjs from lib/cli/main.ts.

import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const EXE = "usr/lib/kvmha/kvmha";
const MANIFEST = "usr/lib/kvmha/install-manifest.json";
const DIR_OF = { fence: "usr/sbin", ocf: "usr/lib/ocf/resource.d/kvmha" };

function fail(message) {
  process.stderr.write(`install-agents: ERROR: ${message}\n`);
  process.exit(1);
}
function say(message) {
  process.stdout.write(`install-agents: ${message}\n`);
}

// ---- options -------------------------------------------------------------------------------

// One parser for every command line of the project but the fence agents': util.parseArgs (docs/cli.md).
let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: {
      prefix: { type: "string", default: "/" },
      from: { type: "string" },
      uninstall: { type: "boolean", default: false },
      force: { type: "boolean", default: false },
    },
    strict: true,
  });
} catch (err) {
  fail(`${err.message.split("\n")[0]} (known: --prefix DIR, --uninstall, --force, --from DIR)`);
}
for (const name of ["prefix", "from"])
  if (parsed.values[name] === "") fail(`--${name} needs a directory`);
let prefix = parsed.values.prefix;
const from = parsed.values.from === undefined ? join(ROOT, "dist") : resolve(parsed.values.from);
const uninstall = parsed.values.uninstall;
const force = parsed.values.force;
prefix = resolve(prefix);
const at = (rel) => join(prefix, rel);

/** lstat that answers undefined for "nothing there". */
function lstatOrUndefined(p) {
  try {
    return lstatSync(p);
  } catch (err) {
    if (err.code === "ENOENT") return undefined;
    throw err;
  }
}

function readInstallManifest() {
  const p = at(MANIFEST);
  if (!existsSync(p)) return undefined;
  try {
    const m = JSON.parse(readFileSync(p, "utf8"));
    if (!Array.isArray(m.files) || !Array.isArray(m.dirs)) throw new Error("no files/dirs lists");
    return m;
  } catch (err) {
    return fail(`${p} is unreadable (${err.message}); remove what it lists by hand`);
  }
}

/** Is the thing at rel (relative to the prefix) what install put there? */
function isOurs(entry) {
  const st = lstatOrUndefined(at(entry.path));
  if (st === undefined) return false;
  if (entry.type === "link")
    return st.isSymbolicLink() && readlinkSync(at(entry.path)) === entry.target;
  return st.isFile() && st.size === entry.size;
}

function removeOurs(entries) {
  for (const entry of entries) {
    if (isOurs(entry)) unlinkSync(at(entry.path));
    else if (lstatOrUndefined(at(entry.path)) !== undefined) {
      process.stderr.write(
        `install-agents: WARNING: ${at(entry.path)} was changed since it was installed; left alone\n`,
      );
    }
  }
}

/** Removes the directories install created, deepest first, as far as they are empty. */
function removeDirs(dirs) {
  for (const d of [...dirs].sort((a, b) => b.split("/").length - a.split("/").length)) {
    const p = at(d);
    if (lstatOrUndefined(p)?.isDirectory() && readdirSync(p).length === 0) rmdirSync(p);
  }
}

function withPermissionHint(fn) {
  try {
    return fn();
  } catch (err) {
    if (err.code === "EACCES" || err.code === "EPERM" || err.code === "EROFS") {
      fail(
        `${err.message}${prefix === "/" ? " (installing into / needs root; or give --prefix DIR)" : ""}`,
      );
    }
    throw err;
  }
}

// ---- uninstall -------------------------------------------------------------------------------

if (uninstall) {
  withPermissionHint(() => {
    const old = readInstallManifest();
    if (old === undefined) {
      say(`nothing to uninstall: no ${at(MANIFEST)}`);
      return;
    }
    removeOurs(old.files);
    unlinkSync(at(MANIFEST));
    removeDirs(old.dirs);
    say(`removed ${old.files.length} files from ${prefix}`);
  });
  process.exit(0);
}

// ---- install ---------------------------------------------------------------------------------

const built = (() => {
  try {
    return JSON.parse(readFileSync(join(from, "manifest.json"), "utf8"));
  } catch {
    return fail(`${join(from, "manifest.json")} is missing: run \`npm run build\` first`);
  }
})();
const source = join(from, built.executable);
if (!existsSync(source) || statSync(source).size !== built.size) {
  fail(`${source} does not match ${join(from, "manifest.json")}: run \`npm run build\` again`);
}

// A command under a fence-agents name (fence_redfish) is fence-agents' file: only the
// kvmha-fence-aliases package takes that name over (with dpkg-divert), never this script.
const installable = (c) => c.shipped && (c.package ?? "kvmha") === "kvmha";
const shipped = built.commands.filter(installable);
const skipped = built.commands.filter((c) => !installable(c)).map((c) => c.name);

withPermissionHint(() => {
  const old = readInstallManifest();
  const previouslyOurs = new Set((old?.files ?? []).filter(isOurs).map((e) => e.path));
  const dirs = new Set(old?.dirs ?? []);

  /** A directory path to be created: nothing but directories (or links to them) in the way. */
  function checkDir(rel) {
    const parts = rel.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      const st = lstatOrUndefined(at(d));
      if (st === undefined) return;
      if (
        !st.isDirectory() &&
        !(st.isSymbolicLink() && existsSync(at(d)) && statSync(at(d)).isDirectory())
      ) {
        fail(`${at(d)} is in the way: not a directory`);
      }
    }
  }

  /** mkdir -p that remembers which directories it created (those, and only those, go on uninstall). */
  function ensureDir(rel) {
    const parts = rel.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (lstatOrUndefined(at(d)) === undefined) {
        mkdirSync(at(d));
        chmodSync(at(d), 0o755);
        dirs.add(d);
      }
    }
  }

  /** A path we may (re)place: nothing there, or what an earlier install put there. */
  function checkReplace(rel) {
    checkDir(dirname(rel));
    const st = lstatOrUndefined(at(rel));
    if (st === undefined || previouslyOurs.has(rel)) return;
    if (st.isDirectory()) fail(`${at(rel)} is a directory`);
    if (!force)
      fail(`${at(rel)} exists and was not installed by kvmha: remove it, or give --force`);
  }

  const links = [
    { name: "kvmha", dir: "usr/sbin" },
    ...shipped.map((c) => ({ name: c.name, dir: DIR_OF[c.kind] })),
  ];
  for (const { name, dir } of links) {
    if (dir === undefined) fail(`${join(from, "manifest.json")}: unknown kind of command ${name}`);
  }
  // Everything is checked before anything is changed: a refused install leaves no trace.
  checkReplace(EXE);
  for (const { name, dir } of links) checkReplace(`${dir}/${name}`);

  mkdirSync(prefix, { recursive: true }); // a staging prefix may not exist yet; it stays
  const files = [];

  // The executable: copied next to its final name, then renamed over it, so that agents running
  // during an upgrade keep their old binary and new ones get the whole new one.
  ensureDir(dirname(EXE));
  const tmp = `${at(EXE)}.new`;
  rmSync(tmp, { force: true });
  copyFileSync(source, tmp);
  chmodSync(tmp, 0o755);
  renameSync(tmp, at(EXE));
  files.push({ path: EXE, type: "file", size: built.size });

  // Links: relative, computed between the real directories, so that they hold in a staging
  // prefix, in the installed system, and when /usr/lib/ocf is itself a link to elsewhere.
  for (const { name, dir } of links) {
    ensureDir(dir);
    const rel = `${dir}/${name}`;
    const target = relative(realpathSync(at(dir)), realpathSync(at(EXE)))
      .split(sep)
      .join("/");
    const linkTmp = `${at(rel)}.kvmha-new`;
    rmSync(linkTmp, { force: true });
    symlinkSync(target, linkTmp);
    renameSync(linkTmp, at(rel));
    files.push({ path: rel, type: "link", target });
  }

  // Whatever an earlier install put there that this one does not (a command no longer shipped).
  const now = new Set(files.map((f) => f.path));
  removeOurs((old?.files ?? []).filter((e) => !now.has(e.path)));

  writeFileSync(
    at(MANIFEST),
    `${JSON.stringify({ version: built.version, files, dirs: [...dirs].sort() }, null, 2)}\n`,
  );
  chmodSync(at(MANIFEST), 0o644);

  const check = spawnSync(at("usr/sbin/kvmha"), ["--version"], { encoding: "utf8", env: {} });
  if (check.status !== 0 || !check.stdout.startsWith(`kvmha ${built.version} `)) {
    fail(
      `the installed ${at("usr/sbin/kvmha")} does not run: ${check.error?.message ?? `${check.stdout}${check.stderr}`.trim()}`,
    );
  }

  say(
    `installed kvmha ${built.version} into ${prefix}: ${links.map((l) => `${l.dir}/${l.name}`).join(", ")} -> ${EXE}`,
  );
  if (skipped.length > 0)
    say(
      `not installed (not shipped, or a fence-agents name: package kvmha-fence-aliases): ${skipped.join(", ")}`,
    );
});
