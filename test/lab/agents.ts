/**
 * Runs kvmha's built agents the way Pacemaker does: the executable from dist/bin, options as
 * key=value lines on stdin (so no secret is ever in argv), or on the command line for CLI tests.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type RunResult, run } from "./clients.js";

export const DIST_BIN = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../dist/bin",
);

/** Path of a built agent; a missing build is a failure with the fix in the message. */
export function agentPath(name: string): string {
  const file = path.join(DIST_BIN, name);
  if (!fs.existsSync(file))
    throw new Error(`${file} is missing: run 'npm run build' (npm test does it first)`);
  return file;
}

export function stdinOf(options: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(options)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v === true ? "1" : v === false ? "0" : String(v)}\n`)
    .join("");
}

/** Runs an agent with key=value options on stdin. */
export function runAgentStdin(
  name: string,
  options: Record<string, string | number | boolean | undefined>,
  killAfterMs = 60_000,
): Promise<RunResult> {
  return run(agentPath(name), [], {
    input: stdinOf(options),
    killAfterMs,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
  });
}

/** Runs an agent with command-line options (never put a real secret here in production). */
export function runAgentArgs(
  name: string,
  args: readonly string[],
  killAfterMs = 60_000,
): Promise<RunResult> {
  return run(agentPath(name), args, {
    killAfterMs,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
  });
}

/** Every .ts file under `rel` (a file or a directory of the checkout). */
function sourcesUnder(rel: string): string[] {
  const root = path.resolve(DIST_BIN, "../..");
  const full = path.join(root, rel);
  if (!fs.statSync(full).isDirectory()) return [rel];
  return fs
    .readdirSync(full, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(rel, f));
}

/**
 * Fails (with the fix) when a built agent is older than any of its sources, given as files or
 * directories of the checkout: a test of the executable must not test yesterday's code.
 */
export function assertBuiltAfter(agent: string, sources: readonly string[]): void {
  const root = path.resolve(DIST_BIN, "../..");
  assert.ok(fs.existsSync(agent), `${agent} is missing: run npm run build`);
  const built = fs.statSync(fs.realpathSync(agent)).mtimeMs;
  for (const src of sources.flatMap(sourcesUnder))
    assert.ok(
      fs.statSync(path.join(root, src)).mtimeMs <= built,
      `${src} is newer than ${agent}: run npm run build`,
    );
}

/** The sources of ocf:kvmha:VirtualDomain: the agent and everything in lib/ it may bundle. */
export const VIRTUAL_DOMAIN_SOURCES: readonly string[] = ["agents", "lib"];
/** A failure as the fence agents end one: exit 1, exactly one line on stderr, no stack trace. */
export function assertOneLineFailure(r: RunResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stdout, /Success|Status/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}

/** Parameter names and actions a fence agent's metadata advertises. */
export function advertised(xml: string): { parameters: Set<string>; actions: string[] } {
  return {
    parameters: new Set([...xml.matchAll(/<parameter name="([^"]+)"/g)].map((m) => m[1] as string)),
    actions: [...xml.matchAll(/<action name="([^"]+)"/g)].map((m) => m[1] as string).sort(),
  };
}
