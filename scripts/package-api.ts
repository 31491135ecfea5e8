// What scripts/package.mjs reads from the sources, through one tsImport so that the command table
// and the man page renderers share one instance of lib/cli/main.ts (whose agent table is loaded
// once, asynchronously: loadCommandTables).
export {
  aliasTable,
  commandTable,
  fenceAgentSummaries,
  loadCommandTables,
  subcommandDeclarations,
} from "../lib/cli/main.js";
export { kvmhaManPage } from "../lib/cli/manpage.js";
export { ocfManPage, ocfManPageName, parseOcfMetadata } from "../lib/ocf/manpage.js";
