// The kernel as JupyterLab drives it: @jupyterlab/services against a real jupyter_server from .venv.
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KernelManager, ServerConnection, type Kernel, type KernelMessage } from "@jupyterlab/services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installTempKernelSpec, startJupyterServer, type JupyterServer } from "./kernel-harness.js";

// Node 20 has no global WebSocket; @jupyterlab/services takes the `ws` package (its own dependency) instead.
const WebSocket = createRequire(import.meta.url)("ws") as typeof globalThis.WebSocket;

let server: JupyterServer;
let manager: KernelManager;
let kernel: Kernel.IKernelConnection;

/** A display (the session gives every display an id) and its later update in place. */
const DISPLAY_THEN_UPDATE = 'const h = display.text("first"); await h.update("second")';

async function run(code: string): Promise<{ reply: KernelMessage.IExecuteReplyMsg; iopub: KernelMessage.IIOPubMessage[] }> {
  const iopub: KernelMessage.IIOPubMessage[] = [];
  const future = kernel.requestExecute({ code });
  future.onIOPub = (m) => void iopub.push(m);
  const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
  return { reply, iopub };
}

beforeAll(async () => {
  const { env } = installTempKernelSpec();
  server = await startJupyterServer(env, mkdtempSync(join(tmpdir(), "mlx-ts-lab-")));
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: server.baseUrl,
    wsUrl: server.baseUrl.replace(/^http/, "ws"),
    token: server.token,
    WebSocket,
  });
  manager = new KernelManager({ serverSettings });
  await manager.ready;
  kernel = await manager.startNew({ name: "mlx-ts" });
  await kernel.info;
});

afterAll(async () => {
  await kernel?.shutdown().catch(() => undefined);
  manager?.dispose();
  await server?.stop();
});

describe("@jupyterlab/services against jupyter_server", () => {
  it("reports the kernel's info", async () => {
    const info = await kernel.info;
    expect(info.implementation).toBe("mlx-ts");
    expect(info.language_info.name).toBe("typescript");
    expect(kernel.status).toBe("idle");
  });

  it("executes a cell and streams its output", async () => {
    const { reply, iopub } = await run('console.log("from lab"); 40 + 2');
    expect(reply.content.status).toBe("ok");
    const stream = iopub.find((m) => m.header.msg_type === "stream") as KernelMessage.IStreamMsg | undefined;
    expect(stream?.content.text).toBe("from lab\n");
    const result = iopub.find((m) => m.header.msg_type === "execute_result") as KernelMessage.IExecuteResultMsg | undefined;
    expect(result?.content.data["text/plain"]).toBe("42");
  });

  it("updates a display in place by display_id", async () => {
    const { reply, iopub } = await run(DISPLAY_THEN_UPDATE);
    expect(reply.content.status).toBe("ok");
    const shown = iopub.find((m) => m.header.msg_type === "display_data") as KernelMessage.IDisplayDataMsg | undefined;
    const updated = iopub.find((m) => m.header.msg_type === "update_display_data") as KernelMessage.IUpdateDisplayDataMsg | undefined;
    expect(shown).toBeDefined();
    expect(updated).toBeDefined();
    const id = (shown!.content.transient as { display_id?: string } | undefined)?.display_id;
    expect(typeof id).toBe("string");
    expect((updated!.content.transient as { display_id?: string }).display_id).toBe(id);
    expect(String(updated!.content.data["text/plain"])).toContain("second");
  });

  it("interrupts a busy loop; variables survive", async () => {
    await run("var survivor = 7");
    // Interrupt once the loop's cell has printed, i.e. is really running.
    const future = kernel.requestExecute({ code: 'console.log("spinning"); while (true) {}' });
    await new Promise<void>((resolve) => {
      future.onIOPub = (m) => {
        if (m.header.msg_type === "stream") resolve();
      };
    });
    await kernel.interrupt();
    const reply = (await future.done.catch((e: unknown) => e)) as KernelMessage.IExecuteReplyMsg;
    expect(reply.content.status).toBe("error");
    const { iopub } = await run("survivor * 6");
    const result = iopub.find((m) => m.header.msg_type === "execute_result") as KernelMessage.IExecuteResultMsg | undefined;
    expect(result?.content.data["text/plain"]).toBe("42");
  });

  it("restarts: a fresh kernel without the old variables", async () => {
    await run("var beforeRestart = 1");
    await kernel.restart();
    await kernel.info;
    // `typeof beforeRestart` would be a type error (TS2304) now that cells are type-checked
    const { reply } = await run("'beforeRestart' in globalThis");
    expect(reply.content.status).toBe("ok");
    const { iopub } = await run("'beforeRestart' in globalThis");
    const result = iopub.find((m) => m.header.msg_type === "execute_result") as KernelMessage.IExecuteResultMsg | undefined;
    expect(String(result?.content.data["text/plain"])).toBe("false");
  });
});
