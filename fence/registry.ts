/**
 * The table of fence agents, read from their files: every `fence/fence_*.ts` exports its
 * `registration` (lib/fence/agent.ts's FenceRegistration), and everything that lists agents
 * (lib/cli/main.ts: dispatch, usage, the build's links, install-agents, the packages and man
 * pages; topology/: render's device kinds, check's levels, --probe) reads it from here. No other
 * file names an agent: adding one is adding its file (docs/adding-an-agent.md).
 *
 * In the executable the build (scripts/build.mjs) bundles every fence/fence_*.ts (esbuild's
 * pattern imports below) and passes the names as __KVMHA_FENCE_AGENTS__; from sources the names
 * are this directory's files. Loading is on first use, never at module level (the startup
 * snapshot: DEVELOPERS.md).
 */
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { FenceRegistration } from "../lib/fence/agent.js";

declare const __KVMHA_FENCE_AGENTS__: readonly string[] | undefined;

/** An agent's file name without `.ts`; what it is invoked as. */
const AGENT_FILE = /^(fence_[a-z0-9_]+)\.ts$/;

/** Added at run time through registerFenceAgent (tests of the recipe), after the files' agents. */
const extra: FenceRegistration[] = [];

/** The agents' names, from the build or from this directory's files. */
export function fenceAgentNames(): string[] {
  const names =
    typeof __KVMHA_FENCE_AGENTS__ !== "undefined"
      ? [...__KVMHA_FENCE_AGENTS__]
      : readdirSync(dirname(fileURLToPath(import.meta.url)))
          .map((f) => AGENT_FILE.exec(f)?.[1])
          .filter((n): n is string => n !== undefined)
          .sort();
  return [...names, ...extra.map((r) => r.agent.docs.name)];
}

interface AgentModule {
  readonly registration?: FenceRegistration;
}

function checked(name: string, mod: AgentModule): FenceRegistration {
  const r = mod.registration;
  if (r === undefined) throw new Error(`fence/${name}.ts exports no registration`);
  if (r.agent.docs.name !== name)
    throw new Error(`fence/${name}.ts registers an agent named ${r.agent.docs.name}`);
  return r;
}

const byName = new Map<string, FenceRegistration>();
/** What fenceAgentsSync loaded (from sources another instance: never handed to the dispatcher). */
const bySync = new Map<string, FenceRegistration>();

/** One agent's registration, its module loaded on first use. */
export async function loadFenceAgent(name: string): Promise<FenceRegistration> {
  const known = byName.get(name) ?? extra.find((r) => r.agent.docs.name === name);
  if (known !== undefined) return known;
  if (!AGENT_FILE.test(`${name}.ts`)) throw new Error(`${name} is not a fence agent's name`);
  // A pattern import: esbuild bundles every fence/fence_*.ts for it.
  const mod = (await import(`./fence_${name.slice("fence_".length)}.ts`)) as AgentModule;
  const r = checked(name, mod);
  byName.set(name, r);
  return r;
}

/** Every agent's registration (their modules loaded). */
export async function loadFenceAgents(): Promise<FenceRegistration[]> {
  return Promise.all(fenceAgentNames().map(loadFenceAgent));
}

/**
 * Every agent's registration, synchronously, for topology's pure functions (render, check). In the
 * executable the bundle's require is the same module instance as the import above; from sources
 * it is Node's require of an ES module, a second instance, which is harmless for declarations.
 */
export function fenceAgentsSync(): FenceRegistration[] {
  return fenceAgentNames().map((name) => {
    const known =
      byName.get(name) ?? bySync.get(name) ?? extra.find((r) => r.agent.docs.name === name);
    if (known !== undefined) return known;
    const rest = name.slice("fence_".length);
    const mod = (
      typeof require === "function"
        ? // eslint-disable-next-line @typescript-eslint/no-require-imports
          require(`./fence_${rest}.ts`)
        : createRequire(import.meta.url)(`./fence_${rest}.ts`)
    ) as AgentModule;
    const r = checked(name, mod);
    bySync.set(name, r);
    return r;
  });
}

/**
 * Adds an agent that has no file here (a test's scratch agent): from then on this process lists
 * it, dispatches to it and documents it as one of the files' agents.
 */
export function registerFenceAgent(registration: FenceRegistration): void {
  const name = registration.agent.docs.name;
  if (!AGENT_FILE.test(`${name}.ts`)) throw new Error(`${name} is not a fence agent's name`);
  if (fenceAgentNames().includes(name)) throw new Error(`${name} is registered already`);
  extra.push(registration);
}

/** Forgets what registerFenceAgent added (tests). */
export function unregisterFenceAgents(): void {
  extra.length = 0;
}
