/**
 * Every failure kvmha reports is a KvmhaError: it carries the exit code it maps to and a
 * one-line message that is safe to print (never a secret, never a stack trace).
 */
export abstract class KvmhaError extends Error {
  abstract readonly exitCode: number;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input: an unknown option, a missing required one, a value of the wrong form. */
export class UsageError extends KvmhaError {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A command the invoked name does not implement yet (it is not advertised either). */
export class NotImplementedError extends KvmhaError {
  readonly exitCode: number;
  constructor(what: string, exitCode: number) {
    super(`${what} is not implemented in this version of kvmha`);
    this.exitCode = exitCode;
  }
}

/** The text of anything thrown: an Error's message, or the value itself as text. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === "string" ? err : (JSON.stringify(err) ?? String(err));
}

/** Why a file could not be read, in a few words: "no such file", "permission denied", … */
export function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT"
    ? "no such file"
    : code === "EACCES"
      ? "permission denied"
      : code === "EISDIR"
        ? "is a directory"
        : (code ?? "unreadable");
}
