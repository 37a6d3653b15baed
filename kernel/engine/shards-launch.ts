// How the session starts one rank process and talks to it: forked on this machine (Node IPC), or on another
// host over ssh (shards-remote.ts, JSON lines over the ssh session's stdin/stdout). ShardGroup (shards.ts)
// sees only this interface.
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../util/repo-root.js";
import type { RankEvent, RankRequest } from "./shards-protocol.js";

export interface RankProcess {
  /** the local process: the rank itself, or the ssh client that runs it remotely */
  readonly child: ChildProcess;
  /** the ssh destination, for a remote rank */
  readonly host?: string;
  send(m: RankRequest): void;
  /** whether a request can still reach it */
  readonly connected: boolean;
  /** ends it now: SIGKILL here; for a remote rank, its stdin closes (it kills itself) and ssh is killed */
  kill(): void;
}

export interface RankHandlers {
  message(ev: RankEvent): void;
  /** the rank's own output (stderr; on a remote rank also stdout lines that are not protocol) */
  output(text: string): void;
}

export const RANK_ENTRY = join("dist", "kernel", "engine", "shard-rank.js");

export const hasExited = (c: ChildProcess): boolean => c.exitCode !== null || c.signalCode !== null;

/**
 * `fn` once the process has exited and its output has been read ("close"), so an error can quote its last
 * words; at most 1 s after "exit", in case something it started still holds its pipes open.
 */
export function whenEnded(child: ChildProcess, fn: (code: number | null, signal: NodeJS.Signals | null) => void): void {
  let done = false;
  const once = (code: number | null, signal: NodeJS.Signals | null) => {
    if (done) return;
    done = true;
    fn(code, signal);
  };
  child.once("close", once);
  child.once("exit", (code, signal) => setTimeout(() => once(code, signal), 1000).unref());
}

export function forkRank(env: NodeJS.ProcessEnv, on: RankHandlers): RankProcess {
  const child = fork(join(repoRoot(), RANK_ENTRY), [], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe", "ipc"] });
  child.stderr?.on("data", (d: Buffer) => on.output(d.toString()));
  child.on("message", (ev: RankEvent) => on.message(ev));
  return {
    child,
    send: (m) => void (child.connected && child.send(m)),
    get connected() {
      return child.connected;
    },
    kill: () => void (hasExited(child) || child.kill("SIGKILL")),
  };
}
