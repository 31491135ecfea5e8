/**
 * Which Pacemaker generation to render for when neither the command line (--pacemaker) nor the
 * inventory (cluster.pacemaker) says: the live cluster's, asked read-only and bounded. The DC's
 * version (the CIB's dc-version) says what runs; a CIB without one says it by its schema
 * (pacemaker-4.x is Pacemaker 3's); where no cluster answers, the Pacemaker installed here
 * (`pacemakerd --version`), the one the rendered scripts will run with on this node. The only I/O
 * of rendering besides the templates and the output.
 */
import { Deadline } from "../../lib/deadline.js";
import { runProgram } from "../../lib/program.js";
import { parseCib } from "../check/cib.js";
import { cibGeneration } from "../check/pacemaker3.js";
import { DEFAULT_GENERATION, type Generation } from "./generation.js";

export interface ChosenGeneration {
  readonly pacemaker: Generation;
  /** How it was chosen, for the line kvmha render prints: "the live cluster (dc-version 3.0.0-…)". */
  readonly how: string;
}

/** Pacemaker's programs are in sbin, which a user's PATH may lack. */
const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/** `cibadmin -Q` may take this long on a busy cluster; `pacemakerd --version` answers at once. */
const CIB_TIMEOUT_MS = 10_000;
const VERSION_TIMEOUT_MS = 5_000;

async function fromLiveCib(): Promise<ChosenGeneration | undefined> {
  const r = await runProgram("cibadmin", ["--query"], Deadline.in(CIB_TIMEOUT_MS), {
    env: { ...process.env, PATH: `${process.env.PATH ?? ""}:${PATH}` },
    maxOutput: 256 << 20,
  });
  if (r.code !== 0) return undefined;
  return generationOfCib(r.stdout, "the live cluster's CIB");
}

/** The generation a CIB's text says (dc-version, else its schema); undefined when it says none. */
export function generationOfCib(text: string, what: string): ChosenGeneration | undefined {
  try {
    const cib = parseCib(text);
    const g = cibGeneration(cib.validateWith, cib.properties.get("dc-version"));
    if (g.pacemaker === undefined) return undefined;
    return { pacemaker: g.pacemaker, how: `${what} (${g.from})` };
  } catch {
    return undefined;
  }
}

async function fromPacemakerd(): Promise<ChosenGeneration | undefined> {
  const r = await runProgram("pacemakerd", ["--version"], Deadline.in(VERSION_TIMEOUT_MS), {
    env: { ...process.env, PATH: `${process.env.PATH ?? ""}:${PATH}` },
  });
  const version = /^Pacemaker (\d+)\.(\S+)/m.exec(r.stdout);
  if (r.code !== 0 || version?.[1] === undefined) return undefined;
  return {
    pacemaker: Number(version[1]) >= 3 ? 3 : 2,
    how: `pacemakerd --version on this machine (Pacemaker ${version[1]}.${version[2] ?? ""})`,
  };
}

/** The live cluster's generation, else this machine's Pacemaker's, else the default. */
export async function detectGeneration(): Promise<ChosenGeneration> {
  return (
    (await fromLiveCib()) ??
    (await fromPacemakerd()) ?? {
      pacemaker: DEFAULT_GENERATION,
      how: "the default: no cluster answered and no pacemakerd here",
    }
  );
}
