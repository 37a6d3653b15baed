// Ranks on another host, started over ssh (kernel/engine/shards-remote.ts). No second machine here, so the
// "other host" is 127.0.0.2 (loopback, but not 127.0.0.1: the hosts file must name it for ssh) and the ssh
// program is test/integration/fake-ssh.sh ($MLX_TS_SSH), which runs the remote command through a real shell
// in a new session, as sshd would: the quoting, the environment, the JSON-lines channel over stdin/stdout
// and the clean-up all run for real. The real ssh binary is used where it can fail for real (nothing
// listens on 127.0.0.3:22), and for a real login into a private sshd on loopback (skipped where there is no sshd).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import { privateSshdMissing, startPrivateSshd } from "./private-sshd.js";
import { childPids, drainKillingAtFirstToken, waitGone } from "./shards-helpers.js";

const ROOT = resolve(".");
const MODEL = resolve("test/.fixtures/models/qwen3-tiny-4bit");
const FAKE_SSH = resolve("test/integration/fake-ssh.sh");
const tmp = mkdtempSync(join(tmpdir(), "shards-remote-"));
// The checkout as the hosts file names it: a link whose name is shell syntax, which must reach the remote
// shell as one quoted word (were it interpreted, PWNED would appear).
const CHECKOUT = join(tmp, "it's $(touch PWNED) `touch PWNED` dir");
const SSH_LOG = join(tmp, "ssh.log");
let engine: MlxEngine;

beforeAll(() => {
  symlinkSync(ROOT, CHECKOUT);
  process.env.MLX_TS_SSH = FAKE_SSH;
  process.env.FAKE_SSH_LOG = SSH_LOG;
  engine = createEngine();
});

afterAll(() => {
  engine?.dispose();
  delete process.env.MLX_TS_SSH;
  rmSync(tmp, { recursive: true, force: true });
});

