#!/usr/bin/env node
// The mlx-ts command: `kernel -f FILE` (what Jupyter runs), `install`, `start` (JupyterLab), `repl`.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { SessionApi } from "../kernel/session/types.js";
import { readConnectionFile } from "../kernel/jupyter/connection.js";
import { KernelError } from "../kernel/jupyter/errors.js";
import { runKernel } from "../kernel/jupyter/kernel.js";
import { packageVersion } from "../kernel/jupyter/kernel-info.js";
import { repoRoot } from "../kernel/util/repo-root.js";
import { installKernelSpec, type InstallTarget } from "../kernel/jupyter/kernelspec.js";

const USAGE = `usage: mlx-ts <command> [options]

commands:
  kernel -f CONNECTION_FILE                      run the Jupyter kernel (Jupyter starts this for you)
  install [--user | --sys-prefix | --prefix DIR] register the "mlx-ts" kernelspec (default: --user)
  start                                          register into .venv and open JupyterLab on notebooks/
  repl [--model ID]                              terminal REPL over the same session
  --version                                      print the version
`;

function usageError(message: string): never {
  throw new KernelError("E_USAGE", `${message}\n\n${USAGE}`);
}

/** Value of `--name VALUE` or `--name=VALUE`. */
function option(args: string[], ...names: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    for (const n of names) {
      if (a === n) {
        const v = args[i + 1];
        if (v === undefined) usageError(`${n} needs a value`);
        return v;
      }
      if (a.startsWith(n + "=")) return a.slice(n.length + 1);
    }
  }
  return undefined;
}

async function importFromDist<T>(relative: string, what: string): Promise<T> {
  const url = new URL(relative, import.meta.url);
  try {
    return (await import(url.href)) as T;
  } catch (e) {
    throw new Error(`cannot load ${what} from ${url.pathname}: ${(e as Error).message}; run \`npm run setup\` to build it`, { cause: e });
  }
}

async function kernel(args: string[]): Promise<void> {
  const file = option(args, "-f", "--f", "--connection-file");
  if (!file) usageError("kernel needs -f CONNECTION_FILE");
  readConnectionFile(file); // a bad file is reported before the (slow) session loads
  // MLX_TS_HISTORY_FILE lets tests and multi-user setups keep history apart; default: the session's own.
  const historyFile = process.env.MLX_TS_HISTORY_FILE || undefined;
  // The session is imported inside the factory so that it loads while the sockets come up.
  await runKernel(file, async (): Promise<SessionApi> => {
    const mod = await importFromDist<typeof import("../kernel/session/index.js")>("../kernel/session/index.js", "the session");
    return mod.createSession({ historyFile });
  });
}

function installTarget(args: string[]): InstallTarget {
  const prefix = option(args, "--prefix");
  if (prefix) return { kind: "prefix", prefix };
  if (args.includes("--sys-prefix")) return { kind: "sys-prefix" };
  return { kind: "user" };
}

function install(args: string[]): void {
  const known = new Set(["--user", "--sys-prefix", "--prefix"]);
  for (const a of args) if (a.startsWith("--") && !known.has(a.split("=")[0]!)) usageError(`unknown install option ${a}`);
  const dir = installKernelSpec(installTarget(args));
  process.stdout.write(`installed kernelspec mlx-ts in ${dir}\n`);
}

async function start(args: string[]): Promise<number> {
  const root = repoRoot();
  installKernelSpec({ kind: "sys-prefix" }, root);
  const jupyter = join(root, ".venv", "bin", "jupyter");
  if (!existsSync(jupyter)) throw new Error(`${jupyter} not found: run \`npm run setup\` to create .venv with Jupyter`);
  // Jupyter refuses to start as root unless told; containers and CI boxes often run as root.
  const asRoot = typeof process.getuid === "function" && process.getuid() === 0 && !args.includes("--allow-root") ? ["--allow-root"] : [];
  const child = spawn(jupyter, ["lab", join(root, "notebooks"), ...asRoot, ...args], { stdio: "inherit", cwd: root });
  // Ctrl-C reaches JupyterLab through the terminal's process group; we only wait for it to finish.
  process.on("SIGINT", () => undefined);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function repl(args: string[]): Promise<void> {
  const mod = await importFromDist<typeof import("../repl/index.js")>("../repl/index.js", "the REPL");
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(mod.REPL_USAGE);
    return;
  }
  const model = option(args, "--model", "-m");
  await mod.runRepl({ model, sessionHistoryFile: process.env.MLX_TS_HISTORY_FILE || undefined });
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case "kernel":
      await kernel(args);
      return -1; // keeps running until shutdown_request
    case "install":
      install(args);
      return 0;
    case "start":
      return start(args);
    case "repl":
      await repl(args);
      // the session's watchdog and native threads must not keep a finished REPL alive
      process.exit(0);
    case "--version":
    case "-V":
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(cmd === undefined ? USAGE : `mlx-ts: unknown command "${cmd}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof KernelError && e.code === "E_USAGE") {
      process.stderr.write(`mlx-ts: ${e.message}`);
      process.exit(2);
    }
    process.stderr.write(`mlx-ts: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
