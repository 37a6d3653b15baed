// vitest globalSetup: builds the random-weight checkpoints under test/.fixtures/models once, before any
// test file runs (scripts/make-fixtures.py, fixed seed). A second run is a few stat() calls: the
// generator itself is only started when a checkpoint is missing or older than the generator script.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const FIXTURE_MODELS_DIR = join(root, "test", ".fixtures", "models");
export const FIXTURE_NAMES = ["qwen3-tiny", "llama-tiny", "qwen3-moe-tiny"].flatMap((b) => ["bf16", "4bit", "8bit"].map((v) => `${b}-${v}`));

const generator = join(root, "scripts", "make-fixtures.py");
const python = join(root, ".venv", "bin", "python");

function upToDate(): boolean {
  const genTime = statSync(generator).mtimeMs;
  return FIXTURE_NAMES.every((name) => {
    const stamp = join(FIXTURE_MODELS_DIR, name, ".fixture-stamp");
    return existsSync(stamp) && statSync(stamp).mtimeMs >= genTime;
  });
}

export default function setup(): void {
  if (upToDate()) return;
  if (!existsSync(python)) {
    throw new Error(`test fixtures: ${python} is missing, so the checkpoints under ${FIXTURE_MODELS_DIR} cannot be made. Run \`npm run setup\` first.`);
  }
  const started = Date.now();
  process.stderr.write(`test fixtures: building checkpoints in ${FIXTURE_MODELS_DIR} (scripts/make-fixtures.py)\n`);
  const r = spawnSync(python, [generator], { cwd: root, encoding: "utf8", stdio: ["ignore", "inherit", "pipe"] });
  if (r.error || r.status !== 0) {
    throw new Error(
      `test fixtures: scripts/make-fixtures.py failed (exit ${r.status ?? r.error?.message}); the parity and integration tests need its checkpoints.\n${r.stderr ?? ""}`,
    );
  }
  process.stderr.write(`test fixtures: ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
