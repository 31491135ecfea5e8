/**
 * A point in time by which something must be done. Every wait in kvmha takes one, so that no
 * loop or retry can outlive the budget its caller was given (op timeout, power_timeout, …).
 */
export class Deadline {
  private constructor(readonly at: number) {}

  static in(ms: number, now: number = Date.now()): Deadline {
    return new Deadline(now + Math.max(0, ms));
  }

  static inSeconds(seconds: number, now: number = Date.now()): Deadline {
    return Deadline.in(seconds * 1000, now);
  }

  /** Whole milliseconds left (timer and child-process APIs refuse fractions). */
  remainingMs(now: number = Date.now()): number {
    return Math.max(0, Math.floor(this.at - now));
  }

  expired(now: number = Date.now()): boolean {
    return now >= this.at;
  }

  /** The earlier of this deadline and one `ms` from now. */
  within(ms: number, now: number = Date.now()): Deadline {
    return new Deadline(Math.min(this.at, now + Math.max(0, ms)));
  }
}

/** Sleeps `ms`, never past `deadline`. */
export function sleep(ms: number, deadline?: Deadline): Promise<void> {
  const wait = deadline === undefined ? ms : Math.min(ms, deadline.remainingMs());
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
}

/** Milliseconds as seconds with one decimal, for messages: `2.5 s`. */
export function secs(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
