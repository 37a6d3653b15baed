// The types every layer shares (front ends, session, magics, display, engine, mx) and the one error class.
// A leaf: it imports nothing, so any module may import it without making a ring.

/** A Jupyter mime bundle: mime type → data (string, or JSON for application/*json types). */
export type MimeBundle = Record<string, unknown>;

export interface DisplayOptions {
  /** display_id: later updates with the same id replace this output in place */
  displayId?: string;
  metadata?: Record<string, unknown>;
}

/** Where a cell's side effects go. The Jupyter front end maps these to iopub/stdin messages; the REPL to the terminal. */
export interface OutputSink {
  stream(name: "stdout" | "stderr", text: string): void;
  display(data: MimeBundle, opts?: DisplayOptions): void;
  /** update_display_data for an earlier display with this id */
  updateDisplay(data: MimeBundle, opts: DisplayOptions & { displayId: string }): void;
  clearOutput(wait: boolean): void;
  /** input_request on stdin; rejects when the front end does not allow stdin */
  input(prompt: string, password: boolean): Promise<string>;
}

/** Codes the native addons raise (native/src/errors.h). */
export type NativeErrorCode =
  | "E_MODEL_NOT_FOUND" // path missing, or no weights/config inside it
  | "E_UNSUPPORTED_ARCH" // model_type / general.architecture we do not implement
  | "E_BAD_CONFIG" // config.json missing keys or unparsable
  | "E_CORRUPT_WEIGHTS" // truncated/corrupt safetensors or gguf, missing tensor, wrong shape
  | "E_UNSUPPORTED_GGUF_TYPE" // a GGUF tensor type MLX cannot read
  | "E_MEMORY_LIMIT" // would exceed / exceeded the MLX memory limit
  | "E_CANCELLED" // cancelled by the caller
  | "E_BAD_ARGUMENT" // invalid argument
  | "E_MLX"; // any other MLX error (message carries MLX's text)

export type ErrorCode =
  | NativeErrorCode
  // raised in TypeScript
  | "E_NATIVE_UNAVAILABLE" // an addon could not be loaded
  | "E_TOKENIZER" // tokenizer/chat template missing or broken
  | "E_NOT_LOADED" // no model by that name
  | "E_BUSY" // a generation already runs on that model
  | "E_NETWORK"; // hub download failed

const CODES = new Set<string>([
  "E_MODEL_NOT_FOUND", "E_UNSUPPORTED_ARCH", "E_BAD_CONFIG", "E_CORRUPT_WEIGHTS", "E_UNSUPPORTED_GGUF_TYPE", "E_MEMORY_LIMIT",
  "E_CANCELLED", "E_BAD_ARGUMENT", "E_MLX", "E_NATIVE_UNAVAILABLE", "E_TOKENIZER", "E_NOT_LOADED", "E_BUSY", "E_NETWORK",
] satisfies ErrorCode[]);

export function isErrorCode(v: string): v is ErrorCode {
  return CODES.has(v);
}

/** Every error mlx-ts raises on purpose. `message` says what happened, why, and what to do. */
export class MlxTsError extends Error {
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    // Messages are built from parts ("X failed: ${cause}. Do Y."); a cause ending in a full stop must not double it.
    super(message.replace(/(?<!\.)\.\.(?![./])/g, "."), options);
    this.name = "MlxTsError";
  }
}
