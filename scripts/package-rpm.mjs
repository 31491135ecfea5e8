// The RPM half of `npm run package` (scripts/package.mjs passes its helpers in): the same files as
// the .deb, laid out the RPM way, built with rpmbuild from packaging/rpm/kvmha.spec.in:
//
//   kvmha-<version>-<revision>.x86_64.rpm                 the executable in /usr/libexec/kvmha (where
//                                                         SELinux's base policy labels it bin_t, as
//                                                         fence-agents' and resource-agents' files
//                                                         are: docs/install.md), links, man pages,
//                                                         templates, docs, licenses
//   kvmha-fence-aliases-<version>-<revision>.noarch.rpm   fence-agents' names; conflicts with the
//                                                         fence-agents packages that own them
//
// Requires on the C runtime come from rpm's own ELF dependency generator, as for any RPM.

import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const EXE_PATH = "usr/libexec/kvmha/kvmha";

/**
 * SPDX identifiers of the embedded runtime's main parts: Node.js's LICENSE file names each; Bun is
 * MIT and statically links JavaScriptCore/WebKit (LGPL-2) and BoringSSL (ISC, OpenSSL-derived).
 */
const RUNTIME_LICENSES = {
  node: ["MIT", "Apache-2.0", "BSD-3-Clause", "ISC", "Zlib"],
  bun: ["MIT", "LGPL-2.0-only", "LGPL-2.1-only", "ISC", "BSD-3-Clause", "Zlib"],
};

/** rpmbuild payload compression for package.mjs's --compression. */
const PAYLOAD = { xz: "w6.xzdio", gzip: "w6.gzdio", zstd: "w19.zstdio", none: "w0.ufdio" };

/** The GPL's text as Debian's base-files ships it (the RPM carries it: no common-licenses there). */
const GPL2 = "/usr/share/common-licenses/GPL-2";
/** The LGPL's, which a Bun runtime's copyright notice points to. */
const LGPL2 = "/usr/share/common-licenses/LGPL-2";

export function buildRpms(c) {
  const tree = join(c.staging, "rpm");
  rmSync(tree, { recursive: true, force: true });

  const main = c.stage("kvmha", { debian: false, under: tree });
  c.mainTree(main, EXE_PATH);
  if (!existsSync(GPL2)) c.fail(`${GPL2} is missing (Debian package base-files)`);
  main.copy("usr/share/licenses/kvmha/COPYING", GPL2);
  const runtime = c.runtimeVersion.split(" ")[0];
  if (!(runtime in RUNTIME_LICENSES)) c.fail(`no licenses known for the runtime '${runtime}'`);
  if (runtime === "bun") main.copy("usr/share/licenses/kvmha/COPYING.LGPL-2", LGPL2);
  main.file("usr/share/licenses/kvmha/COPYRIGHT", c.copyright());

  const alias = c.stage("kvmha-fence-aliases", { debian: false, under: tree });
  c.aliasTree(alias, EXE_PATH);

  const conflicts = [
    ...new Set(
      // The fence-agents package that owns each name (RHEL's and Fedora's fence-agents.spec), as
      // its agent's registration says; and SLES's single fence-agents (RHEL's fence-agents-all
      // provides it too).
      c.aliases.map((a) => a.owner ?? c.fail(`no RPM owner known for ${a.name}`)),
    ),
    "fence-agents",
  ];
  const license = [
    "GPL-2.0-or-later",
    ...new Set([...RUNTIME_LICENSES[runtime], ...c.bundledPackages().map((b) => b.license)]),
  ].join(" AND ");
  const date = new Date(c.epoch * 1000)
    .toUTCString()
    .replace(/^(\w{3}), (\d{2}) (\w{3}) (\d{4}) .*$/, "$1 $3 $2 $4");
  const fenceFiles = c.shipped
    .filter((x) => x.kind === "fence")
    .flatMap((x) => [`%{_sbindir}/${x.name}`, `%{_mandir}/man8/${x.name}.8*`]);
  const ocfMan = c.shipped
    .filter((x) => x.kind === "ocf")
    .map((x) => `%{_mandir}/man7/${c.ocfManPageName("kvmha", x.name)}.7*`);
  const aliasFiles = c.aliases.flatMap((a) => [
    `%{_sbindir}/${a.name}`,
    `%{_mandir}/man8/${a.name}.8*`,
  ]);
  const spec = c.template("rpm/kvmha.spec.in", {
    TREE: tree,
    VERSION: c.version,
    RELEASE: c.revision,
    LICENSE: license,
    CONFLICTS: conflicts.join(", "),
    ALIAS_DESCRIPTION: [
      "Makes the names cluster administrators know from fence-agents run kvmha's native agents: " +
        `${c.aliases.map(c.aliasItem).join(", ")}.`,
      "RPM has no diversions: this package replaces the fence-agents packages that own these " +
        `names (${conflicts.join(", ")}), so it cannot be installed beside them. Existing ` +
        "stonith devices then use kvmha without a configuration change; see " +
        "/usr/share/doc/kvmha/migration.md* for what differs.",
    ]
      .map((p) => c.wrap(p).replaceAll("\n ", "\n"))
      .join("\n\n"),
    AGENTS: c.agentList(""),
    FENCE_FILES: fenceFiles.join("\n"),
    OCF_MAN: ocfMan.join("\n"),
    ALIAS_FILES: aliasFiles.join("\n"),
    DATE: date,
    MAINTAINER: c.maintainer,
    COMMIT: c.commit,
  });

  const top = join(c.staging, "rpmbuild");
  rmSync(top, { recursive: true, force: true });
  mkdirSync(join(top, "SPECS"), { recursive: true });
  const specFile = join(top, "SPECS/kvmha.spec");
  mkdirSync(c.out, { recursive: true });
  writeFileSync(specFile, spec);
  const define = (k, v) => ["--define", `${k} ${v}`];
  c.run(
    "rpmbuild",
    "rpmbuild",
    [
      "-bb",
      "--target",
      "x86_64",
      ...define("_topdir", top),
      ...define("_rpmdir", c.out),
      ...define("_build_name_fmt", "%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm"),
      ...define("_binary_payload", PAYLOAD[c.compression]),
      ...define("use_source_date_epoch_as_buildtime", "1"),
      ...define("clamp_mtime_to_source_date_epoch", "1"),
      ...define("_buildhost", "kvmha"),
      specFile,
    ],
    { env: { ...process.env, SOURCE_DATE_EPOCH: String(c.epoch), LC_ALL: "C" } },
  );
  const rpms = [
    join(c.out, `kvmha-${c.version}-${c.revision}.x86_64.rpm`),
    join(c.out, `kvmha-fence-aliases-${c.version}-${c.revision}.noarch.rpm`),
  ];
  for (const r of rpms) if (!existsSync(r)) c.fail(`rpmbuild did not make ${r}`);
  return rpms;
}
