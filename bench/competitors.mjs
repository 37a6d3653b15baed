// The kernels we race for the execute round trip: tslab and IJavascript, from npm, installed on demand into
// bench/.competitors (ignored) and registered, with ours, into a temporary Jupyter data dir. IJavascript
// pulls zeromq@5, whose build needs the system libzmq (Debian: libzmq3-dev, installed here when we are
// root) because it cannot download libzmq itself here; when that build fails the row is skipped with the reason, never invented.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDebPackages } from "../scripts/lib/apt.mjs";

const VERSIONS = { tslab: "1.0.22", ijavascript: "5.2.1" };

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim() };
}

/** Installs what it can; returns { kernels: [{name, label}], skipped: [{label, why}] }. */
export function prepareKernels(root, dataDir, log) {
  const dir = join(root, "bench", ".competitors");
  const python = join(root, ".venv", "bin", "python");
  const env = { ...process.env, PATH: `${join(root, ".venv", "bin")}:${process.env.PATH}`, JUPYTER_DATA_DIR: dataDir };
  const kernels = [];
  const skipped = [];

  const ours = run(process.execPath, [join(root, "dist", "bin", "mlx-ts.js"), "install", "--prefix", join(dataDir, "..", "prefix")], { env });
  if (ours.ok) kernels.push({ name: "mlx-ts", label: "mlx-ts" });
  else skipped.push({ label: "mlx-ts", why: ours.out.slice(-400) });

  // Each competitor in a folder of its own: tslab 1.0.22 was built against zeromq 6.0.0-beta.16 (with the
  // 6.x release npm would pick, it binds its sockets but never answers kernel_info), while IJavascript
  // needs zeromq 5.
  const OVERRIDES = { tslab: { zeromq: "6.0.0-beta.16" }, ijavascript: {} };
  for (const [pkg, version] of Object.entries(VERSIONS)) {
    const home = join(dir, pkg);
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, "package.json"), JSON.stringify({ private: true, dependencies: { [pkg]: version }, overrides: OVERRIDES[pkg] }, null, 2) + "\n");
    if (!existsSync(join(home, "node_modules", pkg, "package.json"))) {
      if (pkg === "ijavascript") {
        const deb = ensureDebPackages(["libzmq3-dev", "pkg-config"], log);
        if (!deb.ok) {
          skipped.push({ label: `${pkg} ${version}`, why: `its zeromq@5 build needs the system libzmq: ${deb.why}` });
          continue;
        }
      }
      log(`installing ${pkg}@${version} into bench/.competitors/${pkg}`);
      const r = run("npm", ["install", "--no-audit", "--no-fund"], { cwd: home, env: { ...env, npm_config_zmq_external: "true" } });
      if (!r.ok) {
        skipped.push({ label: `${pkg} ${version}`, why: `npm install failed (for ijavascript: install libzmq3-dev): ${r.out.split("\n").slice(-3).join(" ")}` });
        continue;
      }
    }
    const bin = join(home, "node_modules", ".bin");
    const reg = pkg === "tslab"
      ? run(join(bin, "tslab"), ["install", `--python=${python}`, "--user"], { env })
      : run(join(bin, "ijsinstall"), ["--install=local", "--spec-path=full"], { env, cwd: home });
    if (reg.ok) kernels.push(pkg === "tslab" ? { name: "tslab", label: `tslab ${version}` } : { name: "javascript", label: `IJavascript ${version}` });
    else skipped.push({ label: `${pkg} ${version}`, why: `kernelspec install failed: ${reg.out.slice(-300)}` });
  }
  return { kernels, skipped, jupyterPath: join(dataDir, "..", "prefix", "share", "jupyter") };
}
