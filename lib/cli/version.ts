/** Replaced at bundle time by scripts/build.mjs; the fallback serves tests run from sources. */
declare const __KVMHA_VERSION__: string | undefined;
export const VERSION: string =
  typeof __KVMHA_VERSION__ === "string" ? __KVMHA_VERSION__ : "0.1.0-dev";
