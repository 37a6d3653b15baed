// The hosts file's two formats (ring hostfile, mlx.launch's hostfile with node/checkout) and the remote
// command line: quoting checked by a real shell, so no text from the hosts file is ever interpreted.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseHosts } from "../../kernel/engine/shards-hosts.js";
import { remoteScript, shellQuote, sshArgs } from "../../kernel/engine/shards-remote.js";

describe("hosts file", () => {
  it("ring format: this machine's addresses run here, others over ssh to that address", () => {
    const p = parseHosts(JSON.stringify([["127.0.0.1:5000"], ["192.0.2.7:5001"]]), "h.json", 2);
    expect(p.ranks[0]).toEqual({ addresses: ["127.0.0.1:5000"] });
    expect(p.ranks[1]).toMatchObject({ addresses: ["192.0.2.7:5001"], ssh: "192.0.2.7" });
  });

  it("mlx.launch's format: bare IPs get ports from 32323 on, node/checkout per host or for all, envs", () => {
    const text = JSON.stringify({
      envs: ["MLX_METAL_FAST_SYNCH=1"], node: "/usr/local/bin/node", checkout: "/srv/mlx-ts",
      hosts: [{ ssh: "127.0.0.1", ips: ["10.0.0.1"] }, { ssh: "mac2", ips: ["10.0.0.2"], node: "/opt/homebrew/bin/node" }, { ssh: "mac3", ips: ["10.0.0.3:7000"], checkout: "/Users/me/mlx-ts" }],
    });
    const p = parseHosts(text, "h.json", 3);
    expect(p.envs).toEqual(["MLX_METAL_FAST_SYNCH=1"]);
    expect(p.ranks[0]).toEqual({ addresses: ["10.0.0.1:32323"] }); // "127.0.0.1" runs here, as in mlx.launch
    expect(p.ranks[1]).toEqual({ addresses: ["10.0.0.2:32324"], ssh: "mac2", node: "/opt/homebrew/bin/node", checkout: "/srv/mlx-ts" });
    expect(p.ranks[2]).toEqual({ addresses: ["10.0.0.3:7000"], ssh: "mac3", node: "/usr/local/bin/node", checkout: "/Users/me/mlx-ts" });
  });

  it("refuses what cannot work, saying what the file needs", () => {
    expect(() => parseHosts('[{"ssh": "mac2"}]', "h.json")).toThrow(/gives rank 0 \(ssh mac2\) no "ips": the ring backend needs the IP addresses/);
    expect(() => parseHosts('[{"ssh": "mac2", "ips": ["10.0.0.2"], "node": 3}]', "h.json")).toThrow(/bad "node" for rank 0/);
    expect(() => parseHosts('{"hosts": [["127.0.0.1:1"]], "envs": ["no equals"]}', "h.json")).toThrow(/bad "envs"/);
    expect(() => parseHosts("[1]", "h.json")).toThrow(/bad entry for rank 0/);
  });
});

describe("remote command", () => {
  const nasty = ["plain", "it's", "$(touch /tmp/x) `id` $HOME", "a\nb", "'; rm -rf / #", "\\\"'\"", ""];

  it("shellQuote: a POSIX shell reads back exactly the text", () => {
    for (const s of nasty) expect(execFileSync("sh", ["-c", `printf %s ${shellQuote(s)}`], { encoding: "utf8" })).toBe(s);
  });

  it("the script runs node with the environment given, each value one word, in the checkout", () => {
    // "node" here is a script that prints its environment and arguments.
    const dir = mkdtempSync(join(tmpdir(), "remote-script-"));
    const fakeNode = join(dir, "fake node");
    writeFileSync(fakeNode, '#!/bin/sh\nenv\necho "args: $*"\n', { mode: 0o755 });
    const script = remoteScript(process.cwd(), fakeNode, { MLX_RANK: "1", MLX_TS_HOSTS: '[["10.0.0.1:1"],["10.0.0.2:2"]]', X: nasty[2]! });
    const out = execFileSync("sh", ["-c", script], { encoding: "utf8" });
    expect(out).toContain("MLX_RANK=1\n");
    expect(out).toContain('MLX_TS_HOSTS=[["10.0.0.1:1"],["10.0.0.2:2"]]\n');
    expect(out).toContain(`X=${nasty[2]}\n`);
    expect(out).toContain("args: dist/kernel/engine/shard-rank.js\n");
    rmSync(dir, { recursive: true, force: true });
    expect(() => remoteScript("/", "node", { "A B": "1" })).toThrow(/is not an environment variable name/);
  });

  it("ssh's argv: no tty, no password prompt, a connect time-out, the host after --, the command as sh -c 'script'", () => {
    const a = sshArgs("mac2", "echo hi", 10);
    expect(a.slice(0, 3)).toEqual(["-T", "-o", "BatchMode=yes"]);
    expect(a).toContain("ConnectTimeout=10");
    expect(a.slice(-3)).toEqual(["--", "mac2", "sh -c 'echo hi'"]);
    expect(() => sshArgs("-oProxyCommand=x", "true", 10)).toThrow(/starts with "-"/);
  });
});
