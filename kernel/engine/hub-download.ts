// Downloads a model repo from the Hugging Face hub into the standard cache layout, so that the next
// load (ours, mlx-lm's or transformers') finds it there. Metadata requests (always first) get a short
// timeout so an unreachable hub fails fast instead of hanging; file transfers are not time-limited
// because multi-GB weights legitimately take long.
import { downloadFileToCacheDir, listFiles } from "@huggingface/hub";
import type { HfId } from "./hf-cache.js";
import type { LoadOptions } from "./types.js";

const METADATA_TIMEOUT_MS = 8_000;

const WANTED = [/\.json$/, /\.safetensors$/, /\.jinja$/, /^tokenizer\.model$/, /\.tiktoken$/, /\.txt$/];

/** Which files of a repo a load needs: configs, tokenizer, safetensors weights (not .bin/.pt/.onnx duplicates). */
export function filesToDownload(paths: string[]): string[] {
  const top = paths.filter((p) => !p.includes("/"));
  const picked = top.filter((p) => WANTED.some((re) => re.test(p)));
  if (picked.some((p) => p.endsWith(".safetensors"))) return picked;
  const ggufs = top.filter((p) => p.toLowerCase().endsWith(".gguf"));
  // A GGUF repo with one file is a model; with several the caller must say which one (by path).
  return ggufs.length === 1 ? [...picked, ggufs[0]] : picked;
}

function timedFetch(): typeof fetch {
  return (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const isFile = url.includes("/resolve/");
    const signal = isFile ? undefined : AbortSignal.timeout(METADATA_TIMEOUT_MS);
    return fetch(input, { ...init, signal: init?.signal ?? signal });
  };
}

export interface HubDownloadOptions {
  cacheDir: string;
  env: Record<string, string | undefined>;
  onProgress?: LoadOptions["onProgress"];
}

/** Downloads id into cacheDir; resolves to the snapshot directory. Throws the fetch error when the hub is unreachable. */
export async function downloadSnapshot(id: HfId, opts: HubDownloadOptions): Promise<string> {
  const hubUrl = opts.env.HF_ENDPOINT || undefined;
  const accessToken = opts.env.HF_TOKEN || undefined;
  const common = { repo: { type: "model" as const, name: id.repo }, revision: id.revision, hubUrl, fetch: timedFetch(), ...(accessToken ? { accessToken } : {}) };
  const all: { path: string; size: number }[] = [];
  for await (const f of listFiles({ ...common, recursive: false })) if (f.type === "file") all.push({ path: f.path, size: f.size });
  const names = filesToDownload(all.map((f) => f.path));
  if (names.length === 0) throw new Error(`the repo ${id.repo}@${id.revision} has no safetensors weights or single GGUF file`);
  const sizes = new Map(all.map((f) => [f.path, f.size]));
  const total = names.reduce((s, n) => s + (sizes.get(n) ?? 0), 0);
  let done = 0;
  let snapshotFile = "";
  for (const path of names) {
    opts.onProgress?.({ phase: "download", done, total, file: path });
    snapshotFile = await downloadFileToCacheDir({ ...common, path, cacheDir: opts.cacheDir });
    done += sizes.get(path) ?? 0;
  }
  opts.onProgress?.({ phase: "download", done: total, total });
  // downloadFileToCacheDir returns <cache>/models--x--y/snapshots/<sha>/<path>
  return snapshotFile.slice(0, snapshotFile.length - names[names.length - 1].length - 1);
}
