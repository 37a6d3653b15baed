// Turning errors that cross the addon boundary into MlxTsError with the same code, plus what to do.
import type { NativeErrorCode } from "./native-types.js";
import { MlxTsError } from "../protocol.js";

const NATIVE_CODES = new Set<string>([
  "E_MODEL_NOT_FOUND", "E_UNSUPPORTED_ARCH", "E_BAD_CONFIG", "E_CORRUPT_WEIGHTS", "E_UNSUPPORTED_GGUF_TYPE",
  "E_MEMORY_LIMIT", "E_CANCELLED", "E_BAD_ARGUMENT", "E_MLX",
] satisfies NativeErrorCode[]);

const HINTS: Record<NativeErrorCode, string> = {
  E_MODEL_NOT_FOUND: "Check the path: a model directory needs config.json and *.safetensors.",
  E_UNSUPPORTED_ARCH: "The message above lists the architectures this build runs (native/src/models/registry.cpp); convert the model to one of them or use another model.",
  E_BAD_CONFIG: "Fix config.json or re-download the model.",
  E_CORRUPT_WEIGHTS: "The weights are truncated or damaged: download the model again.",
  E_UNSUPPORTED_GGUF_TYPE: "Use a GGUF quantized as Q4_0, Q4_1, Q8_0, F16 or F32, or the safetensors model.",
  E_MEMORY_LIMIT: "Free memory (%unload a model, %cache clear) or raise the limit (%limit memory SIZE, or mx.setMemoryLimit).",
  E_CANCELLED: "The operation was cancelled; run it again if that was not intended.",
  E_BAD_ARGUMENT: "Check the arguments passed.",
  E_MLX: "This is MLX's own error message; check the inputs, and report it if they look right.",
};

function codeOf(e: unknown): string | undefined {
  if (e !== null && typeof e === "object" && typeof (e as { code?: unknown }).code === "string") return (e as { code: string }).code;
  return undefined;
}

/** `what` names the operation ("Loading smollm2 from /path"); the native message says why. */
export function fromNative(e: unknown, what: string): MlxTsError {
  if (e instanceof MlxTsError) return e;
  const code = codeOf(e);
  const message = (e instanceof Error ? e.message : String(e)).trim().replace(/\.+$/, "");
  const c: NativeErrorCode = code !== undefined && NATIVE_CODES.has(code) ? (code as NativeErrorCode) : "E_MLX";
  // Most native messages already end with what to do; the generic hint is for the ones that do not.
  const advised = /[.!?]\s+\S/.test(message);
  return new MlxTsError(c, `${what} failed: ${message}.${advised ? "" : ` ${HINTS[c]}`}`, { cause: e });
}
