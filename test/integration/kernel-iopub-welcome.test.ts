// JEP 65 through real jupyter_client: iopub is an XPUB that sends iopub_welcome to each new subscriber,
// and a client that knows nothing of it (it sees other clients' welcomes) keeps working.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, VENV_BIN, installTempKernelSpec } from "./kernel-harness.js";

/** reply status, iopub types of the request (status as status:state), other iopub types seen meanwhile */
type CellRun = [string, string[], string[]];
interface First {
  msg_type: string;
  content: Record<string, unknown>;
  parent_header: Record<string, unknown>;
}
interface DriverOut {
  a_first: First;
  a_cell: CellRun;
  b_first: First;
  a_meanwhile: string[];
  a_cell_after_b: CellRun;
  topic: { idents: string[]; msg_type: string; content: Record<string, unknown> } | null;
}

let out: DriverOut;

beforeAll(() => {
  const { env } = installTempKernelSpec();
  const r = spawnSync(join(VENV_BIN, "python"), [join(ROOT, "test", "integration", "iopub-welcome-driver.py")], { env, encoding: "utf8", timeout: 240_000 });
  if (r.status !== 0) throw new Error(`iopub-welcome-driver.py exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  out = JSON.parse(r.stdout.trim().split("\n").pop()!) as DriverOut;
}, 250_000);

describe("iopub_welcome (JEP 65)", () => {
  it("a client's first iopub message is iopub_welcome for the empty topic, with no parent", () => {
    expect(out.a_first).toEqual({ msg_type: "iopub_welcome", content: { subscription: "" }, parent_header: {} });
  });

  it("a second client subscribing later is welcomed too", () => {
    expect(out.b_first).toEqual({ msg_type: "iopub_welcome", content: { subscription: "" }, parent_header: {} });
  });

  it("the first client sees the second's welcome and its cells still run busy, input, result, idle", () => {
    expect(out.a_meanwhile).toContain("iopub_welcome");
    for (const run of [out.a_cell, out.a_cell_after_b]) {
      expect(run[0]).toBe("ok");
      expect(run[1]).toEqual(["status:busy", "execute_input", "execute_result", "status:idle"]);
    }
  });

  it("a subscriber to a topic gets its welcome under that topic", () => {
    expect(out.topic).toEqual({ idents: ["kernel.topic"], msg_type: "iopub_welcome", content: { subscription: "kernel.topic" } });
  });
});
