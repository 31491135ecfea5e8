/**
 * Warm-ups run while the startup snapshot is built, so that the executable starts with the
 * protocol code already compiled. They must leave no timer behind: Node's timer lists carry expiry
 * times from the build's clock, and lists taken into the snapshot stalled timers of other
 * durations at run time (a fence_pdu timeout never fired). So warm-ups run with the timer
 * functions replaced by inert stand-ins: immediates become microtasks, timeouts never fire (the
 * warm-ups are answered at once), and the real functions are back before the snapshot is taken.
 */
type TimerGlobals = Pick<
  typeof globalThis,
  | "setTimeout"
  | "clearTimeout"
  | "setInterval"
  | "clearInterval"
  | "setImmediate"
  | "clearImmediate"
>;

class InertTimer {
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return false;
  }
  refresh(): this {
    return this;
  }
  [Symbol.toPrimitive](): number {
    return 0;
  }
}

/** How many event-loop turns a warm-up may take before it is abandoned (each is a real setImmediate). */
const MAX_TURNS = 2000;

export async function warmUpWithoutTimers(work: () => Promise<unknown>): Promise<void> {
  const real: TimerGlobals = {
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
    setInterval: globalThis.setInterval,
    clearInterval: globalThis.clearInterval,
    setImmediate: globalThis.setImmediate,
    clearImmediate: globalThis.clearImmediate,
  };
  const inert = {
    setTimeout: () => new InertTimer(),
    clearTimeout: () => {},
    setInterval: () => new InertTimer(),
    clearInterval: () => {},
    setImmediate: (callback: (...args: unknown[]) => void, ...args: unknown[]) => {
      queueMicrotask(() => callback(...args));
      return new InertTimer();
    },
    clearImmediate: () => {},
  };
  Object.assign(globalThis, inert);
  let settled = false;
  try {
    work().then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let turn = 0; turn < MAX_TURNS && !settled; turn += 1)
      await new Promise<void>((resolve) => real.setImmediate(() => resolve()));
  } finally {
    Object.assign(globalThis, real);
  }
}
