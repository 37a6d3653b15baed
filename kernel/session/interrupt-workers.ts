// Starts the interrupter's worker modules (interrupt-listener.ts, interrupt-terminator.ts). Compiled, they
// are the .js files tsc writes beside this one. Run from TypeScript sources (vitest), there is no .js
// beside it: the module is compiled here with the typescript package (to CommonJS, which an eval worker
// runs) — the workers import only Node's modules and types, so the one file is all they need.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import ts from "typescript";

export type InterruptWorkerName = "interrupt-listener" | "interrupt-terminator";
export type StartInterruptWorker = (name: InterruptWorkerName, workerData: unknown) => Worker;

const compiled = new Map<InterruptWorkerName, string>();

export const startInterruptWorker: StartInterruptWorker = (name, workerData) => {
  // execArgv: [] so the process's --import/--require hooks are not loaded again in the worker
  if (!import.meta.url.endsWith(".ts")) return new Worker(fileURLToPath(new URL(`./${name}.js`, import.meta.url)), { workerData, execArgv: [] });
  let js = compiled.get(name);
  if (js === undefined) {
    const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
    js = ts.transpileModule(readFileSync(file, "utf8"), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    compiled.set(name, js);
  }
  return new Worker(js, { eval: true, workerData, execArgv: [] });
};
