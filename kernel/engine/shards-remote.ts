// A rank on another host, started over ssh as mlx.launch starts its remote ranks (mlx/_distributed_utils/
// launch.py RemoteProcess): `ssh HOST CMD`, where CMD changes to the checkout, sets the rank's environment
// and execs node on shard-rank.js. ssh hands CMD to the remote user's shell as one string, so every piece
// of it that comes from the hosts file or the session is single-quoted here; nothing a user wrote is
// interpreted by a shell. The session talks to the rank over the ssh session's stdin/stdout (JSON lines,
// shard-rank-channel.ts); closing its stdin ends the rank, so killing ssh leaves nothing running there.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { repoRoot } from "../util/repo-root.js";
import { LINE_PREFIX } from "./shard-rank-channel.js";
import { hasExited, RANK_ENTRY, type RankHandlers, type RankProcess } from "./shards-launch.js";
import type { RankPlace } from "./shards-hosts.js";
import type { RankEvent } from "./shards-protocol.js";
import { MlxTsError } from "./types.js";

/** The program run as ssh: $MLX_TS_SSH (any program taking ssh's arguments), else ssh from the PATH. */
export const sshProgram = (): string => process.env.MLX_TS_SSH || "ssh";

/** Exit codes of the remote script's own checks. */
const NO_CHECKOUT = 90, NOT_BUILT = 91, NO_NODE = 92;

/** POSIX shell single quotes: the text comes through as one word, with nothing expanded. */
export function shellQuote(s: string): string {
  if (s.includes("\0")) throw new MlxTsError("E_BAD_ARGUMENT", "A value for a remote rank's command line contains a NUL byte; no shell can carry it.");
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The script the remote shell runs: check the checkout and node, then exec the rank with `env`. */
export function remoteScript(checkout: string, node: string, env: Record<string, string>): string {
  const q = shellQuote;
  const vars = Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new MlxTsError("E_BAD_ARGUMENT", `${JSON.stringify(k)} is not an environment variable name; fix the "envs" of the hosts file.`);
    return q(`${k}=${v}`);
  });
  return [
    `cd -- ${q(checkout)} 2>/dev/null || { echo 'mlx-ts: no directory '${q(checkout)}' on this host' >&2; exit ${NO_CHECKOUT}; }`,
    `test -f ${q(RANK_ENTRY)} || { echo 'mlx-ts: '${q(checkout)}' has no '${q(RANK_ENTRY)}' (not an mlx-ts checkout, or not built)' >&2; exit ${NOT_BUILT}; }`,
    `command -v ${q(node)} >/dev/null 2>&1 || { echo 'mlx-ts: the node program '${q(node)}' was not found on this host' >&2; exit ${NO_NODE}; }`,
    `exec env ${vars.join(" ")} ${q(node)} ${q(RANK_ENTRY)}`,
  ].join("\n");
}

/** ssh's argv: no terminal, no password prompt (fail instead), a connect time-out, dead links noticed. */
export function sshArgs(host: string, script: string, connectTimeoutS: number): string[] {
  if (host.startsWith("-")) throw new MlxTsError("E_BAD_ARGUMENT", `The ssh host ${JSON.stringify(host)} starts with "-"; fix the hosts file.`);
  const opts = ["-T", "-o", "BatchMode=yes", "-o", `ConnectTimeout=${Math.max(1, Math.round(connectTimeoutS))}`, "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"];
  // The remote login shell may be any; `sh -c` gives the script a POSIX shell there.
  return [...opts, "--", host, `sh -c ${shellQuote(script)}`];
}

/** Starts one rank on `place.ssh`; its environment is `env` (MLX_RANK, the hostfile's text, ...). */
export function sshRank(place: RankPlace & { ssh: string }, env: Record<string, string>, connectTimeoutS: number, on: RankHandlers): RankProcess {
  const script = remoteScript(place.checkout ?? repoRoot(), place.node ?? "node", env);
  const child = spawn(sshProgram(), sshArgs(place.ssh, script, connectTimeoutS), { stdio: ["pipe", "pipe", "pipe"] });
  createInterface({ input: child.stdout! }).on("line", (l) => {
    if (!l.startsWith(LINE_PREFIX)) return on.output(l + "\n");
    let ev: RankEvent;
    try {
      ev = JSON.parse(l.slice(LINE_PREFIX.length)) as RankEvent;
    } catch {
      return on.output(l + "\n");
    }
    on.message(ev);
  });
  child.stderr!.on("data", (d: Buffer) => on.output(d.toString()));
  child.stdin!.on("error", () => undefined); // EPIPE once ssh is gone: its exit says why
  let open = true;
  return {
    child,
    host: place.ssh,
    send: (m) => void (open && !hasExited(child) && child.stdin!.write(LINE_PREFIX + JSON.stringify(m) + "\n")),
    get connected() {
      return open && !hasExited(child);
    },
    kill: () => {
      open = false;
      child.stdin!.destroy();
      if (!hasExited(child)) child.kill("SIGKILL");
    },
  };
}

/** Why a remote rank's ssh ended, and what to do, from its exit code and last output; `started`: the rank had run. */
export function remoteExitReason(host: string, code: number | null, signal: string | null, output: string, started: boolean): string {
  const last = output.trim().split("\n").filter(Boolean).slice(-2).join(" | ");
  const said = last ? `: ${last}` : "";
  if (signal) return `its ssh to ${host} was killed (${signal})`;
  // ssh exits 255 for its own failures, and for a remote command killed by a signal
  if (code === 255 && started) return `it was killed on ${host}, or the ssh connection to it broke (ssh exit 255)${said}`;
  switch (code) {
    case 255:
      return `ssh to ${host} failed (exit 255)${said}. Check that \`ssh ${host}\` logs in from this machine without a password prompt (keys or an agent: ssh runs with BatchMode=yes) and that the host is reachable`;
    case NO_CHECKOUT:
      return `the checkout is missing on ${host}${said}. Set "checkout" for this host in the hosts file to the mlx-ts checkout there`;
    case NOT_BUILT:
      return `the checkout on ${host} is not a built mlx-ts${said}. Run \`npm run setup\` there, or set "checkout" in the hosts file`;
    case NO_NODE:
    case 127:
      return `node is missing on ${host}${said}. Install Node 20 there, or set "node" for this host in the hosts file to its path`;
    default:
      return `it exited on ${host} with code ${code}${said}`;
  }
}
