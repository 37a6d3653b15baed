// Where the ranks of a sharded model run and listen, read from --hosts or made up on loopback. Two formats:
// - MLX's ring hostfile (mlx/distributed/ring/ring.cpp load_nodes): a JSON list, in rank order, of each rank's
//   "ip:port" addresses. A rank whose address is not this machine's is started over ssh to that address.
// - mlx.launch's hostfile (mlx/_distributed_utils/common.py Hostfile): a list of {"ssh": host, "ips": [...]}
//   (or {"hosts": [...], "envs": [...]}), plus our keys "node" and "checkout" (per host or for all) naming
//   the node program and the mlx-ts checkout on that host. "ssh": "127.0.0.1" runs on this machine, as there.
// The two may be mixed, one entry per rank.
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { MlxTsError } from "./types.js";

/** Each rank's "ip:port" addresses: the ring hostfile MLX reads. */
export type Hosts = string[][];

export interface RankPlace {
  /** the "ip:port" addresses MLX's ring listens on for this rank */
  addresses: string[];
  /** the ssh destination that starts it; absent: a child process on this machine */
  ssh?: string;
  /** on that host: the node program and the checkout (absent: "node" from its PATH, this checkout's path) */
  node?: string;
  checkout?: string;
}

export interface HostsPlan {
  ranks: RankPlace[];
  /** "NAME=value" set on every remote rank (mlx.launch's "envs") */
  envs: string[];
}

const EXAMPLE = '[["127.0.0.1:5000"], ["127.0.0.1:5001"]]';
const LAUNCH_EXAMPLE = '[{"ssh": "mac1", "ips": ["192.168.1.10"]}, {"ssh": "mac2", "ips": ["192.168.1.11"], "node": "/opt/homebrew/bin/node", "checkout": "/Users/me/mlx-ts"}]';
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);
/** mlx.launch's --starting-port: a bare IP listens here, plus one per rank and IP */
const STARTING_PORT = 32323;

function bad(file: string, why: string): MlxTsError {
  return new MlxTsError("E_BAD_ARGUMENT", `The hosts file ${file} ${why}. It is MLX's ring hostfile, a JSON list with one list of "ip:port" addresses per rank in rank order (e.g. ${EXAMPLE}), or mlx.launch's hostfile with our "node" and "checkout" keys (e.g. ${LAUNCH_EXAMPLE}).`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const optString = (o: Record<string, unknown>, k: string, file: string, where: string): string | undefined => {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !v) throw bad(file, `has a bad "${k}" ${where} (${JSON.stringify(v)}): it must be a non-empty string`);
  return v;
};

/** Parses and checks a hosts file's text; `shards` (when given) must match its number of ranks. */
export function parseHosts(text: string, file: string, shards?: number): HostsPlan {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(file, `is not JSON (${(e as Error).message})`);
  }
  const top = isObject(v) ? v : {};
  const list = isObject(v) ? v.hosts : v;
  if (!Array.isArray(list) || list.length === 0) throw bad(file, isObject(v) ? 'has no non-empty "hosts" list' : "is not a non-empty JSON list");
  const envs = top.envs ?? [];
  if (!Array.isArray(envs) || !envs.every((e) => typeof e === "string" && /^[A-Za-z_][A-Za-z0-9_]*=/.test(e)))
    throw bad(file, `has bad "envs" (${JSON.stringify(envs)}): each must be a "NAME=value" string`);
  const node = optString(top, "node", file, "at the top");
  const checkout = optString(top, "checkout", file, "at the top");
  let port = typeof top.port === "number" ? top.port : STARTING_PORT;
  const ranks = list.map((h: unknown, rank): RankPlace => {
    if (Array.isArray(h)) {
      if (h.length === 0 || !h.every((a) => typeof a === "string" && /^.+:\d{1,5}$/.test(a)))
        throw bad(file, `has a bad entry for rank ${rank} (${JSON.stringify(h)}): each rank needs a list of "ip:port" strings`);
      const host = splitAddress(h[0] as string).host.replace(/^\[|\]$/g, "");
      return { addresses: h as string[], ...(isThisMachine(host) ? {} : { ssh: host, node, checkout }) };
    }
    if (!isObject(h) || typeof h.ssh !== "string" || !h.ssh)
      throw bad(file, `has a bad entry for rank ${rank} (${JSON.stringify(h)}): each rank is a list of "ip:port" strings or an object with "ssh" and "ips"`);
    const ips = h.ips;
    if (!Array.isArray(ips) || ips.length === 0 || !ips.every((a) => typeof a === "string" && a))
      throw bad(file, `gives rank ${rank} (ssh ${h.ssh}) no "ips": the ring backend needs the IP addresses the ranks connect over, as mlx.launch does`);
    const addresses = (ips as string[]).map((a) => (/:\d{1,5}$/.test(a) && !/^[0-9a-f:]+$/i.test(a) ? a : `${a}:${port++}`));
    const place: RankPlace = { addresses };
    // As mlx.launch: only 127.0.0.1 runs without ssh; any other name (localhost included) goes through ssh.
    if (h.ssh !== "127.0.0.1") {
      place.ssh = h.ssh;
      place.node = optString(h, "node", file, `for rank ${rank}`) ?? node;
      place.checkout = optString(h, "checkout", file, `for rank ${rank}`) ?? checkout;
    }
    return place;
  });
  if (shards !== undefined && ranks.length !== shards) throw bad(file, `lists ${ranks.length} ranks but --shards is ${shards}`);
  return { ranks, envs: envs as string[] };
}

export function readHosts(file: string, shards?: number): HostsPlan {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new MlxTsError("E_BAD_ARGUMENT", `The hosts file ${file} cannot be read (${(e as Error).message}). Pass the path of a JSON hostfile, e.g. ${EXAMPLE}.`);
  }
  return parseHosts(text, file, shards);
}

export function splitAddress(a: string): { host: string; port: number } {
  const i = a.lastIndexOf(":");
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
}

export function isLoopback(a: string): boolean {
  return LOOPBACK.has(splitAddress(a).host);
}

/** Whether `host` (an IP or name) is this machine: loopback or one of its interfaces' addresses. */
export function isThisMachine(host: string): boolean {
  if (LOOPBACK.has(host) || /^127\./.test(host)) return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === host));
}

/** Rejects when `address` cannot be listened on (taken, or not this machine's). */
export function checkListen(address: string, rank: number): Promise<void> {
  const { host, port } = splitAddress(address);
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", (e: NodeJS.ErrnoException) => {
      const why = e.code === "EADDRINUSE" ? "the port is already in use by another process" : e.code === "EADDRNOTAVAIL" ? "that address is not this machine's" : e.message;
      reject(new MlxTsError("E_BAD_ARGUMENT", `Rank ${rank} cannot listen on ${address}: ${why}. Choose a free port in the hosts file, or leave --hosts out to get free loopback ports.`));
    });
    srv.listen({ host: host.replace(/^\[|\]$/g, ""), port, exclusive: true }, () => srv.close(() => resolve()));
  });
}

/** `n` free loopback ports, one address per rank. */
export async function loopbackHosts(n: number): Promise<HostsPlan> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return { ranks: ports.map((p) => ({ addresses: [`127.0.0.1:${p}`] })), envs: [] };
}

export function ringHosts(plan: HostsPlan): Hosts {
  return plan.ranks.map((r) => r.addresses);
}

export function writeHosts(dir: string, hosts: Hosts): string {
  const file = join(dir, "hosts.json");
  writeFileSync(file, JSON.stringify(hosts));
  return file;
}
