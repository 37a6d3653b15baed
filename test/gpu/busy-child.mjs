// Child process for sigterm.test.ts: gets busy on the GPU in one of two ways and says so on stdout.
//   node busy-child.mjs compile MODEL_DIR   a generation whose first prefill JIT-compiles MLX's CUDA kernels
//                                            (the caller points MLX_PTX_CACHE_DIR at an empty folder)
//   node busy-child.mjs eval                a long synchronous MLX evaluation on this (the JS) thread
import { argv, stdout } from "node:process";

const [mode, dir] = argv.slice(2);
const root = new URL("../../", import.meta.url).pathname;
if (mode === "compile") {
  const { loadNative } = await import(`${root}dist/kernel/engine/native.js`);
  const { nativeLoadOptions } = await import(`${root}dist/kernel/engine/checkpoint.js`);
  const addon = loadNative();
  const model = await addon.loadModel(await nativeLoadOptions(dir));
  const prompt = Int32Array.from({ length: 300 }, (_, i) => 100 + i);
  const params = { maxTokens: 4, temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, repetitionContextSize: 20, eosTokenIds: [], prefillStepSize: 2048, reusePrefix: false };
  model.generate(prompt, params, (ev) => {
    if (ev.type !== "tokens") stdout.write(`${ev.type}\n`);
  });
  stdout.write("busy\n");
  setInterval(() => {}, 1000);
} else if (mode === "eval") {
  const { mx } = await import(`${root}dist/kernel/mx/index.js`);
  const a = mx.random.normal([8192, 8192], { dtype: "bfloat16" });
  mx.eval(a);
  let b = a;
  // About 1.1 TFLOP per product: 20,000 of them keep an H200 busy for about half a minute.
  for (let i = 0; i < 20000; i++) b = mx.matmul(b, a).multiply(1e-4);
  stdout.write("busy\n");
  mx.eval(b);
  stdout.write("done\n");
} else {
  throw new Error(`unknown mode ${mode}`);
}
