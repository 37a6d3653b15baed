// Typed errors of the Jupyter front end and the CLI.
export type KernelErrorCode =
  | "E_CONNECTION_FILE" // missing, unreadable or malformed connection file
  | "E_BIND" // a socket could not bind its endpoint
  | "E_STDIN_NOT_ALLOWED" // input() while the client sent allow_stdin: false
  | "E_INPUT_INTERRUPTED" // input() abandoned because the cell was interrupted or the kernel stops
  | "E_INSTALL" // kernelspec could not be written
  | "E_USAGE"; // bad command line

export class KernelError extends Error {
  constructor(
    readonly code: KernelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "KernelError";
  }
}
