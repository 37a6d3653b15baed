// The error every mx function throws: the one error class (kernel/protocol.ts) under the name mx users
// see in tracebacks, "MlxError". Codes: E_MLX for MLX failures, E_BAD_ARGUMENT for arguments we reject.
import { MlxTsError, type ErrorCode } from "../protocol.js";

export type MlxErrorCode = Extract<ErrorCode, "E_MLX" | "E_BAD_ARGUMENT" | "E_MEMORY_LIMIT" | "E_NATIVE_UNAVAILABLE">;

export class MlxError extends MlxTsError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "MlxError";
  }
}

export function badArgument(message: string): MlxError {
  return new MlxError("E_BAD_ARGUMENT", message);
}
