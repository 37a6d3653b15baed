// Installs Debian packages that a test or bench needs and a fresh machine lacks (CI starts from a clean
// clone). Only as root on a Debian-like system; everywhere else it says what to install and returns false.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const installed = (pkg) => spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" }).stdout?.includes("install ok installed") ?? false;

/**
 * Makes sure every package in `pkgs` is installed. Returns { ok, why }: why is a one-line reason when
 * something is missing and could not be installed here.
 */
export function ensureDebPackages(pkgs, log = (m) => process.stderr.write(`${m}\n`)) {
  if (process.platform !== "linux" || !existsSync("/usr/bin/dpkg-query")) return { ok: false, why: `not a Debian-like Linux: install ${pkgs.join(", ")} with your package manager` };
  const missing = pkgs.filter((p) => !installed(p));
  if (!missing.length) return { ok: true };
  if (typeof process.getuid !== "function" || process.getuid() !== 0 || !existsSync("/usr/bin/apt-get")) {
    return { ok: false, why: `missing Debian packages ${missing.join(", ")}; run: sudo apt-get install -y ${missing.join(" ")}` };
  }
  log(`installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const apt = (args) => spawnSync("apt-get", args, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  let r = apt(["install", "-y", "--no-install-recommends", ...missing]);
  // A fresh image often has no package lists yet; fetch them once and retry.
  if (r.status !== 0) {
    apt(["update"]);
    r = apt(["install", "-y", "--no-install-recommends", ...missing]);
  }
  if (r.status !== 0) return { ok: false, why: `apt-get install ${missing.join(" ")} failed: ${`${r.stderr}`.trim().split("\n").slice(-2).join(" ")}` };
  return { ok: true };
}
