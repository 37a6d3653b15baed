// Pure logic of the protocol layer: framing, signing, connection files, help syntax, history shaping.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { IopubCoalescer } from "../../kernel/jupyter/coalesce.js";
import { endpoint, parseConnectionInfo } from "../../kernel/jupyter/connection.js";
import { makeMessage, type JupyterMessage, type OutgoingMessage } from "../../kernel/jupyter/messages.js";
import { helpRequest, normalizeHistory } from "../../kernel/jupyter/shell.js";
import { ReplayGuard, Signer, decodeVerified, encodeParts, parseFrames, serialize, signedFrames, unsignedFrames } from "../../kernel/jupyter/wire.js";

const enc = (o: unknown) => Buffer.from(JSON.stringify(o));
const header = { msg_id: "m1", session: "s1", username: "u", date: "2026-01-01T00:00:00Z", msg_type: "execute_request", version: "5.4" };

function frames(key: string, content: object = { code: "1" }, ids: Buffer[] = [Buffer.from("peer")]): Buffer[] {
  const parts = [enc(header), enc({}), enc({}), enc(content)];
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return [...ids, Buffer.from("<IDS|MSG>"), Buffer.from(key ? h.digest("hex") : ""), ...parts];
}

describe("wire framing and signatures", () => {
  it("parses a signed message with routing ids and extra buffers", () => {
    const r = parseFrames([...frames("k"), Buffer.from([1, 2, 3])], new Signer("k"));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Buffer.from(r.msg.ids[0]!).toString()).toBe("peer");
    expect(r.msg.header.msg_type).toBe("execute_request");
    expect(r.msg.content).toEqual({ code: "1" });
    expect(r.msg.buffers.map((b) => [...b])).toEqual([[1, 2, 3]]);
  });

  it("rejects a wrong, missing or foreign-key signature", () => {
    const f = frames("k");
    expect(parseFrames(f, new Signer("other"))).toMatchObject({ ok: false, reason: "invalid signature" });
    const empty = [...f];
    empty[2] = Buffer.alloc(0);
    expect(parseFrames(empty, new Signer("k"))).toMatchObject({ ok: false, reason: "missing signature" });
    const shorter = [...f];
    shorter[2] = Buffer.from("abc");
    expect(parseFrames(shorter, new Signer("k"))).toMatchObject({ ok: false, reason: "invalid signature" });
  });

  it("accepts unsigned messages only when the key is empty", () => {
    expect(parseFrames(frames(""), new Signer("")).ok).toBe(true);
    expect(parseFrames(frames(""), new Signer("k")).ok).toBe(false);
  });

  it("rejects truncated messages, messages without delimiter, bad JSON and incomplete headers", () => {
    const s = new Signer("");
    expect(parseFrames(frames("").slice(0, 5), s)).toMatchObject({ ok: false });
    expect(parseFrames([Buffer.from("x"), Buffer.from("y")], s)).toMatchObject({ ok: false, reason: "no <IDS|MSG> delimiter frame" });
    const bad = frames("");
    bad[6] = Buffer.from("{");
    expect((parseFrames(bad, s) as { reason: string }).reason).toMatch(/^invalid JSON/);
    const arr = frames("");
    arr[6] = Buffer.from("[]");
    expect(parseFrames(arr, s).ok).toBe(false);
    const noType = frames("");
    noType[3] = enc({ ...header, msg_type: undefined });
    expect((parseFrames(noType, s) as { reason: string }).reason).toContain("msg_type");
    const badUtf8 = frames("");
    badUtf8[6] = Buffer.from([0x7b, 0xff, 0x7d]);
    expect(parseFrames(badUtf8, s).ok).toBe(false);
  });

  it("serialize produces frames parseFrames accepts, signed with the same key", () => {
    const parent: JupyterMessage = { ids: [Buffer.from("peer")], header, parent_header: {}, metadata: {}, content: {}, buffers: [] };
    const out = makeMessage("shell", "execute_reply", { status: "ok" }, parent, "kernel-session");
    const f = serialize(out, new Signer("k"));
    const back = parseFrames(f, new Signer("k"));
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    expect(back.msg.parent_header.msg_id).toBe("m1");
    expect(back.msg.header).toMatchObject({ msg_type: "execute_reply", session: "kernel-session", version: "5.4" });
  });

  it("a verified message handed on without delimiter and signature decodes to the same message", () => {
    const f = [Buffer.from("a"), Buffer.from("b"), ...frames("k").slice(1), Buffer.from([9, 8])];
    const r = parseFrames(f, new Signer("k"));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.delimiter).toBe(2);
    expect(decodeVerified(unsignedFrames(f, r.delimiter), r.delimiter)).toEqual(r.msg);
  });

  it("parts encoded by the kernel and signed by the wire process equal serialize's frames", () => {
    const m = makeMessage("shell", "execute_reply", { status: "ok" }, undefined, "s", { ids: [Buffer.from("peer")], buffers: [Buffer.from([1])] });
    const signer = new Signer("k");
    expect(signedFrames(m.ids, encodeParts(m), m.buffers ?? [], signer)).toEqual(serialize(m, signer));
  });

  it("iopub messages carry no routing ids; replies go back to the requester", () => {
    const parent: JupyterMessage = { ids: [Buffer.from("peer")], header, parent_header: {}, metadata: {}, content: {}, buffers: [] };
    expect(makeMessage("iopub", "status", {}, parent, "s").ids).toEqual([]);
    expect(makeMessage("shell", "x_reply", {}, parent, "s").ids).toEqual(parent.ids);
  });

  it("rejects signature schemes that are not hmac-*", () => {
    expect(() => new Signer("k", "rsa-sha256")).toThrow(/unsupported signature_scheme/);
    expect(new Signer("k", "hmac-sha512").sign([Buffer.from("a")])).toHaveLength(128);
  });

  it("the replay guard admits a signature once", () => {
    const g = new ReplayGuard(2);
    expect(g.admit("a")).toBe(true);
    expect(g.admit("a")).toBe(false);
    expect(g.admit("b")).toBe(true);
    expect(g.admit("c")).toBe(true);
    expect(g.admit("a")).toBe(true); // evicted: the guard is bounded
    expect(g.admit("")).toBe(true);
  });
});

