// native/src/signal_guard.cpp on real processes: a shared library (test/integration/signal-guard-hijack.c,
// preloaded) takes SIGTERM with a handler that swallows it, as NVRTC does during a CUDA compile. Without the
// guard the child outlives SIGTERM; with it (forced on here, since it starts only where MLX has CUDA) the
// child ends. The C compiler that builds the addons builds the library.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "mlx-ts-sigguard-"));
const lib = join(dir, "hijack.so");
execFileSync("cc", ["-shared", "-fPIC", "-o", lib, resolve("test/integration/signal-guard-hijack.c"), "-lpthread"]);
const addon = resolve("native/build/Release/mlx_ts.node");

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a child that loads the addon and idles; SIGTERM at 1 s; the exit signal, or "alive" 3 s later. */
function termAfterHijack(guard: "0" | "1", mode: "swallow" | "ignore" | "restore" = "swallow"): Promise<string> {
  const child = spawn(process.execPath, ["-e", `require(${JSON.stringify(addon)}); process.stdout.write("ready\\n"); setInterval(() => {}, 1000);`], {
    env: { ...process.env, LD_PRELOAD: lib, MLX_TS_SIGNAL_GUARD: guard, HIJACK_MODE: mode },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolveRun) => {
    let settled = false;
    const settle = (what: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(alive);
      child.kill("SIGKILL");
      resolveRun(what);
    };
    const alive = setTimeout(() => settle("alive"), 4000);
    child.on("exit", (code, signal) => settle(signal ?? `code ${code}`));
    child.stdout.once("data", () => setTimeout(() => child.kill("SIGTERM"), 1000));
  });
}

describe("signal guard", () => {
  it("without it, a preloaded library's SIGTERM handler keeps the process alive (the test's premise)", async () => {
    expect(await termAfterHijack("0")).toBe("alive");
  }, 20_000);

  it("with it, SIGTERM ends the process despite that handler", async () => {
    expect(await termAfterHijack("1")).toBe("SIGTERM");
  }, 20_000);

  it("a library setting SIGTERM to SIG_IGN: alive without the guard, ended with it", async () => {
    expect(await termAfterHijack("0", "ignore")).toBe("alive");
    expect(await termAfterHijack("1", "ignore")).toBe("SIGTERM");
  }, 30_000);

  it("a library putting Node's handler back through signal() (SA_RESETHAND lost): alive without the guard, ended with it", async () => {
    expect(await termAfterHijack("0", "restore")).toBe("alive");
    expect(await termAfterHijack("1", "restore")).toBe("SIGTERM");
  }, 30_000);
});
