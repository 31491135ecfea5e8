/** crm_simulate's "Transition Summary" read into actions. Pure. */

export interface Transition {
  /** Start, Stop, Move, Migrate, Restart, Recover, Promote, … as Pacemaker says it. */
  readonly action: string;
  readonly resource: string;
  /** The rest of the line: `( hv1 -> hv2 )  due to …`. */
  readonly detail: string;
}

/** The actions listed under "Transition Summary:" (crm_simulate --run, text output). */
export function parseTransition(text: string): Transition[] {
  const out: Transition[] = [];
  let inSummary = false;
  for (const line of text.split("\n")) {
    if (/^Transition Summary:/.test(line)) {
      inSummary = true;
      continue;
    }
    if (!inSummary) continue;
    const m = /^\s+\*\s+(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (m === null) {
      if (line.trim() !== "" && !/^\s/.test(line)) inSummary = false;
      continue;
    }
    out.push({ action: m[1] as string, resource: m[2] as string, detail: (m[3] ?? "").trim() });
  }
  return out;
}
