// The session entry point for front ends (kernel/jupyter, repl/).
import { Session, type SessionOptions } from "./session.js";
import type { SessionApi } from "./types.js";

export type { SessionOptions } from "./session.js";
export { Session } from "./session.js";
export { InterruptError } from "./interrupt.js";
export * from "./types.js";

export async function createSession(opts: SessionOptions = {}): Promise<Session> {
  return new Session(opts);
}
