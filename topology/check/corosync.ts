/**
 * corosync.conf as kvmha check needs it: how many nodes vote and what breaks a tie between two
 * halves (votequorum's two_node, auto_tie_breaker, a quorum device). Quorum lives there, not in
 * the CIB. Pure: the file's text in, the quorum settings out; a text corosync cannot read either is
 * said in one line.
 */

export interface CorosyncQuorum {
  /** quorum.provider (corosync_votequorum on every current cluster). */
  readonly provider: string | undefined;
  /** The nodes of the nodelist (the voters; absent: undefined, the CIB's members count). */
  readonly nodes: number | undefined;
  readonly twoNode: boolean;
  readonly autoTieBreaker: boolean;
  /** quorum.device's model (net: corosync-qnetd), when a quorum device is configured. */
  readonly device: string | undefined;
}

export class CorosyncConfError extends Error {}

interface Section {
  readonly name: string;
  readonly values: Map<string, string>;
  readonly children: Section[];
}

/** corosync's config format: `name {` … `}` sections, `key: value` lines, `#` comments. */
function parseSections(text: string): Section {
  const root: Section = { name: "", values: new Map(), children: [] };
  const stack: Section[] = [root];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const top = stack.at(-1) as Section;
    const open = /^([A-Za-z0-9_.-]+)\s*\{$/.exec(line);
    if (open?.[1] !== undefined) {
      const section: Section = { name: open[1], values: new Map(), children: [] };
      top.children.push(section);
      stack.push(section);
      continue;
    }
    if (line === "}") {
      if (stack.length === 1) throw new CorosyncConfError(`line ${i + 1}: '}' closes nothing`);
      stack.pop();
      continue;
    }
    const kv = /^([A-Za-z0-9_.-]+)\s*:\s*(.*)$/.exec(line);
    if (kv?.[1] === undefined)
      throw new CorosyncConfError(`line ${i + 1}: expected 'key: value', 'name {' or '}'`);
    top.values.set(kv[1], (kv[2] ?? "").trim());
  }
  if (stack.length > 1)
    throw new CorosyncConfError(`section '${stack.at(-1)?.name ?? ""}' is not closed`);
  return root;
}

const on = (v: string | undefined): boolean => v !== undefined && /^(1|yes|on|true)$/i.test(v);

export function parseCorosyncConf(text: string): CorosyncQuorum {
  const root = parseSections(text);
  const quorum = root.children.find((s) => s.name === "quorum");
  const nodelist = root.children.find((s) => s.name === "nodelist");
  const device = quorum?.children.find((s) => s.name === "device");
  return {
    provider: quorum?.values.get("provider"),
    nodes: nodelist?.children.filter((s) => s.name === "node").length,
    twoNode: on(quorum?.values.get("two_node")),
    autoTieBreaker: on(quorum?.values.get("auto_tie_breaker")),
    device: device === undefined ? undefined : (device.values.get("model") ?? "unknown"),
  };
}

/** Where corosync keeps it on every distribution kvmha supports. */
export const COROSYNC_CONF = "/etc/corosync/corosync.conf";

/**
 * corosync.conf read from `file` (the only I/O here). Given explicitly (`explicit`), a file that
 * cannot be read or parsed is an error; the default path is read when it is there and readable,
 * and otherwise the quorum is not checked (a workstation checking a CIB file has none).
 */
export function readCorosyncConf(
  file: string,
  explicit: boolean,
  read: (file: string) => string,
): { readonly file: string; readonly quorum: CorosyncQuorum } | undefined {
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    if (!explicit) return undefined;
    throw new CorosyncConfError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
  try {
    return { file, quorum: parseCorosyncConf(text) };
  } catch (err) {
    if (err instanceof CorosyncConfError) throw new CorosyncConfError(`${file}: ${err.message}`);
    throw err;
  }
}
