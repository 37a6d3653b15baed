// A seeded wire fuzzer: 10,000 malformed or hostile messages across shell, control and stdin against a
// real kernel process. The kernel must stay up, keep answering heartbeats, run a final valid execute
// correctly, and never execute a message whose signature is wrong (every such message carries code that
// would leave a marker file behind).
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../prng.js";
import { startKernel, type RunningKernel } from "./kernel-harness.js";

const SEED = 20261122;
const COUNT = 10_000;
const DELIM = Buffer.from("<IDS|MSG>");
type Channel = "shell" | "control" | "stdin";
const CHANNELS: Channel[] = ["shell", "control", "stdin"];

let kernel: RunningKernel;
let markerDir: string;

beforeAll(async () => {
  kernel = await startKernel();
  markerDir = kernel.dir;
}, 180_000);

afterAll(async () => {
  await kernel?.stop();
});

describe("wire fuzzing", () => {
  it(`survives ${COUNT} malformed or hostile messages and never runs an unsigned one`, async () => {
    const c = kernel.client;
    const rnd = mulberry32(SEED);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
    const header = (type: string) => ({ msg_id: randomUUID(), session: c.session, username: "fuzz", date: new Date().toISOString(), msg_type: type, version: "5.4" });
    const unsignedCode = (i: number) => `require("node:fs").writeFileSync(${JSON.stringify(join(markerDir, `ran-${i}`))}, "x")`;
    const counts: Record<string, number> = {};

    const mutations: ((i: number) => Buffer[])[] = [
      // bad signature on an execute that would leave a marker
      (i) => c.frames("execute_request", { code: unsignedCode(i), silent: false }, { signature: bytes(32).toString("hex") }).frames,
      // missing (empty) signature
      (i) => c.frames("execute_request", { code: unsignedCode(i), silent: false }, { signature: "" }).frames,
      // signature signed with the wrong key
      (i) => {
        const parts = [header("execute_request"), {}, {}, { code: unsignedCode(i) }].map((o) => Buffer.from(JSON.stringify(o)));
        return [DELIM, Buffer.from(c.sign(parts, "not-the-key")), ...parts];
      },
      // wrong or missing delimiter
      () => {
        const f = c.frames("kernel_info_request", {}).frames;
        return rnd() < 0.5 ? [Buffer.from("<IDS|MSX>"), ...f.slice(1)] : f.slice(1);
      },
      // truncated multipart
      () => c.frames("kernel_info_request", {}).frames.slice(0, 1 + Math.floor(rnd() * 4)),
      // invalid UTF-8 in otherwise well-formed frames (correctly signed)
      () => {
        const parts = [Buffer.from(JSON.stringify(header("kernel_info_request"))), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from("{}"), bytes(16)];
        return [DELIM, Buffer.from(c.sign(parts)), ...parts];
      },
      // invalid JSON, correctly signed
      () => {
        const parts = [Buffer.from('{"msg_id": "x", "msg_type": "execute_request"'), Buffer.from("{}"), Buffer.from("{}"), Buffer.from("{not json")];
        return [DELIM, Buffer.from(c.sign(parts)), ...parts];
      },
      // unknown message types, correctly signed
      () => c.frames(pick(["foo_request", "execute_reply", "", "🙂", "kernel_info_request\u0000"]), {}).frames,
      // header with missing or wrong-typed fields, correctly signed
      () => {
        const h: Record<string, unknown> = header("execute_request");
        delete h[pick(["msg_id", "msg_type", "session"])];
        if (rnd() < 0.5) h.msg_type = 42;
        const parts = [h, {}, {}, { code: "1" }].map((o) => Buffer.from(JSON.stringify(o)));
        return [DELIM, Buffer.from(c.sign(parts)), ...parts];
      },
      // wrong parent ids and odd content types on valid, harmless requests
      () => {
        const parts = [header(pick(["is_complete_request", "complete_request", "inspect_request", "comm_info_request", "history_request", "input_reply"])), { msg_id: randomUUID() }, {}, pick([{}, { code: 7 }, { code: null, cursor_pos: -5 }, { value: "x" }, { hist_access_type: "nonsense" }])]
          .map((o) => Buffer.from(JSON.stringify(o)));
        return [DELIM, Buffer.from(c.sign(parts)), ...parts];
      },
      // random binary frames
      () => Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => bytes(Math.floor(rnd() * 64))),
    ];

    for (let i = 0; i < COUNT; i++) {
      const m = Math.floor(rnd() * mutations.length);
      counts[m] = (counts[m] ?? 0) + 1;
      let frames = mutations[m](i);
      // a few giant frames (8 MB) along the way
      if (i % 2500 === 1234) frames = [DELIM, Buffer.from("00"), Buffer.alloc(8 << 20, 0x7b)];
      await c.sendRaw(pick(CHANNELS), frames);
      if (i % 500 === 0) expect(await c.ping(`hb-${i}`)).toBe(`hb-${i}`);
    }
    // every kind of mutation was exercised
    expect(Object.keys(counts)).toHaveLength(mutations.length);

    expect(await c.ping("after")).toBe("after");
    const { reply, iopub } = await c.execute("const fuzzCheck = 40 + 2; fuzzCheck", {}, 120_000);
    expect(reply.content.status).toBe("ok");
    const result = iopub.find((m) => m.header.msg_type === "execute_result");
    expect((result?.content.data as Record<string, string>)["text/plain"]).toBe("42");
    expect(kernel.proc.exitCode).toBeNull();
    // the unsigned executes never ran: no marker files
    expect(readdirSync(markerDir).filter((f) => f.startsWith("ran-"))).toEqual([]);
    // positive control: the same code, correctly signed, does leave its marker
    const control = await c.execute(unsignedCode(-1), {}, 120_000);
    expect(control.reply.content.status).toBe("ok");
    expect(existsSync(join(markerDir, "ran--1"))).toBe(true);
  }, 600_000);
});
