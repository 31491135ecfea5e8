// The lab's generations of the cluster stack. Debian 12 is the host itself (Pacemaker 2.1, pcs
// 0.11, crmsh 4.4, libvirt 9, QEMU 7.2, fence-agents 4.12, OpenIPMI 2.0.33); Debian 13 is a root
// that scripts/lab-root.sh builds with debootstrap (Pacemaker 3.0, pcs 0.12, crmsh 5.0,
// libvirt 11.3, QEMU 10.0, fence-agents 4.16, OpenIPMI 2.0.37), whose programs run with chroot in
// a private mount namespace (in-root.sh) that sees the test's files at the same paths.
// A test that covers both loops over labGenerations(); a missing root fails, it never skips.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { type LabProgram, LAB_PACKAGES, requireProgram } from "./bins.js";
import { type RunOptions, type RunResult, run } from "./clients.js";
import { labBaseDir } from "./daemon.js";

const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const IN_ROOT = path.join(PROJECT, "test/lab/in-root.sh");
const PROGRAM_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export type GenerationName = "debian12" | "debian13";

export interface LabGeneration {
  readonly name: GenerationName;
  /** For test titles: the distribution and its Pacemaker. */
  readonly title: string;
  /** Pacemaker's major version. */
  readonly pacemaker: 2 | 3;
  /** The generation's file system as the host sees it ("/" for the host itself). */
  readonly root: string;
  /** Where a path of the generation is on the host. */
  hostPath(p: string): string;
  /** A lab program's path inside the generation; throws, naming the fix, when it is missing. */
  requireProgram(name: LabProgram): string;
  /**
   * The command that runs `program` (a path inside the generation) there, for a caller that is
   * already in a private mount namespace of its own (node init, unshare --mount); the host's temp
   * and lab directories, the project and `dirs` are at the same paths there.
   */
  enter(
    program: string,
    args: readonly string[],
    dirs?: readonly string[],
  ): { program: string; args: string[] };
  /** The host command that runs `program` there, in a private mount namespace of its own. */
  command(
    program: string,
    args: readonly string[],
    dirs?: readonly string[],
  ): { program: string; args: string[] };
  /** run() of clients.ts, inside the generation. */
  run(program: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** Where scripts/lab-root.sh keeps the Debian 13 root (same default and variable). */
export function trixieRoot(): string {
  return path.join(process.env.KVMHA_ROOTS ?? "/var/cache/kvmha/roots", "trixie");
}

const host: LabGeneration = {
  name: "debian12",
  title: "Debian 12 (Pacemaker 2.1)",
  pacemaker: 2,
  root: "/",
  hostPath: (p) => p,
  requireProgram,
  enter: (program, args) => ({ program, args: [...args] }),
  command: (program, args) => ({ program, args: [...args] }),
  run: (program, args, opts) => run(program, args, opts),
};

function chrootGeneration(
  name: GenerationName,
  title: string,
  pacemaker: 2 | 3,
  root: string,
): LabGeneration {
  const complete = (): void => {
    if (!fs.existsSync(path.join(root, ".kvmha-root")))
      throw new Error(
        `the ${title} lab root ${root} is missing or incomplete: run scripts/lab-root.sh (npm test does it first)`,
      );
  };
  const enter: LabGeneration["enter"] = (program, args, dirs = []) => {
    complete();
    const binds = [...new Set([os.tmpdir(), labBaseDir(), PROJECT, ...dirs])];
    return { program: "/bin/sh", args: [IN_ROOT, root, ...binds, "--", program, ...args] };
  };
  const command: LabGeneration["command"] = (program, args, dirs = []) => {
    const inner = enter(program, args, dirs);
    return {
      program: "unshare",
      args: ["--mount", "--propagation", "private", "--", inner.program, ...inner.args],
    };
  };
  return {
    name,
    title,
    pacemaker,
    root,
    hostPath: (p) => path.join(root, p),
    requireProgram(program) {
      complete();
      for (const dir of PROGRAM_DIRS) {
        const inside = path.posix.join(dir, program);
        try {
          // lstat: an absolute link inside the root would resolve against the host.
          fs.lstatSync(path.join(root, inside));
          return inside;
        } catch {
          // not here
        }
      }
      throw new Error(
        `lab program '${program}' is missing from the ${title} root ${root} (Debian package '${LAB_PACKAGES[program]}'); ` +
          "add it to scripts/lab-root.sh and run it",
      );
    },
    enter,
    command,
    run(program, args, opts) {
      const c = command(program, args);
      return run(c.program, c.args, opts);
    },
  };
}

/** Every generation the suite proves, oldest first. */
export function labGenerations(): readonly LabGeneration[] {
  return [host, chrootGeneration("debian13", "Debian 13 (Pacemaker 3.0)", 3, trixieRoot())];
}

/** One generation by name. */
export function labGeneration(name: GenerationName): LabGeneration {
  const g = labGenerations().find((x) => x.name === name);
  if (g === undefined) throw new Error(`no lab generation '${name}'`);
  return g;
}
