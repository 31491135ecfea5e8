/**
 * Rendering one format: plan, template, files; and writing the files into an output directory
 * safely (writeRendered).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  InventoryError,
  type LoadedInventory,
  formatIssue,
  loadInventory,
} from "../inventory/load.js";
import type { Inventory } from "../inventory/model.js";
import { renderCib } from "./cib.js";
import { renderCrmsh } from "./crmsh.js";
import { generatedIds, idProblems } from "./ids.js";
import { renderPcs } from "./pcs.js";
import { type Generation, type Plan, PlanError, planCluster } from "./plan.js";
import { type Template, TemplateError } from "./template.js";
import { type Format, loadTemplate } from "./templates.js";
import { UsageError } from "../../lib/errors.js";
import { printable } from "../../lib/log.js";

export interface RenderedFile {
  readonly name: string;
  readonly text: string;
  readonly executable: boolean;
}

/** What rendering may be told besides the inventory. */
export interface RenderOptions {
  /**
   * The Pacemaker generation to render for (the command line's --pacemaker, or what a live cluster
   * says); the inventory's cluster.pacemaker when absent, else Pacemaker 2.
   */
  readonly pacemaker?: Generation | undefined;
}

/** The plan, with its errors in the inventory's FILE:LINE:COL form. */
export function planOrError(
  inventory: Inventory,
  source: string,
  options: RenderOptions = {},
): Plan {
  try {
    return planCluster(inventory, options.pacemaker);
  } catch (err) {
    if (err instanceof PlanError)
      throw new InventoryError([
        formatIssue(source, { line: err.line, col: err.col, message: err.message }),
      ]);
    throw err;
  }
}

/**
 * The inventory read, validated and planned: what the plan refuses (a stonith_timeout below what
 * fencing can take) is one of the inventory's errors, reported the same way.
 */
export async function loadForRender(file: string): Promise<LoadedInventory> {
  const loaded = await loadInventory(file);
  try {
    idsOrError(loaded, planOrError(loaded.inventory, file), file);
  } catch (err) {
    if (err instanceof InventoryError) throw new InventoryError([...err.lines, ...loaded.warnings]);
    throw err;
  }
  return loaded;
}

/**
 * The ids the plan puts in a CIB, refused at the inventory entry that makes them when Pacemaker,
 * pcs or crmsh would refuse them at apply time (ids.ts).
 */
export function idsOrError(loaded: LoadedInventory, plan: Plan, source: string): void {
  const at = (owner: string) => loaded.places.get(owner) ?? loaded.places.get("cluster");
  const problems = idProblems(
    generatedIds(plan, loaded.inventory),
    (owner) => at(owner)?.line ?? 0,
  );
  if (problems.length > 0)
    throw new InventoryError(
      problems
        .map((p) => ({ ...(at(p.owner) ?? { line: 1, col: 1 }), message: p.message }))
        .sort((a, b) => a.line - b.line || a.col - b.col)
        .map((issue) => formatIssue(source, issue)),
    );
}

export async function renderFormat(
  inventory: Inventory,
  format: Format,
  /** An adapted copy of the templates (--templates), else the built-in ones. */
  templateDir: string | undefined,
  source: string,
  options: RenderOptions = {},
): Promise<RenderedFile[]> {
  const plan = planOrError(inventory, source, options);
  const template = await loadTemplate(templateDir, format);
  try {
    return renderWith(plan, format, template, source);
  } catch (err) {
    // An adapted template that does not fit the renderer: the admin's input, said as such.
    if (err instanceof TemplateError) throw new UsageError(err.message, 1);
    throw err;
  }
}

function renderWith(
  plan: Plan,
  format: Format,
  template: Template,
  source: string,
): RenderedFile[] {
  switch (format) {
    case "pcs":
      return [{ name: "pcs.sh", text: renderPcs(plan, template, source), executable: true }];
    case "crmsh": {
      const { config, apply } = renderCrmsh(plan, template, source);
      return [
        { name: "crmsh.crm", text: config, executable: false },
        { name: "crmsh-apply.sh", text: apply, executable: true },
      ];
    }
    case "cib": {
      const { xml, apply } = renderCib(plan, template, source);
      return [
        { name: "cib.xml", text: xml, executable: false },
        { name: "cib-apply.sh", text: apply, executable: true },
      ];
    }
  }
}

