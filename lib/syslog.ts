/**
 * Syslog for the fence agents, as fence-agents' SyslogLibHandler writes it: facility user, the
 * agent's name as identifier (what Python's syslog module takes from argv[0]), one message per
 * line, to /dev/log (the journal's socket under systemd). Node has no Unix datagram socket, so the
 * lines go through one util-linux `logger --prio-prefix` process, started at the first line (a run
 * that logs nothing at its verbosity starts none) and fed through a pipe: each line reaches the
 * pipe when it is written, so a run that the fencer kills still leaves what it logged before.
 * resource-agents' ocf_log uses the same `logger` (lib/ocf/run.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { type LogLevel, SYSLOG_FACILITY_USER, SYSLOG_SEVERITY } from "./log.js";

const LOGGER = "/usr/bin/logger";

/** syslog(3)'s 1024-byte default; logger would cut there anyway. */
const MAX_MESSAGE = 1000;

export type SyslogWriter = (tag: string, level: LogLevel, message: string) => void;

/** A writer for this process (pid for the message's id); a missing or failing logger is silent. */
export function loggerSyslog(pid: number): SyslogWriter {
  let child: ChildProcess | undefined;
  let broken = false;
  return (tag, level, message) => {
    if (broken) return;
    if (child === undefined) {
      if (!existsSync(LOGGER)) {
        broken = true;
        return;
      }
      child = spawn(LOGGER, ["-t", tag, `--id=${pid}`, "--prio-prefix"], {
        stdio: ["pipe", "ignore", "ignore"],
      });
      child.on("error", () => {
        broken = true;
      });
      child.stdin?.on("error", () => {
        broken = true;
      });
      // Neither the child nor its pipe may keep the agent alive; its exit ends them.
      child.unref();
      (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    }
    const priority = SYSLOG_FACILITY_USER * 8 + SYSLOG_SEVERITY[level];
    const text = message.replace(/\0/g, " ");
    child.stdin?.write(
      `<${priority}>${text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text}\n`,
    );
  };
}
