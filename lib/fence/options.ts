/**
 * Option declarations in the shape the fence-agents API uses: one current name per option, the
 * legacy names admins still type (`ipaddr`, `login`, `passwd`, `port`, …) as aliases, a GNU short
 * and long form for the command line, and what metadata advertises. Agents pick the standard
 * options they use from `standard` and add their own.
 */
export type OptionType = "string" | "integer" | "second" | "boolean" | "select";

export interface OptionSpec {
  /** Current name: the stdin key and the metadata parameter name. */
  readonly name: string;
  /** Legacy names still accepted on stdin; advertised in metadata as deprecated. */
  readonly aliases?: readonly string[];
  /** GNU short option letter, e.g. "a" for -a. */
  readonly short?: string;
  /** GNU long option, without dashes; defaults to `name` with `_` → `-`. */
  readonly long?: string;
  /** Placeholder shown in usage/metadata for options that take a value; absent for flags. */
  readonly value?: string;
  readonly type: OptionType;
  readonly choices?: readonly string[];
  readonly default?: string;
  readonly required?: boolean;
  /** Never printed, logged or put in an error message. */
  readonly secret?: boolean;
  readonly shortdesc: string;
  /** Metadata sort key (fence-agents order): device options first, then logging, then timing. */
  readonly order: number;
  /** Accepted for compatibility but has no effect here; said so in a warning when set. */
  readonly ignored?: string;
  /** Not advertised in metadata or usage (still parsed). */
  readonly hidden?: boolean;
  /** This option names a command whose first output line is the value of that (secret) option. */
  readonly scriptFor?: string;
  /** Integers only: the smallest and largest value accepted, and what the value is (for the error). */
  readonly range?: { readonly min: number; readonly max: number; readonly what: string };
}

export function longName(spec: OptionSpec): string {
  return spec.long ?? spec.name.replace(/_/g, "-");
}

export function takesValue(spec: OptionSpec): boolean {
  return spec.value !== undefined;
}

/** Sets: the values the fence-agents API treats as true and false. */
export const TRUE_WORDS: ReadonlySet<string> = new Set(["1", "yes", "on", "true"]);
export const FALSE_WORDS: ReadonlySet<string> = new Set(["0", "no", "off", "false"]);

const ORDER_DEVICE = 1;
const ORDER_LOGGING = 50;
const ORDER_TIMING = 200;

