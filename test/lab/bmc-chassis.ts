/**
 * The chassis of a lab BMC (ipmi_sim's, pyghmi's), as files in its directory that the daemon's
 * glue and the tests share.
 */
import fsp from "node:fs/promises";
import path from "node:path";
import { writeAtomic } from "./daemon.js";

/**
 * The chassis of a lab BMC, as files in its directory that the daemon's glue and the tests share:
 * `power` ("1" on, "0" off), `stuck` (present: power commands acknowledged, not carried out) and
 * `chassis.log` (one line per command, e.g. "set power 0").
 */
export interface ChassisFiles {
  /** File holding the chassis power state: "1" on, "0" off. */
  powerFile: string;
  readPower(): Promise<"on" | "off">;
  /** Change the power state behind the BMC's back (as if a person pressed the button). */
  setPower(state: "on" | "off"): Promise<void>;
  /** Switch the "stuck" fault mode on or off. */
  setStuck(on: boolean): Promise<void>;
  /** Chassis commands the BMC carried out or acknowledged, oldest first. */
  chassisCalls(): Promise<string[]>;
}

/** Writes the chassis files in `dir`: power `initial`, stuck or not, an empty log. */
export async function initChassisFiles(
  dir: string,
  initial: "on" | "off",
  stuck = false,
): Promise<void> {
  const chassis = chassisFiles(dir);
  await chassis.setPower(initial);
  await chassis.setStuck(stuck);
  await fsp.writeFile(path.join(dir, "chassis.log"), "");
}

/** The chassis files of the lab BMC in `dir` (see {@link initChassisFiles}). */
export function chassisFiles(dir: string): ChassisFiles {
  const powerFile = path.join(dir, "power");
  const stuckFile = path.join(dir, "stuck");
  const logFile = path.join(dir, "chassis.log");
  return {
    powerFile,
    async readPower() {
      const text = (await fsp.readFile(powerFile, "utf8")).trim();
      if (text === "1") return "on";
      if (text === "0") return "off";
      throw new Error(`power file ${powerFile} holds '${text}', expected 0 or 1`);
    },
    setPower: (state) => writeAtomic(powerFile, state === "on" ? "1\n" : "0\n"),
    async setStuck(on) {
      if (on) await fsp.writeFile(stuckFile, "");
      else await fsp.rm(stuckFile, { force: true });
    },
    async chassisCalls() {
      const text = await fsp.readFile(logFile, "utf8");
      return text.split("\n").filter((l) => l.length > 0);
    },
  };
}
