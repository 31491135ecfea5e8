/**
 * What kvmha's own usage texts share, without loading a parser: the dispatcher (main.ts), which
 * every agent run loads, needs these and nothing of node:util's parseArgs (lib/cli/args.ts).
 */

/** The exit code of a usage error, for kvmha and its subcommands. */
export const EXIT_USAGE = 2;

/** Items joined by `sep`, in lines of at most `width` characters. */
export function wrapList(items: readonly string[], width: number, sep: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const item of items) {
    const next = line === "" ? item : `${line}${sep}${item}`;
    if (line !== "" && next.length + sep.trimEnd().length > width) {
      lines.push(`${line}${sep.trimEnd()}`);
      line = item;
    } else line = next;
  }
  if (line !== "") lines.push(line);
  return lines;
}
