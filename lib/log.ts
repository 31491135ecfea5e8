/**
 * Fence-agent logging, where fence-agents' fencing.py writes and in its formats:
 *
 * - stderr (which Pacemaker's fencer captures into its own log), unless `quiet`: `LEVEL: message`
 *   at verbosity 0 (one ERROR line is what the fencer shows), and fencing.py's
 *   `YYYY-MM-DD HH:MM:SS,mmm LEVEL: message` from `-v` on;
 * - syslog (the journal), whatever `quiet` says, as fencing.py's SyslogLibHandler does: facility
 *   user, the agent's name as identifier, warnings and errors at verbosity 0, every line the
 *   verbosity lets through above it. Each syslog line also names the action and the device, so the
 *   journal alone tells what failed;
 * - the debug file (`debug_file`), every line, timestamped.
 *
 * Verbosity 1 (`-v`, `verbose=1`) adds the steps (connect, login, status read, command, read-back),
 * 2 and more (`-vv`) the protocol trace. Secrets are never searched for here: they are `Secret`
 * values (lib/secret.ts) that print as `[hidden]` wherever they are interpolated. Control
 * characters are escaped, so bytes from a device or from stdin never reach a terminal or a log raw.
 */
import { appendFileSync } from "node:fs";

export type LogLevel = "error" | "warning" | "info" | "debug";

const RANK: Readonly<Record<LogLevel, number>> = { error: 0, warning: 1, info: 2, debug: 3 };

/** syslog(3) severities of our levels, as fencing.py maps Python's. */
export const SYSLOG_SEVERITY: Readonly<Record<LogLevel, number>> = {
  error: 3,
  warning: 4,
  info: 6,
  debug: 7,
};
/** LOG_USER: what Python's syslog module (and so every fence-agents agent) logs under. */
export const SYSLOG_FACILITY_USER = 1;

/** One syslog message; must be bounded and must not throw. */
export type SyslogSink = (level: LogLevel, message: string) => void;

export interface LoggerSettings {
  /** No stderr output at all (fence-agents' --quiet); syslog and the debug file still get theirs. */
  quiet?: boolean;
  /** 0: errors and warnings; 1: the steps (info); 2 and more: the protocol trace (debug). */
  verbosity?: number;
  debugFile?: string;
  write?: (text: string) => void;
  syslog?: SyslogSink;
  now?: () => Date;
}

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/** fencing.py's asctime: local `YYYY-MM-DD HH:MM:SS,mmm`. */
export function logTime(d: Date): string {
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())},${String(d.getMilliseconds()).padStart(3, "0")}`;
}

/**
 * Text made safe for one log line: control characters (C0, DEL, C1) and lone surrogates as \xNN
 * or \uNNNN escapes, so nothing a device or a user sent can move a cursor or forge a line.
 */
export function printable(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => {
      const code = c.charCodeAt(0);
      return code <= 0xff
        ? `\\x${code.toString(16).padStart(2, "0")}`
        : `\\u${code.toString(16).padStart(4, "0")}`;
    },
  );
}

/** At most `max` characters of `text`, with how much was cut said. */
export function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more)`;
}

export class Logger {
  private quiet: boolean;
  private verbosity: number;
  private debugFile: string | undefined;
  private readonly write: (text: string) => void;
  private syslog: SyslogSink | undefined;
  private readonly now: () => Date;
  /** What the syslog lines say they are about: `off of 10.0.0.1:623`. */
  private subject: string | undefined;

  constructor(settings: LoggerSettings = {}) {
    this.quiet = settings.quiet ?? false;
    this.verbosity = settings.verbosity ?? 0;
    this.debugFile = settings.debugFile;
    this.write = settings.write ?? ((text) => process.stderr.write(text));
    this.syslog = settings.syslog;
    this.now = settings.now ?? (() => new Date());
  }

  configure(settings: LoggerSettings): void {
    if (settings.quiet !== undefined) this.quiet = settings.quiet;
    if (settings.verbosity !== undefined) this.verbosity = settings.verbosity;
    if (settings.debugFile !== undefined) this.debugFile = settings.debugFile;
    if (settings.syslog !== undefined) this.syslog = settings.syslog;
  }

  /** Names the action and device in every syslog line from now on (`off of 10.0.0.1:623`). */
  about(subject: string): void {
    this.subject = printable(subject);
  }

  /** Would a debug line be written anywhere? Lets callers skip building one on the hot path. */
  get debugging(): boolean {
    return this.debugFile !== undefined || this.verbosity >= 2;
  }

  error(message: string): void {
    this.emit("error", message);
  }
  warning(message: string): void {
    this.emit("warning", message);
  }
  info(message: string): void {
    this.emit("info", message);
  }
  debug(message: string): void {
    this.emit("debug", message);
  }

  /**
   * The error that ended the run: one `ERROR:` line on stderr, and in syslog the step it happened
   * in too, so that the journal alone tells which device, which step and why.
   */
  failure(message: string, step: string): void {
    this.emit("error", message, step);
  }

  /** A step of the action (connect, login, command, read-back): shown from `-v` on. */
  step(message: string): void {
    this.emit("info", message);
  }

  private emit(level: LogLevel, message: string, step?: string): void {
    const threshold =
      this.verbosity <= 0 ? RANK.warning : this.verbosity === 1 ? RANK.info : RANK.debug;
    const text = printable(message.replace(/\s*\n\s*/g, " "));
    const label = `${level.toUpperCase()}: ${text}`;
    const passes = RANK[level] <= threshold;
    if (!this.quiet && passes)
      this.write(this.verbosity <= 0 ? `${label}\n` : `${logTime(this.now())} ${label}\n`);
    if (passes && this.syslog !== undefined) {
      try {
        const about = [this.subject, step === undefined ? undefined : `failed while ${step}`]
          .filter((x) => x !== undefined)
          .join(", ");
        this.syslog(level, about === "" ? label : `${about}: ${label}`);
      } catch {
        this.syslog = undefined;
      }
    }
    if (this.debugFile !== undefined) {
      try {
        appendFileSync(this.debugFile, `${logTime(this.now())} ${label}\n`, { mode: 0o600 });
      } catch {
        this.debugFile = undefined;
        if (!this.quiet)
          this.write(`WARNING: cannot write the debug file; debug logging to it is off\n`);
      }
    }
  }
}
