import { basename } from "node:path";
import { KvmhaError, NotImplementedError } from "../errors.js";
import { VERSION } from "./version.js";

/** What one invoked name runs: it gets the arguments (argv minus program) and returns the exit code. */
export type Command = (args: readonly string[]) => Promise<number>;

/** OCF_ERR_UNIMPLEMENTED */
const OCF_ERR_UNIMPLEMENTED = 3;

/**
 * The multi-call table: one binary, one behaviour per invoked name. Imports are static so that
 * the bundle and the startup snapshot hold every agent already compiled.
 */
const commands: Record<string, Command> = {
  fence_ipmi: async (args) => (await import("../../fence/fence_ipmi.js")).main(args),
  fence_pdu: async () => {
    throw new NotImplementedError("fence_pdu", 1);
  },
  VirtualDomain: async () => {
    throw new NotImplementedError("VirtualDomain", OCF_ERR_UNIMPLEMENTED);
  },
};

export function commandNames(): string[] {
  return Object.keys(commands);
}

/** `kvmha <command> args…` runs a command by name, so the one binary works without its links. */
export async function main(argv0: string, args: readonly string[]): Promise<number> {
  let name = basename(argv0);
  let rest = args;
  if (name === "kvmha" || !(name in commands)) {
    const [first, ...tail] = args;
    if (first === "--version" || first === "-V") {
      process.stdout.write(`kvmha ${VERSION}\n`);
      return 0;
    }
    if (first === undefined || first === "--help" || first === "-h" || !(first in commands)) {
      const known = commandNames().join(", ");
      const out = first === undefined || first === "--help" || first === "-h" ? process.stdout : process.stderr;
      out.write(`usage: kvmha COMMAND [ARGS…]   (commands: ${known}; or invoke through a link named after one)\n`);
      return first === undefined || first === "--help" || first === "-h" ? 0 : 1;
    }
    name = first;
    rest = tail;
  }
  const command = commands[name];
  if (command === undefined) return 1;
  try {
    return await command(rest);
  } catch (err) {
    return reportFatal(name, err);
  }
}

/** The last resort: one line, the right exit code, never a stack trace. */
export function reportFatal(name: string, err: unknown): number {
  if (err instanceof KvmhaError) {
    process.stderr.write(`${name}: ERROR: ${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${name}: ERROR: internal error: ${message.split("\n")[0]}\n`);
  if (process.env.KVMHA_DEBUG_STACK === "1" && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}
