/**
 * Agent logging: stderr (which Pacemaker captures into its own log) unless quiet, and an optional
 * debug file. Every line passes through redaction, so a secret that slipped into a message (a
 * password echoed by a device, say) is still never written.
 */
import { appendFileSync } from "node:fs";

export type LogLevel = "error" | "warning" | "info" | "debug";

const RANK: Record<LogLevel, number> = { error: 0, warning: 1, info: 2, debug: 3 };

export interface LoggerSettings {
  /** No stderr output at all (fence-agents' --quiet). */
  quiet?: boolean;
  /** 0: errors and warnings; 1: info; 2 and more: debug (protocol traces). */
  verbosity?: number;
  debugFile?: string;
  write?: (text: string) => void;
}

export class Logger {
  private readonly secrets: string[] = [];
  private quiet: boolean;
  private verbosity: number;
  private debugFile: string | undefined;
  private readonly write: (text: string) => void;

  constructor(settings: LoggerSettings = {}) {
    this.quiet = settings.quiet ?? false;
    this.verbosity = settings.verbosity ?? 0;
    this.debugFile = settings.debugFile;
    this.write = settings.write ?? ((text) => process.stderr.write(text));
  }

  configure(settings: LoggerSettings): void {
    if (settings.quiet !== undefined) this.quiet = settings.quiet;
    if (settings.verbosity !== undefined) this.verbosity = settings.verbosity;
    if (settings.debugFile !== undefined) this.debugFile = settings.debugFile;
  }

  /** Registers a value that must never be written, whatever message it turns up in. */
  addSecret(secret: string | undefined): void {
    if (secret !== undefined && secret.length > 0 && !this.secrets.includes(secret)) {
      this.secrets.push(secret);
      this.secrets.sort((a, b) => b.length - a.length);
    }
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join("[hidden]");
    return out;
  }

  /** Would a debug line be written anywhere? Lets callers skip building one on the hot path. */
  get debugging(): boolean {
    return this.debugFile !== undefined || (!this.quiet && this.verbosity >= 2);
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

  private emit(level: LogLevel, message: string): void {
    const threshold =
      this.verbosity <= 0 ? RANK.warning : this.verbosity === 1 ? RANK.info : RANK.debug;
    const line = `${level.toUpperCase()}: ${this.redact(message).replace(/\s*\n\s*/g, " ")}\n`;
    if (!this.quiet && RANK[level] <= threshold) this.write(line);
    if (this.debugFile !== undefined) {
      try {
        appendFileSync(this.debugFile, `${new Date().toISOString()} ${line}`, { mode: 0o600 });
      } catch {
        this.debugFile = undefined;
        if (!this.quiet)
          this.write(`WARNING: cannot write the debug file; debug logging to it is off\n`);
      }
    }
  }
}
