// Reads the connection file Jupyter hands a kernel (-f FILE) and turns it into socket endpoints.
import { readFileSync } from "node:fs";
import { KernelError } from "./errors.js";

export interface ConnectionInfo {
  transport: "tcp" | "ipc";
  ip: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

export type Channel = "shell" | "control" | "stdin" | "iopub" | "hb";

const PORT_FIELD: Record<Channel, keyof ConnectionInfo> = {
  shell: "shell_port",
  control: "control_port",
  stdin: "stdin_port",
  iopub: "iopub_port",
  hb: "hb_port",
};

export function parseConnectionInfo(text: string, source = "connection file"): ConnectionInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new KernelError("E_CONNECTION_FILE", `${source} is not valid JSON (${(e as Error).message}); Jupyter writes it when it starts a kernel — pass the file it gave you with -f`);
  }
  if (typeof raw !== "object" || raw === null) throw new KernelError("E_CONNECTION_FILE", `${source} must hold a JSON object`);
  const o = raw as Record<string, unknown>;
  const transport = o.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "ipc") throw new KernelError("E_CONNECTION_FILE", `${source}: transport "${String(transport)}" is not supported; use "tcp" or "ipc"`);
  const info: ConnectionInfo = {
    transport,
    ip: typeof o.ip === "string" && o.ip ? o.ip : "127.0.0.1",
    shell_port: 0,
    control_port: 0,
    stdin_port: 0,
    iopub_port: 0,
    hb_port: 0,
    key: typeof o.key === "string" ? o.key : "",
    signature_scheme: typeof o.signature_scheme === "string" && o.signature_scheme ? o.signature_scheme : "hmac-sha256",
    kernel_name: typeof o.kernel_name === "string" ? o.kernel_name : undefined,
  };
  for (const ch of Object.keys(PORT_FIELD) as Channel[]) {
    const f = PORT_FIELD[ch];
    const v = o[f];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
      throw new KernelError("E_CONNECTION_FILE", `${source}: "${f}" must be an integer port (got ${JSON.stringify(v)})`);
    }
    (info as unknown as Record<string, number>)[f] = v;
  }
  return info;
}

export function readConnectionFile(path: string): ConnectionInfo {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new KernelError("E_CONNECTION_FILE", `cannot read connection file ${path}: ${(e as Error).message}`);
  }
  return parseConnectionInfo(text, `connection file ${path}`);
}

/** tcp://ip:port, or ipc://ip-N as jupyter_client names ipc endpoints. */
export function endpoint(info: ConnectionInfo, ch: Channel): string {
  const port = info[PORT_FIELD[ch]] as number;
  return info.transport === "ipc" ? `ipc://${info.ip}-${port}` : `tcp://${info.ip}:${port}`;
}
