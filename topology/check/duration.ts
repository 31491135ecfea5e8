/**
 * Pacemaker's time values: interval specs ("90", "90s", "500ms", "2min", "1h", ISO 8601 "PT1M30S")
 * as the CIB holds them for op timeouts and cluster properties, and the fencer's own reading of
 * pcmk_*_timeout, which is atoi(): leading digits only, in seconds, whatever unit follows.
 */

const UNITS_MS: Readonly<Record<string, number>> = {
  "": 1000,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  ms: 1,
  msec: 1,
  msecs: 1,
  us: 0.001,
  usec: 0.001,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
};

/** An interval spec in milliseconds; undefined when it is not one. */
export function parseDurationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = text.trim();
  if (value === "") return undefined;
  if (/^P/i.test(value)) return parseIso8601Ms(value);
  const m = /^([+]?\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value);
  if (m === null) return undefined;
  const unit = UNITS_MS[(m[2] ?? "").toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.round(Number(m[1]) * unit);
}

function parseIso8601Ms(value: string): number | undefined {
  const m =
    /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(
      value,
    );
  if (m === null || value.toUpperCase() === "P" || value.toUpperCase().endsWith("T"))
    return undefined;
  const n = (i: number): number => Number(m[i] ?? 0);
  const days = n(1) * 365 + n(2) * 30 + n(3) * 7 + n(4);
  return Math.round(((days * 24 + n(5)) * 60 + n(6)) * 60_000 + n(7) * 1000);
}

/**
 * How the fencer reads pcmk_<action>_timeout: atoi(value) seconds. "2min" is 2 s to it, so the
 * unit is reported separately (see the rule timeout-unit-ignored).
 */
export function parseFencerSeconds(
  text: string | undefined,
): { seconds: number; ignoredUnit: string | undefined } | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*([+-]?\d+)(.*)$/.exec(text);
  if (m === null) return undefined;
  const rest = (m[2] ?? "").trim();
  const ignoredUnit = rest === "" || /^(s|sec|secs|seconds?)$/i.test(rest) ? undefined : rest;
  return { seconds: Number(m[1]), ignoredUnit };
}

/** Seconds as shown to people: "60 s", "1.5 s". */
export function showSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
