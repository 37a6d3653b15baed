// The kernels we race for the execute round trip: tslab and IJavascript, from npm, installed on demand into
// bench/.competitors (ignored) and registered, with ours, into a temporary Jupyter data dir. IJavascript
// pulls zeromq@5, whose build needs the system libzmq (Debian: libzmq3-dev) because it cannot download
// libzmq itself here; when that build fails the row is skipped with the reason, never invented.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

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

  mkdirSync(dir, { recursive: true });
  // one package.json naming both, so installing one never prunes the other
  // tslab 1.0.22 was built against zeromq 6.0.0-beta.16; with the 6.x release npm picks, it binds its
  // sockets but never answers kernel_info. IJavascript keeps its own zeromq 5.
  writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true, dependencies: VERSIONS, overrides: { tslab: { zeromq: "6.0.0-beta.16" } } }, null, 2) + "\n");
  let installError = "";
  if (Object.keys(VERSIONS).some((pkg) => !existsSync(join(dir, "node_modules", pkg, "package.json")))) {
    log(`installing ${Object.entries(VERSIONS).map(([p, v]) => `${p}@${v}`).join(", ")} into bench/.competitors`);
    const r = run("npm", ["install", "--no-audit", "--no-fund"], { cwd: dir, env: { ...env, npm_config_zmq_external: "true" } });
    if (!r.ok) installError = r.out.split("\n").slice(-3).join(" ");
  }
  for (const [pkg, version] of Object.entries(VERSIONS)) {
    if (!existsSync(join(dir, "node_modules", pkg, "package.json"))) {
      skipped.push({ label: `${pkg} ${version}`, why: `npm install failed (for ijavascript: install libzmq3-dev): ${installError}` });
      continue;
    }
    const bin = join(dir, "node_modules", ".bin");
    const reg = pkg === "tslab"
      ? run(join(bin, "tslab"), ["install", `--python=${python}`, "--user"], { env })
      : run(join(bin, "ijsinstall"), ["--install=local", "--spec-path=full"], { env, cwd: dir });
    if (reg.ok) kernels.push(pkg === "tslab" ? { name: "tslab", label: `tslab ${version}` } : { name: "javascript", label: `IJavascript ${version}` });
    else skipped.push({ label: `${pkg} ${version}`, why: `kernelspec install failed: ${reg.out.slice(-300)}` });
  }
  return { kernels, skipped, jupyterPath: join(dataDir, "..", "prefix", "share", "jupyter") };
}
