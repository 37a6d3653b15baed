// A private OpenSSH server on loopback for the remote-rank tests: its own host key, one client key in its
// own authorized_keys, on a free port, run as this user in the foreground (never as a system service).
// Logging in through it is a real ssh session: key exchange, public-key auth, the remote command run by
// the login shell with sshd's environment, stdin/stdout over the connection. ssh reaches it through a
// client config naming the host alias; `program` is a two-line script that adds `-F config` to ssh's
// arguments (what $MLX_TS_SSH is for: any program that takes ssh's arguments).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";

export const SSHD = "/usr/sbin/sshd";

export interface PrivateSshd {
  /** the host alias the client config maps to 127.0.0.1:port */
  host: string;
  /** the program to use as ssh ($MLX_TS_SSH) */
  program: string;
  stop(): void;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function freePortSync(): number {
  const out = execFileSync(process.execPath, ["-e", "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"], { encoding: "utf8" });
  return Number(out.trim());
}

function sshClient(): string {
  try {
    return execFileSync("sh", ["-c", "command -v ssh"], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

/** Why no private sshd can run here (then the real-ssh tests skip), or undefined. */
export function privateSshdMissing(): string | undefined {
  if (!existsSync(SSHD)) return `no ${SSHD} (npm test installs openssh-server where apt-get can run as root)`;
  if (!sshClient()) return "no ssh client on the PATH";
  return undefined;
}

/** Starts the server in `dir`; throws with sshd's last words when it does not accept a login. */
export function startPrivateSshd(dir: string): PrivateSshd {
  const ssh = sshClient();
  mkdirSync(dir, { recursive: true });
  const key = (name: string): void => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, name)]);
  key("host_key");
  key("id");
  copyFileSync(join(dir, "id.pub"), join(dir, "authorized_keys"));
  chmodSync(join(dir, "authorized_keys"), 0o600);
  const port = freePortSync();
  const host = "mlx-ts-loopback";
  writeFileSync(join(dir, "sshd_config"), [
    `Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${join(dir, "host_key")}`, `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    `PidFile ${join(dir, "sshd.pid")}`, "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password", "",
  ].join("\n"));
  writeFileSync(join(dir, "ssh_config"), [
    `Host ${host}`, "  HostName 127.0.0.1", `  Port ${port}`, `  User ${userInfo().username}`, `  IdentityFile ${join(dir, "id")}`, "  IdentitiesOnly yes",
    "  StrictHostKeyChecking no", "  UserKnownHostsFile /dev/null", "  BatchMode yes", "  LogLevel ERROR", "",
  ].join("\n"));
  const program = join(dir, "ssh");
  writeFileSync(program, `#!/bin/sh\nexec ${ssh} -F '${join(dir, "ssh_config")}' "$@"\n`);
  chmodSync(program, 0o755);
  // sshd run as root refuses to start without its privilege-separation directory
  if (userInfo().uid === 0) mkdirSync("/run/sshd", { recursive: true });
  const log = join(dir, "sshd.log");
  const logFd = openSync(log, "w");
  const child: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", logFd] });
  closeSync(logFd);
  const stop = (): void => {
    child.kill("SIGTERM");
  };
  for (let i = 0; i < 50; i++) {
    try {
      execFileSync(program, [host, "true"], { stdio: "ignore", timeout: 5000 });
      return { host, program, stop };
    } catch {
      if (child.exitCode !== null) break;
      sleepSync(100);
    }
  }
  stop();
  throw new Error(`the private sshd did not accept a login: ${readFileSync(log, "utf8").trim().split("\n").slice(-2).join(" ")}`);
}