describe("connection files", () => {
  const base = { shell_port: 1, control_port: 2, stdin_port: 3, iopub_port: 4, hb_port: 5, key: "k", signature_scheme: "hmac-sha256" };
  it("tcp and ipc endpoints as jupyter_client names them", () => {
    const tcp = parseConnectionInfo(JSON.stringify({ ...base, transport: "tcp", ip: "127.0.0.1" }));
    expect(endpoint(tcp, "shell")).toBe("tcp://127.0.0.1:1");
    const ipc = parseConnectionInfo(JSON.stringify({ ...base, transport: "ipc", ip: "/tmp/kernel-x" }));
    expect(endpoint(ipc, "hb")).toBe("ipc:///tmp/kernel-x-5");
  });
  it("defaults and errors", () => {
    const c = parseConnectionInfo(JSON.stringify({ ...base, ip: undefined, transport: undefined, signature_scheme: undefined }));
    expect(c).toMatchObject({ ip: "127.0.0.1", transport: "tcp", signature_scheme: "hmac-sha256" });
    expect(() => parseConnectionInfo("{")).toThrow(/not valid JSON/);
    expect(() => parseConnectionInfo(JSON.stringify({ ...base, hb_port: "5" }))).toThrow(/hb_port/);
    expect(() => parseConnectionInfo(JSON.stringify({ ...base, transport: "udp" }))).toThrow(/transport/);
  });
});

describe("help syntax and history shaping", () => {
  it("recognises name? / ?name / name?? and nothing else", () => {
    expect(helpRequest("Math.max?")).toEqual({ name: "Math.max", detail: 0 });
    expect(helpRequest("?console")).toEqual({ name: "console", detail: 0 });
    expect(helpRequest("  foo.bar??  ")).toEqual({ name: "foo.bar", detail: 1 });
    expect(helpRequest("a ? b : c")).toBeUndefined();
    expect(helpRequest("?x?")).toBeUndefined();
    expect(helpRequest("x")).toBeUndefined();
    expect(helpRequest("x?.y")).toBeUndefined();
  });

  it("search unique keeps the latest of each input; n keeps the last n", () => {
    const e = (line: number, input: string) => ({ session: 1, line, input });
    const all = [e(1, "a"), e(2, "b"), e(3, "a"), e(4, "c")];
    expect(normalizeHistory(all, { kind: "search", unique: true })).toEqual([e(2, "b"), e(3, "a"), e(4, "c")]);
    expect(normalizeHistory(all, { kind: "search", n: 2 })).toEqual([e(3, "a"), e(4, "c")]);
    expect(normalizeHistory(all, { kind: "range", n: 1 })).toEqual(all);
  });
});

describe("iopub coalescing", () => {
  const parentOf = (id: string): JupyterMessage => ({ ids: [], header: { ...header, msg_id: id }, parent_header: {}, metadata: {}, content: {}, buffers: [] });
  const stream = (p: string, name: string, text: string) => makeMessage("iopub", "stream", { name, text }, parentOf(p), "s");
  const update = (p: string, id: string, v: string) => makeMessage("iopub", "update_display_data", { data: { "text/plain": v }, metadata: {}, transient: { display_id: id } }, parentOf(p), "s");
  const run = (msgs: OutgoingMessage[]) => {
    const out: OutgoingMessage[] = [];
    let tick: (() => void) | undefined;
    const c = new IopubCoalescer((m) => out.push(m), (f) => (tick = f));
    for (const m of msgs) c.push(m);
    tick?.();
    return out.map((m) => [m.header.msg_type, m.content.text ?? (m.content.data as Record<string, string> | undefined)?.["text/plain"] ?? m.content.execution_state]);
  };

  it("merges consecutive stream text of one cell and stream name, keeping order with other messages", () => {
    const st = makeMessage("iopub", "status", { execution_state: "idle" }, parentOf("a"), "s");
    expect(run([stream("a", "stdout", "1\n"), stream("a", "stdout", "2\n"), stream("a", "stderr", "e\n"), stream("a", "stdout", "3\n"), st, stream("b", "stdout", "4\n")])).toEqual([
      ["stream", "1\n2\n"], ["stream", "e\n"], ["stream", "3\n"], ["status", "idle"], ["stream", "4\n"],
    ]);
  });

  it("keeps only the newest of consecutive updates to one display_id", () => {
    expect(run([update("a", "d", "1"), update("a", "d", "2"), update("a", "e", "x"), update("a", "d", "3")])).toEqual([
      ["update_display_data", "2"], ["update_display_data", "x"], ["update_display_data", "3"],
    ]);
  });
});
