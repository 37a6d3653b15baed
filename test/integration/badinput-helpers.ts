// Shared by test/integration/badinput-*.test.ts: fixture paths, scratch directories and the check that an
// operation fails with a typed MlxTsError carrying a useful message.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { MlxTsError, type ErrorCode } from "../../kernel/engine/types.js";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const PYTHON = join(ROOT, ".venv", "bin", "python");
export const FIXTURES = join(ROOT, "test", ".fixtures", "models");

export function fixture(name: string): string {
  const dir = join(FIXTURES, name);
  if (!existsSync(join(dir, "config.json"))) {
    throw new Error(`fixture ${dir} is missing: run \`.venv/bin/python scripts/make-fixtures.py\` (the vitest globalSetup test/setup/fixtures.ts does it)`);
  }
  return dir;
}

/** A fresh directory under test/.fixtures/tmp (ignored by git); remove it with rmSync when done. */
export function scratch(prefix: string): string {
  const base = join(ROOT, "test", ".fixtures", "tmp");
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${prefix}-`));
}

export function copyFixture(name: string, into: string): string {
  const dst = join(into, name);
  cpSync(fixture(name), dst, { recursive: true });
  return dst;
}

export function makeGguf(out: string, type: string): string {
  execFileSync(PYTHON, [join(ROOT, "scripts", "make-gguf.py"), out, "--type", type], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  return out;
}

/**
 * Awaits `op`, expecting it to reject with an MlxTsError of `code` whose message names the thing
 * (`mentions`) and is long enough to say why and what to do. Returns the error for further checks.
 */
export async function expectMlxTsError(op: () => Promise<unknown>, code: ErrorCode, mentions: string[]): Promise<MlxTsError> {
  let caught: unknown;
  try {
    await op();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected an MlxTsError ${code}, but the operation succeeded`).toBeDefined();
  expect(caught, `expected an MlxTsError, got ${String(caught)}`).toBeInstanceOf(MlxTsError);
  const err = caught as MlxTsError;
  expect(err.code, err.message).toBe(code);
  for (const m of mentions) expect(err.message).toContain(m);
  // what happened, why, what to do: a bare MLX one-liner is not enough
  expect(err.message.length).toBeGreaterThan(40);
  return err;
}

export function removeScratch(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
