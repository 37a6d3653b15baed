// A stand-in SessionApi (plain JavaScript in a vm context) used ONLY while kernel/session is not built,
// so the protocol layer can be exercised end to end. Not shipped. Usage: node kernel-standin.mjs -f FILE
import { createRequire } from "node:module";
import { inspect } from "node:util";
import vm from "node:vm";
import { runKernel } from "../../dist/kernel/jupyter/kernel.js";

function createStandInSession() {
  let sink;
  let count = 0;
  let session = 1;
  const hist = [];
  let cancel;
  const fmt = (args) => args.map((a) => (typeof a === "string" ? a : inspect(a))).join(" ") + "\n";
  const ctx = vm.createContext({
    console: { log: (...a) => sink.stream("stdout", fmt(a)), error: (...a) => sink.stream("stderr", fmt(a)) },
    display: (data, displayId) => sink.display(typeof data === "object" ? data : { "text/plain": String(data) }, { displayId }),
    updateDisplay: (data, displayId) => sink.updateDisplay(typeof data === "object" ? data : { "text/plain": String(data) }, { displayId }),
    clearOutput: (wait = false) => sink.clearOutput(wait),
    input: (prompt = "", password = false) => sink.input(prompt, password),
    require: createRequire(import.meta.url),
    setTimeout,
  });
  return {
    get executionCount() {
      return count;
    },
    async execute(req, s) {
      sink = s;
      if (!req.silent && req.storeHistory) {
        count++;
        hist.push({ session, line: count, input: req.code });
      }
      try {
        let v = vm.runInContext(req.code, ctx, { breakOnSigint: true, filename: `cell${count}` });
        if (v && typeof v.then === "function") {
          v = await Promise.race([v, new Promise((_, rej) => (cancel = () => rej(Object.assign(new Error("interrupted"), { name: "Interrupt" }))))]);
        }
        const result = v === undefined || req.silent ? undefined : { "text/plain": inspect(v) };
        return { status: "ok", executionCount: count, result, payload: [] };
      } catch (e) {
        const err = e && typeof e === "object" && "message" in e ? e : new Error(String(e));
        return { status: "error", executionCount: count, ename: err.name, evalue: err.message, traceback: [`${err.name}: ${err.message}`] };
      } finally {
        cancel = undefined;
      }
    },
    async complete(code, pos) {
      const m = /[A-Za-z_$][\w$]*$/.exec(code.slice(0, pos));
      const word = m ? m[0] : "";
      const names = vm.runInContext("Object.getOwnPropertyNames(globalThis)", ctx);
      return { matches: names.filter((n) => n.startsWith(word)).sort(), cursorStart: pos - word.length, cursorEnd: pos };
    },
    async inspect(code, pos) {
      const m = /[A-Za-z_$][\w$]*$/.exec(code.slice(0, pos));
      const found = !!m && vm.runInContext(`typeof ${m[0]} !== "undefined"`, ctx);
      return { found, data: found ? { "text/plain": String(vm.runInContext(m[0], ctx)) } : {} };
    },
    isComplete(code) {
      try {
        new vm.Script(code);
        return { status: "complete" };
      } catch (e) {
        return /Unexpected end of input|missing \) after/.test(String(e)) ? { status: "incomplete", indent: "  " } : { status: "invalid" };
      }
    },
    history(q) {
      let out = hist;
      if (q.kind === "range") out = hist.filter((h) => (q.session === undefined || h.session === q.session) && h.line >= (q.start ?? 0) && (q.stop === undefined || h.line < q.stop));
      if (q.kind === "search") {
        const re = new RegExp("^" + (q.pattern ?? "*").replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
        out = hist.filter((h) => re.test(h.input));
      }
      if (q.kind === "tail") out = hist.slice(-(q.n ?? 10));
      return out;
    },
    interrupt() {
      cancel?.();
    },
    banner() {
      return "stand-in session (no MLX)";
    },
    async shutdown() {},
  };
}

const i = process.argv.indexOf("-f");
await runKernel(process.argv[i + 1], async () => createStandInSession());
