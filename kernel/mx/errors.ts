// The error every mx function throws: MLX's own message plus what to do, and a code from the
// engine's NativeErrorCode set (E_MLX for MLX failures, E_BAD_ARGUMENT for arguments we reject).
export type MlxErrorCode = "E_MLX" | "E_BAD_ARGUMENT" | "E_MEMORY_LIMIT" | "E_NATIVE_UNAVAILABLE";

export class MlxError extends Error {
  readonly code: MlxErrorCode;
  constructor(message: string, code: MlxErrorCode = "E_MLX") {
    super(message);
    this.name = "MlxError";
    this.code = code;
  }
}

export function badArgument(message: string): MlxError {
  return new MlxError(message, "E_BAD_ARGUMENT");
}
