// The mlx-ts CLI as Jupyter and users run it: install (kernelspec + logos), usage errors, bad connection files.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, inflateSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { kernelsDir, userDataDir } from "../../kernel/jupyter/kernelspec.js";
import { ROOT, VENV_BIN, ensureBuilt } from "./kernel-harness.js";

const CLI = join(ROOT, "dist", "bin", "mlx-ts.js");
const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8", env });

/** Walks the PNG chunks, checks every CRC, inflates IDAT and checks its size against IHDR. */
function checkPng(buf: Buffer): { width: number; height: number } {
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let off = 8, width = 0, height = 0;
  const idat: Buffer[] = [];
  for (;;) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString("latin1", off + 4, off + 8);
    const body = buf.subarray(off + 4, off + 8 + len);
    expect(buf.readUInt32BE(off + 8 + len)).toBe(crc32(body));
    const data = body.subarray(4);
    if (type === "IHDR") [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
    if (type === "IDAT") idat.push(data);
    off += 12 + len;
    if (type === "IEND") break;
  }
  expect(inflateSync(Buffer.concat(idat)).length).toBe((width * 4 + 1) * height);
  return { width, height };
}

beforeAll(() => ensureBuilt());

describe("mlx-ts install", () => {
  it("writes kernel.json with absolute node and CLI paths, message interrupts, and valid 32/64 px logos", () => {
    const prefix = mkdtempSync(join(tmpdir(), "mlx-ts-prefix-"));
    const r = cli(["install", "--prefix", prefix]);
    expect(r.status, r.stderr).toBe(0);
    const dir = join(prefix, "share", "jupyter", "kernels", "mlx-ts");
    expect(r.stdout).toContain(dir);
    const spec = JSON.parse(readFileSync(join(dir, "kernel.json"), "utf8"));
    expect(spec).toMatchObject({ display_name: "TypeScript (MLX)", language: "typescript", interrupt_mode: "message" });
    // glibc settings that keep a long session's RSS flat (see the soak test) reach the kernel through Jupyter
    expect(spec.env).toMatchObject({ MALLOC_ARENA_MAX: "2", MALLOC_MMAP_THRESHOLD_: "131072" });
    expect(spec.argv).toEqual([process.execPath, CLI, "kernel", "-f", "{connection_file}"]);
    expect(checkPng(readFileSync(join(dir, "logo-32x32.png")))).toEqual({ width: 32, height: 32 });
    expect(checkPng(readFileSync(join(dir, "logo-64x64.png")))).toEqual({ width: 64, height: 64 });
  });

  it("is listed by `jupyter kernelspec list` from .venv", () => {
    const prefix = mkdtempSync(join(tmpdir(), "mlx-ts-prefix-"));
    expect(cli(["install", "--prefix", prefix]).status).toBe(0);
    const r = spawnSync(join(VENV_BIN, "jupyter"), ["kernelspec", "list", "--json"], { encoding: "utf8", env: { ...process.env, JUPYTER_PATH: join(prefix, "share", "jupyter") } });
    expect(r.status, r.stderr).toBe(0);
    const specs = JSON.parse(r.stdout).kernelspecs;
    expect(specs["mlx-ts"].spec.display_name).toBe("TypeScript (MLX)");
    expect(specs["mlx-ts"].resource_dir).toBe(join(prefix, "share", "jupyter", "kernels", "mlx-ts"));
  });

  it("--user honours JUPYTER_DATA_DIR like `jupyter --data-dir`", () => {
    const data = mkdtempSync(join(tmpdir(), "mlx-ts-data-"));
    const r = cli(["install", "--user"], { ...process.env, JUPYTER_DATA_DIR: data });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(data, "kernels", "mlx-ts", "kernel.json"), "utf8")).argv[1]).toBe(CLI);
    const py = spawnSync(join(VENV_BIN, "jupyter"), ["--data-dir"], { encoding: "utf8", env: { ...process.env, JUPYTER_DATA_DIR: data } });
    expect(py.stdout.trim()).toBe(userDataDir({ ...process.env, JUPYTER_DATA_DIR: data }));
  });

  it("--sys-prefix targets the project's .venv, where `npm start` registers the kernel", () => {
    expect(kernelsDir({ kind: "sys-prefix" })).toBe(join(ROOT, ".venv", "share", "jupyter", "kernels"));
    const r = spawnSync(join(VENV_BIN, "python"), ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" });
    expect(join(r.stdout.trim(), "share", "jupyter", "kernels")).toBe(kernelsDir({ kind: "sys-prefix" }));
  });

  it("user data dir without JUPYTER_DATA_DIR matches jupyter's on this platform", () => {
    const env = { ...process.env };
    delete env.JUPYTER_DATA_DIR;
    const py = spawnSync(join(VENV_BIN, "jupyter"), ["--data-dir"], { encoding: "utf8", env });
    expect(py.stdout.trim()).toBe(userDataDir(env));
  });
});

describe("mlx-ts start and repl", () => {
  it("start registers the kernel in .venv and hands its arguments to `jupyter lab` (here --version)", () => {
    const r = cli(["start", "--version"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const spec = JSON.parse(readFileSync(join(ROOT, ".venv", "share", "jupyter", "kernels", "mlx-ts", "kernel.json"), "utf8"));
    expect(spec.argv.slice(0, 2)).toEqual([process.execPath, CLI]);
  });

  it("repl runs piped TypeScript lines over the session and exits at end of input", () => {
    const history = join(mkdtempSync(join(tmpdir(), "mlx-ts-repl-")), "history.jsonl");
    const r = spawnSync(process.execPath, [CLI, "repl"], { cwd: ROOT, encoding: "utf8", input: "const a = 20\na * 2 + 2\n", env: { ...process.env, MLX_TS_HISTORY_FILE: history }, timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("42");
    expect(readFileSync(history, "utf8")).toContain("a * 2 + 2");
  });
});

describe("mlx-ts usage errors", () => {
  it("an unknown command prints the usage and exits 2", () => {
    const r = cli(["frobnicate"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toContain("usage: mlx-ts");
  });

  it("kernel without -f exits 2 and says what is missing", () => {
    const r = cli(["kernel"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("kernel needs -f CONNECTION_FILE");
  });

  it("kernel with an unreadable connection file exits 1 naming the file", () => {
    const r = cli(["kernel", "-f", "/nonexistent/kernel-1.json"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("/nonexistent/kernel-1.json");
  });

  it("--version prints the package version", () => {
    const r = cli(["--version"]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
  });
});
