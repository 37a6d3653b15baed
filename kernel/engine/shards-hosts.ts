// Where the ranks of a sharded model listen: MLX's ring hostfile (mlx/distributed/ring/ring.cpp load_nodes:
// a JSON list, in rank order, of each rank's "ip:port" addresses), read from --hosts or made up on loopback.
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { MlxTsError } from "./types.js";

export type Hosts = string[][];

const EXAMPLE = '[["127.0.0.1:5000"], ["127.0.0.1:5001"]]';
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

function bad(file: string, why: string): MlxTsError {
  return new MlxTsError("E_BAD_ARGUMENT", `The hosts file ${file} ${why}. It is MLX's ring hostfile: a JSON list with one list of "ip:port" addresses per rank, in rank order, e.g. ${EXAMPLE}.`);
}

/** Parses and checks a hosts file's text; `shards` (when given) must match its number of ranks. */
export function parseHosts(text: string, file: string, shards?: number): Hosts {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(file, `is not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v) || v.length === 0) throw bad(file, "is not a non-empty JSON list");
  const hosts = v.map((h: unknown, rank) => {
    if (!Array.isArray(h) || h.length === 0 || !h.every((a) => typeof a === "string" && /^.+:\d{1,5}$/.test(a)))
      throw bad(file, `has a bad entry for rank ${rank} (${JSON.stringify(h)}): each rank needs a list of "ip:port" strings`);
    return h as string[];
  });
  if (shards !== undefined && hosts.length !== shards) throw bad(file, `lists ${hosts.length} ranks but --shards is ${shards}`);
  return hosts;
}

export function readHosts(file: string, shards?: number): Hosts {
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
export async function loopbackHosts(n: number): Promise<Hosts> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports.map((p) => [`127.0.0.1:${p}`]);
}

export function writeHosts(dir: string, hosts: Hosts): string {
  const file = join(dir, "hosts.json");
  writeFileSync(file, JSON.stringify(hosts));
  return file;
}
