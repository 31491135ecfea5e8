/**
 * Logging for resource agents, to the places ocf-shellfuncs' ocf_log writes, chosen by the same
 * variables (read at run time by the runner):
 *
 * - stderr a terminal (an admin running the agent by hand): `TAG: LEVEL: message` there, nowhere else;
 * - `HA_LOGFACILITY` (not `none`): syslog through `logger -t TAG -p FACILITY.LEVEL`;
 * - `HA_LOGFILE`: appended, `DATE TAG:    LEVEL: message`;
 * - neither: stderr, `DATE LEVEL: message` (pacemaker-execd captures it into its own log);
 * - `HA_DEBUGLOG`: every line too, unless it is `HA_LOGFILE` or /dev/null.
 *
 * Debug lines are written only when `HA_debug` (what Pacemaker exports) or `HA_DEBUG` is set and
 * not 0. The exit reason goes to stderr with its `ocf-exit-reason:` prefix and to the log as an
 * error, never twice to stderr. Every line goes into the trace file too when tracing is on. Secret
 * parameters are `Secret` values (lib/secret.ts) that print as `[hidden]` where they are
 * interpolated; lines are never searched for them.
 */
import { appendFileSync } from "node:fs";
import { printable } from "../log.js";

export type OcfLogLevel = "err" | "warning" | "info" | "debug";

const LABEL: Readonly<Record<OcfLogLevel, string>> = {
  err: "ERROR",
  warning: "WARNING",
  info: "INFO",
  debug: "DEBUG",
};

export interface OcfLogSinks {
  /** stderr. */
  err(text: string): void;
  /** One syslog message (`logger` in processOcfIo). Must be bounded and must not throw. */
  syslog(facility: string, level: OcfLogLevel, tag: string, message: string): void;
  /** The agent's step trace (OCF_TRACE_RA), when on. */
  trace?(line: string): void;
}

export interface OcfLogSettings {
  /** `Name(instance)[pid]`, or HA_LOGTAG. */
  readonly tag: string;
  readonly stderrIsTty: boolean;
  readonly facility?: string;
  readonly logFile?: string;
  readonly debugLog?: string;
  readonly debug: boolean;
  /** OCF_EXIT_REASON_PREFIX, default `ocf-exit-reason:`. */
  readonly exitReasonPrefix: string;
  readonly now?: () => Date;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/** The shell agents' default date (HA_DATEFMT "%b %d %T "), local time, trailing space included. */
export function haDate(d: Date): string {
  return `${MONTHS[d.getMonth()]} ${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} `;
}

export class OcfLog {
  private logFile: string | undefined;
  private debugLog: string | undefined;

  constructor(
    private readonly settings: OcfLogSettings,
    private readonly sinks: OcfLogSinks,
  ) {
    this.logFile = settings.logFile === "" ? undefined : settings.logFile;
    const debugLog =
      settings.debugLog === "" || settings.debugLog === "/dev/null" ? undefined : settings.debugLog;
    this.debugLog = debugLog === this.logFile ? undefined : debugLog;
  }

  get debugEnabled(): boolean {
    return this.settings.debug;
  }

  error(message: string): void {
    this.emit("err", message, false);
  }
  warning(message: string): void {
    this.emit("warning", message, false);
  }
  info(message: string): void {
    this.emit("info", message, false);
  }
  debug(message: string): void {
    this.emit("debug", message, false);
  }

  /** A step of the agent, for the trace file only (OCF_TRACE_RA). */
  trace(step: string): void {
    this.sinks.trace?.(this.oneLine(step));
  }

  /** The failure reason Pacemaker shows: one stderr line with the prefix, and an error in the log. */
  exitReason(message: string): void {
    const text = this.oneLine(message);
    this.sinks.err(`${this.settings.exitReasonPrefix}${text}\n`);
    this.emit("err", text, true);
  }

  private oneLine(message: string): string {
    return printable(message.replace(/\s*\n\s*/g, " "));
  }

  private emit(level: OcfLogLevel, message: string, stderrAlready: boolean): void {
    const text = `${LABEL[level]}: ${this.oneLine(message)}`;
    this.sinks.trace?.(text);
    if (level === "debug" && !this.settings.debug) return;
    const { tag, facility } = this.settings;
    if (this.settings.stderrIsTty) {
      if (!stderrAlready) this.sinks.err(`${tag}: ${text}\n`);
      return;
    }
    const date = haDate(this.settings.now?.() ?? new Date());
    if (facility !== undefined) this.sinks.syslog(facility, level, tag, text);
    if (level !== "debug" && this.logFile !== undefined) {
      this.logFile = this.append(this.logFile, `${date}${tag}:    ${text}\n`);
    }
    if (this.debugLog !== undefined)
      this.debugLog = this.append(this.debugLog, `${tag}:\t${date}${text}\n`);
    const elsewhere =
      facility !== undefined ||
      (level === "debug" ? this.debugLog !== undefined : this.logFile !== undefined);
    if (!elsewhere && !stderrAlready) this.sinks.err(`${date}${text}\n`);
  }

  /** Appends a line; a file that cannot be written is dropped after one warning on stderr. */
  private append(path: string, line: string): string | undefined {
    try {
      appendFileSync(path, line);
      return path;
    } catch {
      this.sinks.err(`WARNING: cannot write the log file ${path}; logging to it is off\n`);
      return undefined;
    }
  }
}
