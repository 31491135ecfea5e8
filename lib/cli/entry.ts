/**
 * The process entry, for the built executable and for runs from sources alike:
 *
 *   dist/bin/fence_ipmi -o metadata                        (the single executable, through a link)
 *   dist/bin/kvmha fence_ipmi -o metadata                  (the single executable, by command)
 *   node --import tsx lib/cli/entry.ts fence_ipmi -o metadata   (sources, by command)
 *
 * In the executable this module is the startup-snapshot entry: scripts/build.mjs runs it once at
 * build time under `--experimental-sea-config` with `"useSnapshot": true`, and everything it does
 * at module level is frozen into the snapshot. So module level only registers `start`; the
 * arguments, the environment, the clock and the process handlers are read and set up in `start`,
 * at run time.
 */
import { basename } from "node:path";
import { startupSnapshot } from "node:v8";
import { main, preloadShippedCommands, reportFatal } from "./main.js";

/** What the process was invoked as, and with which arguments. */
interface Invocation {
  readonly name: string;
  readonly args: readonly string[];
}

/**
 * In a single executable application `process.argv` is [execPath, argv0 as given, ...args], and
 * execPath is the resolved binary (`/usr/lib/kvmha/kvmha`), never the link it was started through;
 * the link's name (`fence_ipmi`) is only in `process.argv0`. From sources, argv[1] is this script,
 * so the name is `kvmha` and the command is the first argument.
 */
function invocation(inSea: boolean, argv: readonly string[], argv0: string): Invocation {
  if (inSea) return { name: basename(argv0), args: argv.slice(2) };
  return { name: "kvmha", args: argv.slice(2) };
}

function runningInSea(): boolean {
  // node:sea exists from Node 20.12 on; getBuiltinModule from 20.16. Both are on the host and in
  // the embedded runtime, but a missing one must not take the entry down.
  const sea = process.getBuiltinModule?.("node:sea");
  if (sea?.isSea() === true) return true;
  // A Bun standalone executable runs its code from Bun's embedded file system.
  return process.argv[1]?.startsWith("/$bunfs/") ?? false;
}

let fatalName = "kvmha";

/** An exception or rejection nothing handled: one line, exit 1, never a stack trace. */
function fatal(err: unknown): never {
  reportFatal(fatalName, err);
  process.exit(1);
}

async function start(): Promise<void> {
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
  const { name, args } = invocation(runningInSea(), process.argv, process.argv0);
  fatalName = name;
  let code: number;
  try {
    code = await main(name, args);
  } catch (err) {
    code = reportFatal(name, err);
  }
  // Exit now rather than when the event loop drains: a DNS lookup that cannot be cancelled, or a
  // library's forgotten timer, must not hold a fencing result back. On Linux, writes to pipes,
  // files and terminals are synchronous, so nothing printed is lost.
  process.exit(code);
}

if (startupSnapshot.isBuildingSnapshot()) {
  startupSnapshot.setDeserializeMainFunction(() => {
    void start();
  });
  void preloadShippedCommands();
} else {
  void start();
}
