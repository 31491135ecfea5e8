#!/usr/bin/env node
// Placeholder: builds the kvmha Debian package (issue 6).
process.stderr.write("package: not implemented yet\n");
process.exit(1);
