// The project's vitest config plus the fixtures globalSetup, for running the parity/integration files on
// their own: node node_modules/vitest/vitest.mjs run --config test/setup/vitest.with-fixtures.config.ts <files>
import { defineConfig, mergeConfig } from "vitest/config";
import base from "../../vitest.config.js";

export default mergeConfig(base, defineConfig({ test: { globalSetup: ["test/setup/fixtures.ts"] } }));
