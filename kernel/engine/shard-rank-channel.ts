// How a rank process talks to the session: Node's IPC channel when the session forked it on this machine,
// or JSON lines over stdin/stdout when it was started on another host over ssh (shards-remote.ts), where
// only the three standard streams cross. Either way, losing the session ends the rank at once: SIGKILL,
// because a rank blocked in a collective never returns to the event loop.
import { createInterface } from "node:readline";
import type { RankEvent, RankRequest } from "./shards-protocol.js";

/** Marks a protocol line on a remote rank's stdout; any other line there is the rank's own output. */
export const LINE_PREFIX = "\u001emlx-ts ";

export interface RankChannel {
  send(m: RankEvent): void;
}

function gone(): void {
  process.kill(process.pid, "SIGKILL");
}

export function openChannel(onMessage: (m: RankRequest) => void): RankChannel {
  if (process.send) {
    process.on("disconnect", gone);
    process.on("message", onMessage);
    return { send: (m) => void process.send?.(m) };
  }
  // Over ssh: a closed stdin means the session, or the ssh connection to it, is gone.
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (l) => {
    if (!l.startsWith(LINE_PREFIX)) return;
    onMessage(JSON.parse(l.slice(LINE_PREFIX.length)) as RankRequest);
  });
  lines.on("close", gone);
  process.stdout.on("error", gone); // EPIPE: nobody reads our events any more
  return { send: (m) => void process.stdout.write(LINE_PREFIX + JSON.stringify(m) + "\n") };
}
