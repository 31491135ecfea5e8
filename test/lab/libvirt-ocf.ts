// For tests that run ocf:kvmha:VirtualDomain outside a cluster: a PATH whose crm_resource is a
// stand-in that succeeds and does nothing, so the agent's utilization writes never reach a CIB
// another lab may run on this host (crm_resource finds a local CIB by its abstract socket).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { cleanupAtExit } from './daemon.js';

let dir: string | undefined;

/** `PATH` with a no-op crm_resource first (the directory is removed when the process exits). */
export function pathWithoutCib(base: string = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'): string {
  if (dir === undefined) {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kvmha-no-cib-'));
    fs.writeFileSync(path.join(d, 'crm_resource'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    dir = d;
    cleanupAtExit(() => fs.rmSync(d, { recursive: true, force: true }));
  }
  return `${dir}:${base}`;
}
