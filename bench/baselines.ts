/**
 * The floors under the other benches' figures (a process that does nothing, Python's start, the
 * bare embedded runtimes, our --version), so that figures from machines of different speed can be
 * compared. `npm run bench` prints them first.
 */
import { messageOf } from "../lib/errors.js";
import { baselines, saveResult } from "./hyperfine.js";

try {
  saveResult("baselines", baselines());
} catch (err) {
  process.stderr.write(`bench failed: ${messageOf(err)}\n`);
  process.exitCode = 1;
}
