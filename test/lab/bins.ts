// Locating the lab's external programs. A missing program is an error with
// the fix in its message: tests that need one must fail, never skip.

import fs from 'node:fs';
import path from 'node:path';

/** Debian package that provides each program the lab runs. */
export const LAB_PROGRAMS = {
  ipmi_sim: 'openipmi',
  ipmitool: 'ipmitool',
  fence_ipmilan: 'fence-agents',
  hyperfine: 'hyperfine',
  ip: 'iproute2',
} as const;

export type LabProgram = keyof typeof LAB_PROGRAMS;

// fence agents live in /usr/sbin, which a non-login PATH may lack.
const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/** Absolute path of `name`, or undefined when it is not installed. */
export function findProgram(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of [...dirs, ...EXTRA_DIRS]) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Absolute path of a lab program; throws a clear error when it is missing. */
export function requireProgram(name: LabProgram): string {
  const found = findProgram(name);
  if (found) return found;
  throw new Error(
    `lab program '${name}' is not installed (Debian package '${LAB_PROGRAMS[name]}'); ` +
      'run scripts/lab-deps.sh to install the lab dependencies',
  );
}
