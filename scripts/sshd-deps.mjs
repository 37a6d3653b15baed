#!/usr/bin/env node
// Makes sure OpenSSH's server is installed, for the test that starts remote ranks over a real ssh login
// (test/integration/private-sshd.ts runs a private sshd on loopback; it is never started as a service).
// Idempotent; when it cannot install, it prints one line saying why and exits 0: that test then skips.
import { existsSync } from "node:fs";
import { ensureDebPackages } from "./lib/apt.mjs";

export const SSHD = "/usr/sbin/sshd";

const log = (msg) => process.stderr.write(`mlx-ts sshd-deps: ${msg}\n`);

if (import.meta.url === `file://${process.argv[1]}` && !existsSync(SSHD)) {
  if (process.platform !== "linux") log(`${process.platform} is not Linux; the real-ssh rank test skips unless ${SSHD} exists`);
  else {
    log("installing Debian's openssh-server for the real-ssh rank test (apt-get, once)");
    const r = ensureDebPackages(["openssh-server"], log);
    if (!r.ok) log(`no sshd, the real-ssh rank test will skip: ${r.why}`);
  }
}