function freePort(host: string): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen({ host, port: 0, exclusive: true }, () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/**
 * Rank 0 here on 127.0.0.1 (or, with `bothRemote`, "on" 127.0.0.2 too), rank 1 "on" `ssh`: mlx.launch's
 * hostfile format, with our node/checkout keys.
 */
async function hostsFile(name: string, remote: Record<string, unknown> = {}, ssh = "127.0.0.2", bothRemote = false): Promise<string> {
  const file = join(tmp, `${name}.json`);
  const rank0 = bothRemote ? { ssh: "127.0.0.2", ips: [`127.0.0.2:${await freePort("127.0.0.2")}`], node: process.execPath, checkout: CHECKOUT } : [`127.0.0.1:${await freePort("127.0.0.1")}`];
  writeFileSync(file, JSON.stringify([rank0, { ssh, ips: [`127.0.0.2:${await freePort("127.0.0.2")}`], node: process.execPath, checkout: CHECKOUT, ...remote }]));
  return file;
}

function environ(pid: number): Record<string, string> {
  return Object.fromEntries(readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
}

/** The command names of a process's ancestors, nearest first. */
function ancestors(pid: number): string[] {
  const names: string[] = [];
  for (let p = pid; p > 1 && names.length < 16;) {
    const stat = readFileSync(`/proc/${p}/stat`, "utf8");
    p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (p > 1) names.push(readFileSync(`/proc/${p}/comm`, "utf8").trim());
  }
  return names;
}

async function stillWorks(): Promise<void> {
  const m = await engine.load(MODEL, { as: "plain" });
  const r = await m.generate("ok", { maxTokens: 4, ignoreEos: true });
  expect(r.tokens.length).toBe(4);
  engine.unload("plain");
}

const OPTS = { raw: true, maxTokens: 16, temperature: 0, ignoreEos: true, reusePrefix: false } as const;

describe("ranks on another host, started over ssh", () => {
  it("rank 1 runs through the ssh program on 127.0.0.2: same tokens as two local ranks; its environment is forwarded; unload ends it", async () => {
    const local = await engine.load(MODEL, { as: "local", shards: 2 });
    const want = await local.generate("Once upon a time", OPTS);
    engine.unload("local");

    process.env.MLX_TS_FORWARD_CHECK = "it's forwarded";
    const m = await engine.load(MODEL, { as: "remote", shards: 2, hosts: await hostsFile("ok"), shardTimeoutMs: 90_000 });
    delete process.env.MLX_TS_FORWARD_CHECK;
    expect(readFileSync(SSH_LOG, "utf8").trim().split("\n")).toEqual(["127.0.0.2"]);
    const [r0, r1] = m.info().shards!.ranks;
    expect(r0!.host).toBeUndefined();
    expect(r1!.host).toBe("127.0.0.2");
    // the remote rank reports its own pid; it is no child of this process (the ssh program is)
    expect(r1!.pid).toBeGreaterThan(0);
    expect(childPids()).not.toContain(r1!.pid);
    const env = environ(r1!.pid);
    expect(env.MLX_RANK).toBe("1");
    expect(JSON.parse(env.MLX_TS_HOSTS!)).toHaveLength(2);
    expect(env.MLX_TS_FORWARD_CHECK).toBe("it's forwarded");
    expect(r1!.weightBytes).toBe(r0!.weightBytes);

    const got = await m.generate("Once upon a time", OPTS);
    expect(got.tokens).toEqual(want.tokens);
    expect(got.stats.ranks?.[1]?.host).toBe("127.0.0.2");
    expect(existsSync(join(ROOT, "PWNED")) || existsSync(join(tmp, "PWNED")) || existsSync("PWNED")).toBe(false);

    const ssh = childPids();
    engine.unload("remote");
    expect(await waitGone([r0!.pid, r1!.pid, ...ssh])).toEqual([]);
  }, 300_000);

  it("pipeline mode with rank 1 remote: the single process's tokens (each layer runs whole on one rank)", async () => {
    const one = await engine.load(MODEL, { as: "one" });
    const want = await one.generate("Write a haiku about rain", OPTS);
    engine.unload("one");
    const m = await engine.load(MODEL, { as: "pipe", shards: 2, mode: "pipeline", hosts: await hostsFile("pipe"), shardTimeoutMs: 90_000 });
    const pids = m.info().shards!.ranks.map((r) => r.pid);
    expect((await m.generate("Write a haiku about rain", OPTS)).tokens).toEqual(want.tokens);
    engine.unload("pipe");
    expect(await waitGone(pids)).toEqual([]);
  }, 300_000);

  it("a remote rank killed mid-generation ends it naming the rank and host; nothing is left", async () => {
    const m = await engine.load(MODEL, { as: "remote", shards: 2, hosts: await hostsFile("kill"), shardTimeoutMs: 90_000 });
    const pids = m.info().shards!.ranks.map((r) => r.pid);
    const ssh = childPids();
    const s = m.stream("Tell me a long story", { maxTokens: 100_000, ignoreEos: true });
    const drained = drainKillingAtFirstToken(s, pids[1]!);
    await expect(drained).rejects.toThrow(new RegExp(`rank 1 \\(pid ${pids[1]} on 127\\.0\\.0\\.2\\) ended: .*All ranks were stopped`));
    expect(await waitGone([...pids, ...ssh])).toEqual([]);
    engine.unload("remote");
    await stillWorks();
  }, 300_000);

  it("SIGTERM to the session's process mid-generation ends its remote ranks too (both remote: no local rank's death takes them down)", async () => {
    const hosts = await hostsFile("sigterm", {}, "127.0.0.2", true);
    const script = join(tmp, "session.mjs");
    writeFileSync(script, [
      `import { createEngine } from ${JSON.stringify(join(ROOT, "dist", "kernel", "engine", "index.js"))};`,
      `const m = await createEngine().load(${JSON.stringify(MODEL)}, { as: "r", shards: 2, hosts: ${JSON.stringify(hosts)}, shardTimeoutMs: 90000 });`,
      // mid-generation, so the ranks are busy (an idle rank's event loop would end with its stdin anyway)
      `let said = false;`,
      `for await (const c of m.stream("Tell me a long story", { maxTokens: 100000, ignoreEos: true }))`,
      `  if (!said && c.tokens.length) { said = true; console.log(JSON.stringify(m.info().shards.ranks.map((r) => r.pid))); }`,
    ].join("\n"));
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"], env: process.env });
    const pids = await new Promise<number[]>((res, rej) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) res(JSON.parse(out.split("\n")[0]!) as number[]);
      });
      child.once("exit", (c) => rej(new Error(`the session process exited (${c}) before loading`)));
    });
    expect(pids).toHaveLength(2);
    child.kill("SIGTERM");
    expect(await waitGone([child.pid!, ...pids], 15_000)).toEqual([]);
  }, 300_000);

  it("node or the checkout missing on the host, a failing ssh, a missing ssh program, a host that never answers: clear errors naming rank and host, in time; nothing is left", async () => {
    const before = new Set(childPids());
    const t0 = Date.now();
    await expect(engine.load(MODEL, { as: "x", shards: 2, hosts: await hostsFile("nonode", { node: "/nonexistent/bin/node" }) }))
      .rejects.toThrow(/rank 1 \(on 127\.0\.0\.2\) ended: node is missing on 127\.0\.0\.2: mlx-ts: the node program \/nonexistent\/bin\/node was not found on this host\. Install Node 20 there, or set "node"/);
    await expect(engine.load(MODEL, { as: "x", shards: 2, hosts: await hostsFile("nocheckout", { checkout: join(tmp, "no such dir") }) }))
      .rejects.toThrow(/rank 1 \(on 127\.0\.0\.2\) ended: the checkout is missing on 127\.0\.0\.2: mlx-ts: no directory .*no such dir on this host\. Set "checkout"/);
    mkdirSync(join(tmp, "empty"));
    await expect(engine.load(MODEL, { as: "x", shards: 2, hosts: await hostsFile("notbuilt", { checkout: join(tmp, "empty") }) }))
      .rejects.toThrow(/the checkout on 127\.0\.0\.2 is not a built mlx-ts.*Run `npm run setup` there/);
    process.env.MLX_TS_SSH = join(tmp, "no-such-ssh");
    await expect(engine.load(MODEL, { as: "x", shards: 2, hosts: await hostsFile("nossh") }))
      .rejects.toThrow(/rank 1 \(on 127\.0\.0\.2\) could not be started \(.*no-such-ssh: spawn .*ENOENT\)/);
    // a host that never answers: an ssh that hangs, as one to a host that drops every packet
    const hang = join(tmp, "hanging-ssh");
    writeFileSync(hang, "#!/bin/sh\nexec sleep 600\n", { mode: 0o755 });
    process.env.MLX_TS_SSH = hang;
    const t1 = Date.now();
    await expect(engine.load(MODEL, { as: "x", shards: 2, hosts: await hostsFile("hang"), shardTimeoutMs: 5000 }))
      .rejects.toThrow(/The sharded load timed out after 5 s: rank 1 \(on 127\.0\.0\.2\) never started to join the group/);
    expect(Date.now() - t1).toBeLessThan(10_000);
    process.env.MLX_TS_SSH = FAKE_SSH;
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(await waitGone(childPids().filter((p) => !before.has(p)))).toEqual([]);
    expect(engine.models.has("x")).toBe(false);
    await stillWorks();
  }, 300_000);

  const ssh = (() => {
    try {
      return execFileSync("sh", ["-c", "command -v ssh"], { encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  })();

  it.skipIf(!ssh)("the real ssh failing (nothing listens on 127.0.0.3:22) ends the load naming the rank and host, with ssh's own words", async () => {
    process.env.MLX_TS_SSH = ssh;
    const before = new Set(childPids());
    try {
      const t0 = Date.now();
      await expect(engine.load(MODEL, { as: "x", shards: 2, hosts: await hostsFile("realssh", {}, "127.0.0.3"), shardTimeoutMs: 20_000 }))
        .rejects.toThrow(/rank 1 \(on 127\.0\.0\.3\) ended: ssh to 127\.0\.0\.3 failed \(exit 255\): .*(Connection refused|Connection timed out|No route).*Check that `ssh 127\.0\.0\.3` logs in/);
      expect(Date.now() - t0).toBeLessThan(25_000);
    } finally {
      process.env.MLX_TS_SSH = FAKE_SSH;
    }
    expect(await waitGone(childPids().filter((p) => !before.has(p)))).toEqual([]);
    await stillWorks();
  }, 120_000);

  // A real login: OpenSSH's client into a private sshd on 127.0.0.1 (test/integration/private-sshd.ts).
  const noSshd = privateSshdMissing();
  if (noSshd) process.stderr.write(`shards-remote: the real-ssh test skips: ${noSshd}\n`);

  it.skipIf(noSshd !== undefined)("over a real ssh login (a private sshd on loopback): rank 1 loads and gives the two local ranks' tokens; killing it mid-generation ends the generation naming the rank and host, and nothing is left running", async () => {
    const local = await engine.load(MODEL, { as: "local", shards: 2 });
    const want = await local.generate("Once upon a time", OPTS);
    engine.unload("local");
    const sshd = startPrivateSshd(join(tmp, "sshd"));
    process.env.MLX_TS_SSH = sshd.program;
    const before = new Set(childPids());
    try {
      const m = await engine.load(MODEL, { as: "real", shards: 2, hosts: await hostsFile("realsshd", { checkout: ROOT }, sshd.host), shardTimeoutMs: 90_000 });
      const [, r1] = m.info().shards!.ranks;
      expect(r1!.host).toBe(sshd.host);
      // rank 1 is not ours: it runs under the session sshd started for the login
      expect(childPids()).not.toContain(r1!.pid);
      expect(ancestors(r1!.pid)).toContain("sshd");
      expect((await m.generate("Once upon a time", OPTS)).tokens).toEqual(want.tokens);
      const ssh = childPids().filter((p) => !before.has(p));
      const drained = drainKillingAtFirstToken(m.stream("Tell me a long story", { maxTokens: 100_000, ignoreEos: true }), r1!.pid);
      await expect(drained).rejects.toThrow(new RegExp(`rank 1 \\(pid ${r1!.pid} on ${sshd.host}\\) ended`));
      expect(await waitGone([...m.info().shards!.ranks.map((r) => r.pid), ...ssh])).toEqual([]);
      engine.unload("real");
    } finally {
      process.env.MLX_TS_SSH = FAKE_SSH;
      sshd.stop();
    }
    expect(await waitGone(childPids().filter((p) => !before.has(p)))).toEqual([]);
    await stillWorks();
  }, 300_000);
});