/** The options every fence agent shares (fence-agents' common set), by current name. */
export const standard = {
  action: {
    name: "action",
    short: "o",
    value: "action",
    type: "string",
    default: "reboot",
    required: true,
    shortdesc: "Fencing action",
    order: ORDER_DEVICE,
  },
  // fence-agents' method: the framework turns `cycle` into the device's power cycle (run.ts).
  method: {
    name: "method",
    short: "m",
    value: "method",
    type: "select",
    choices: ["onoff", "cycle"],
    default: "onoff",
    shortdesc:
      "Method to fence: onoff (verified off, then on) or cycle (the device's own power cycle, which is NOT verified)",
    order: ORDER_DEVICE,
  },
  // fence-agents' port_as_ip: the plug is the device's address (FenceOptions.host reads it).
  port_as_ip: {
    name: "port_as_ip",
    type: "boolean",
    shortdesc: 'Make "port/plug" to be an alias to IP address',
    order: 200,
  },
  ip: {
    name: "ip",
    aliases: ["ipaddr"],
    short: "a",
    value: "ip",
    type: "string",
    shortdesc: "IP address or hostname of fencing device",
    order: ORDER_DEVICE,
  },
  ipport: {
    name: "ipport",
    short: "u",
    value: "port",
    type: "integer",
    range: { min: 1, max: 65535, what: "a TCP/UDP port" },
    shortdesc: "TCP/UDP port to use for connection with device",
    order: ORDER_DEVICE,
  },
  username: {
    name: "username",
    aliases: ["login"],
    short: "l",
    value: "name",
    type: "string",
    shortdesc: "Login name",
    order: ORDER_DEVICE,
  },
  password: {
    name: "password",
    aliases: ["passwd"],
    short: "p",
    value: "password",
    type: "string",
    secret: true,
    shortdesc: "Login password or passphrase",
    order: ORDER_DEVICE,
  },
  password_script: {
    name: "password_script",
    aliases: ["passwd_script"],
    short: "S",
    value: "script",
    type: "string",
    shortdesc: "Script to run to retrieve password",
    order: ORDER_DEVICE,
    scriptFor: "password",
  },
  plug: {
    name: "plug",
    aliases: ["port"],
    short: "n",
    value: "id",
    type: "string",
    shortdesc: "Physical plug number on device, UUID or identification of machine",
    order: ORDER_DEVICE,
  },
  nodename: {
    name: "nodename",
    value: "name",
    type: "string",
    shortdesc: "Name of the node to be fenced (set by Pacemaker)",
    order: ORDER_DEVICE,
    hidden: true,
  },
  quiet: {
    name: "quiet",
    short: "q",
    type: "boolean",
    shortdesc:
      "Disable logging to stderr. Does not affect --verbose or --debug-file or logging to syslog.",
    order: ORDER_LOGGING,
  },
  verbose: {
    name: "verbose",
    short: "v",
    type: "boolean",
    shortdesc:
      "Verbose mode. Multiple -v flags can be stacked on the command line (e.g., -vvv) to increase verbosity.",
    order: ORDER_LOGGING + 1,
  },
  verbose_level: {
    name: "verbose_level",
    value: "level",
    type: "integer",
    shortdesc:
      "Level of debugging detail in output. Defaults to the number of --verbose flags specified on the command line, or to 1 if verbose=1 in a stonith device configuration (i.e., on stdin).",
    order: ORDER_LOGGING + 2,
  },
  debug_file: {
    name: "debug_file",
    aliases: ["debug"],
    short: "D",
    value: "debugfile",
    type: "string",
    shortdesc: "Write debug information to given file",
    order: ORDER_LOGGING + 3,
  },
  version: {
    name: "version",
    short: "V",
    type: "boolean",
    shortdesc: "Display version information and exit",
    order: ORDER_LOGGING + 4,
  },
  help: {
    name: "help",
    short: "h",
    type: "boolean",
    shortdesc: "Display help and exit",
    order: ORDER_LOGGING + 5,
  },
  separator: {
    name: "separator",
    short: "C",
    value: "char",
    type: "string",
    default: ",",
    shortdesc: "Separator for CSV created by 'list' operation",
    order: 100,
  },
  plug_separator: {
    name: "plug_separator",
    value: "char",
    type: "string",
    default: ",",
    shortdesc: "Separator for plug parameter when specifying more than 1 plug",
    order: 100,
  },
  delay: {
    name: "delay",
    value: "seconds",
    type: "second",
    default: "0",
    shortdesc: "Wait X seconds before fencing is started",
    order: ORDER_TIMING,
  },
  disable_timeout: {
    name: "disable_timeout",
    value: "true/false",
    type: "string",
    shortdesc:
      "Accepted for compatibility. kvmha keeps its login and power timeouts bounded even under Pacemaker, so that a dead device fails fast and the next fencing level is reached",
    order: ORDER_TIMING,
  },
  login_timeout: {
    name: "login_timeout",
    value: "seconds",
    type: "second",
    default: "5",
    shortdesc: "Wait X seconds for the device to answer and accept the login",
    order: ORDER_TIMING,
  },
  power_timeout: {
    name: "power_timeout",
    value: "seconds",
    type: "second",
    default: "20",
    shortdesc: "Test X seconds for status change after ON/OFF",
    order: ORDER_TIMING,
  },
  power_wait: {
    name: "power_wait",
    value: "seconds",
    type: "second",
    default: "0",
    shortdesc: "Wait X seconds after issuing ON/OFF (not needed: the state is read back)",
    order: ORDER_TIMING,
  },
  shell_timeout: {
    name: "shell_timeout",
    value: "seconds",
    type: "second",
    default: "3",
    shortdesc: "Wait X seconds for the device to answer a command",
    order: ORDER_TIMING,
  },
  stonith_status_sleep: {
    name: "stonith_status_sleep",
    value: "seconds",
    type: "second",
    default: "1",
    shortdesc: "Longest sleep between status reads while waiting for a power state change",
    order: ORDER_TIMING,
  },
  retry_on: {
    name: "retry_on",
    value: "attempts",
    type: "integer",
    range: { min: 1, max: 100, what: "a number of attempts" },
    default: "1",
    shortdesc: "Count of attempts to retry power on",
    order: ORDER_TIMING + 1,
  },
} as const satisfies Record<string, OptionSpec>;

/** Every fence agent takes these, whatever its device. */
export const commonOptions: readonly OptionSpec[] = [
  standard.action,
  standard.nodename,
  standard.quiet,
  standard.verbose,
  standard.verbose_level,
  standard.debug_file,
  standard.version,
  standard.help,
  standard.delay,
  standard.disable_timeout,
  standard.login_timeout,
  standard.power_timeout,
  standard.power_wait,
  standard.shell_timeout,
  standard.stonith_status_sleep,
  standard.retry_on,
];