/**
 * Why a directory may be written into by the invoking user (usually root): it and every directory
 * above it are owned by root or that user, and writable by nobody else (a sticky directory such as
 * /tmp above it is fine: there others cannot rename or remove what is not theirs). Anything else
 * lets another user swap the files, or the directory itself, between our check and our writes.
 */
function untrustedDirectory(st: fs.Stats, uid: number, above: boolean): string | undefined {
  if (st.uid !== 0 && st.uid !== uid)
    return `is owned by uid ${st.uid}, not by root or you (uid ${uid})`;
  const othersWrite = (st.mode & 0o022) !== 0;
  const sticky = (st.mode & 0o1000) !== 0; // S_ISVTX
  if (othersWrite && !(above && sticky))
    return `is writable by ${(st.mode & 0o002) !== 0 ? "everyone" : "its group"} (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

/** The errno code of a failed call, for one-line messages. */
const codeOf = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? "error";

/**
 * The output directory, made ready to write into: created (not recursively: its parent must
 * exist), or an existing directory that is no symbolic link and that only root or the invoking
 * user can change, and every directory above it too. Returns its real path. With `create` false a
 * missing directory is only checked for where it would be made.
 */
export function outputDirectory(dir: string, create = true): string {
  const uid = process.geteuid?.() ?? 0;
  const shown = printable(dir);
  const refuse = (why: string): never => {
    throw new UsageError(
      `--output ${shown}: ${why}; expected a new directory, or one only root or you can change`,
      1,
    );
  };
  const absolute = path.resolve(dir);
  let parent: string;
  try {
    parent = fs.realpathSync(path.dirname(absolute));
  } catch (err) {
    const code = codeOf(err);
    throw new UsageError(
      `cannot create ${shown}: ${code}${code === "ENOENT" ? " (its parent directory must exist)" : ""}`,
      1,
    );
  }
  const parts = parent.split(path.sep).filter((p) => p !== "");
  for (let i = 0; i <= parts.length; i += 1) {
    const above = `${path.sep}${parts.slice(0, i).join(path.sep)}`;
    const why = untrustedDirectory(fs.statSync(above), uid, true);
    if (why !== undefined) refuse(`${printable(above)} above it ${why}`);
  }
  const target = path.join(parent, path.basename(absolute));
  if (!create && !fs.existsSync(target)) return target;
  try {
    fs.mkdirSync(target, 0o755);
    return target;
  } catch (err) {
    if (codeOf(err) !== "EEXIST") throw new UsageError(`cannot create ${shown}: ${codeOf(err)}`, 1);
  }
  const st = fs.lstatSync(target);
  if (st.isSymbolicLink()) refuse("it is a symbolic link");
  if (!st.isDirectory()) refuse("it exists and is not a directory");
  const why = untrustedDirectory(st, uid, false);
  if (why !== undefined) refuse(`it ${why}`);
  return target;
}

/** Where a file is written before it takes its name: in the same directory, never an existing name. */
function temporaryName(dir: string, name: string): string {
  return path.join(dir, `.${name}.${randomBytes(6).toString("hex")}.tmp`);
}

/**
 * Writes the rendered files into `dir` (outputDirectory's rules): each one first to a new
 * temporary file there (created exclusively, following no symbolic link), written out and synced,
 * then all renamed into place. A render that fails or is killed leaves the previous files whole,
 * never an empty or cut script; a symbolic link planted under a file's name is replaced, never
 * followed. Returns the paths written, as `dir` names them.
 */
export function writeRendered(dir: string, files: readonly RenderedFile[]): string[] {
  const target = outputDirectory(dir);
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const staged: { temporary: string; final: string }[] = [];
  let current = target;
  try {
    for (const file of files) {
      current = path.join(target, file.name);
      const temporary = temporaryName(target, file.name);
      const fd = fs.openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      staged.push({ temporary, final: current });
      try {
        const bytes = Buffer.from(file.text, "utf8");
        for (let at = 0; at < bytes.length;) at += fs.writeSync(fd, bytes, at, bytes.length - at);
        fs.fchmodSync(fd, file.executable ? 0o755 : 0o644);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    for (const s of staged) {
      current = s.final;
      fs.renameSync(s.temporary, s.final);
    }
  } catch (err) {
    for (const s of staged) fs.rmSync(s.temporary, { force: true });
    throw new UsageError(`cannot write ${printable(current)}: ${codeOf(err)}`, 1);
  }
  // The renames themselves reach the disk with the directory.
  const d = fs.openSync(target, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(d);
  } finally {
    fs.closeSync(d);
  }
  return files.map((f) => path.join(dir, f.name));
}
