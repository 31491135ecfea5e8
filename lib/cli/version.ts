/** Replaced at bundle time by scripts/build.mjs; the fallback serves tests run from sources. */
declare const __KVMHA_VERSION__: string | undefined;
export const VERSION: string =
  typeof __KVMHA_VERSION__ === "string" ? __KVMHA_VERSION__ : "0.1.0-dev";

/**
 * The runtime inside the executable, as `kvmha --version` names it: `bun 1.4.5` or `node v24.21.0`
 * (Bun's process.version is the Node version it imitates, so it is not the one to name).
 */
export function runtimeLabel(): string {
  const bun = process.versions.bun;
  return bun !== undefined ? `bun ${bun}` : `node ${process.version}`;
}
