/**
 * An agent under one of its aliases: the same device code, with the alias's name in metadata,
 * usage and man page, its own shortdesc, and its own option defaults. The invoked name decides,
 * as fence-agents' fence_ipmilan does for fence_ilo3 & co., so that a link is all an alias needs.
 */
import type { FenceAgent } from "./agent.js";
import { groupOptions } from "./groups.js";
import { type OptionSpec, commonOptions, standard } from "./options.js";

/** Every agent advertises its aliases as fence-agents' <symlink> elements, under any name. */
function withSymlinks<S>(agent: FenceAgent<S>): FenceAgent<S> {
  const aliases = agent.aliases ?? [];
  if (aliases.length === 0) return agent;
  return {
    ...agent,
    docs: {
      ...agent.docs,
      symlinks: aliases.map((a) => ({ name: a.name, shortdesc: a.shortdesc })),
    },
  };
}

/**
 * The agent as `invokedAs` (its own name, one of its aliases, or undefined: its own name).
 * An undeclared name is a programming error (the command table and the agent disagree).
 */
export function agentAs<S>(agent: FenceAgent<S>, invokedAs?: string): FenceAgent<S> {
  const base = withSymlinks(agent);
  if (invokedAs === undefined || invokedAs === agent.docs.name) return base;
  const alias = agent.aliases?.find((a) => a.name === invokedAs);
  if (alias === undefined) throw new Error(`${invokedAs} is not an alias of ${agent.docs.name}`);
  const known: readonly OptionSpec[] = [
    ...agent.options,
    ...groupOptions(agent.groups),
    standard.plug,
    standard.plug_separator,
    standard.separator,
    ...commonOptions,
  ];
  const overridden: OptionSpec[] = [];
  for (const [name, value] of Object.entries(alias.defaults ?? {})) {
    const spec = known.find((s) => s.name === name);
    if (spec === undefined)
      throw new Error(`alias ${alias.name} sets a default for unknown option ${name}`);
    overridden.push({ ...spec, default: value });
  }
  const longdesc =
    alias.note === undefined
      ? base.docs.longdesc
      : `${base.docs.longdesc} As ${alias.name}: ${alias.note}`;
  return {
    ...base,
    docs: { ...base.docs, name: alias.name, shortdesc: alias.shortdesc, longdesc },
    // The framework keeps the first declaration of each name: the alias's defaults win.
    options: [...overridden, ...base.options],
  };
}
