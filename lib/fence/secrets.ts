/**
 * password_script (and its kin: snmp_priv_passwd_script, fence_pdu's community_script): the secret comes from a command's first output line, so it never has to
 * appear in the CIB, in argv or in the environment. The command runs through /bin/sh like the
 * fence-agents' popen, bounded in time; its output is never logged.
 */
import { execFile } from "node:child_process";
import { PasswordScriptError } from "./errors.js";

export function runPasswordScript(
  option: string,
  script: string,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "/bin/sh",
      ["-c", script],
      { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024, encoding: "utf8" },
      (error, stdout) => {
        if (error !== null) {
          const why = error.killed
            ? `did not finish within ${Math.round(timeoutMs / 1000)} s`
            : `exited with status ${String(error.code ?? "unknown")}`;
          reject(new PasswordScriptError(`${option} ${why}`));
          return;
        }
        const password = stdout.split("\n")[0]?.replace(/\s+$/, "") ?? "";
        // Named by the option, not "password": community_script uses this too.
        if (password === "")
          reject(new PasswordScriptError(`${option} printed nothing on its first line`));
        else resolve(password);
      },
    );
  });
}
