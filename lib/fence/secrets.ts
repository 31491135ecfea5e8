/**
 * password_script (and its kin: snmp_priv_passwd_script, fence_pdu's community_script): the secret
 * comes from a command's first output line, so it never has to appear in the CIB, in argv or in
 * the environment. The command runs through /bin/sh like fence-agents' popen, bounded in time; its
 * output is never logged, its stderr is not read (it could hold the secret).
 *
 * The script runs in a process group of its own. When the shell exits, what it printed is taken at
 * once: a background process it left (`helper &`) may hold the pipe open for ever, and waiting
 * for the pipe to close would cost the whole timeout. Then, and on timeout, the whole group is
 * ended, so nothing the script started outlives the agent.
 */
import { spawn } from "node:child_process";
import { PasswordScriptError } from "./errors.js";

/** What a script may print; more is a mistake (and is not kept). */
const MAX_OUTPUT = 64 * 1024;
/** After the shell exited, how long output already in the pipe is given to arrive. */
const DRAIN_MS = 20;

export function runPasswordScript(
  option: string,
  script: string,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", script], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let drain: NodeJS.Timeout | undefined;

    const endGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    };
    const settle = (failure: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drain);
      endGroup();
      child.stdout?.destroy();
      if (failure !== undefined) {
        reject(new PasswordScriptError(`${option} ${failure}`));
        return;
      }
      const first = Buffer.concat(chunks).toString("utf8").split("\n")[0] ?? "";
      const value = first.replace(/\s+$/, "");
      // Named by the option, not "password": community_script uses this too.
      if (value === "")
        reject(new PasswordScriptError(`${option} printed nothing on its first line`));
      else resolve(value);
    };
    const finish = (): void => {
      if (exit === undefined) return;
      if (exit.code === 0) settle(undefined);
      else
        settle(
          exit.code !== null
            ? `exited with status ${exit.code}`
            : `was ended by signal ${exit.signal ?? "unknown"}`,
        );
    };

    const timer = setTimeout(
      () => settle(`did not finish within ${Math.round(timeoutMs / 1000)} s`),
      timeoutMs,
    );
    child.on("error", (err) => settle(`could not be started: ${err.message}`));
    child.stdout?.on("data", (chunk: Buffer) => {
      if (size >= MAX_OUTPUT) return;
      chunks.push(chunk);
      size += chunk.length;
    });
    // The pipe closed: every holder is done writing.
    child.stdout?.on("end", () => {
      clearTimeout(drain);
      finish();
    });
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      // The shell is done; a background process may keep the pipe open: do not wait for it.
      drain = setTimeout(finish, DRAIN_MS);
    });
  });
}
