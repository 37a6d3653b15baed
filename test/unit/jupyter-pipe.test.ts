// The kernel <-> wire process framing (kernel/jupyter/pipe.ts): packets survive any split of the byte
// stream into chunks, several packets in one chunk, empty and large frames.
import { describe, expect, it } from "vitest";
import { PacketReader, encodePacket } from "../../kernel/jupyter/pipe.js";

type Got = [unknown, string[]];

function readAll(stream: Buffer, cut: (i: number) => number): Got[] {
  const got: Got[] = [];
  const r = new PacketReader((h, frames) => got.push([h, frames.map((f) => f.toString("latin1"))]));
  for (let at = 0, i = 0; at < stream.length; i++) {
    const n = Math.max(1, cut(i));
    r.push(stream.subarray(at, at + n));
    at += n;
  }
  return got;
}

const packets: [object, string[]][] = [
  [{ type: "done" }, []],
  [{ type: "send", socket: "shell", ids: 1 }, ["\u0000\u0001id", "{}", "", "{\"a\":1}", "{\"code\":\"1+1\"}"]],
  [{ type: "stdin", ids: 0 }, ["{}", "{}", "{}", "{\"value\":\"é\"}", "\u00ff".repeat(300)]],
];
const stream = Buffer.concat(packets.map(([h, f]) => encodePacket(h, f.map((s) => Buffer.from(s, "latin1")))));

describe("pipe framing", () => {
  it("reads back every packet whole when the stream comes in one chunk", () => {
    expect(readAll(stream, () => stream.length)).toEqual(packets);
  });

  it("reads back every packet however the stream is cut (1 byte, 3 bytes, irregular)", () => {
    expect(readAll(stream, () => 1)).toEqual(packets);
    expect(readAll(stream, () => 3)).toEqual(packets);
    expect(readAll(stream, (i) => [5, 1, 17, 2, 64, 9][i % 6]!)).toEqual(packets);
  });

  it("carries a 20 MB frame in 64 KiB chunks", () => {
    const big = Buffer.alloc(20 << 20, 7);
    const p = encodePacket({ type: "shell", ids: 0 }, [Buffer.from("{}"), Buffer.from("{}"), Buffer.from("{}"), big]);
    const got: Buffer[][] = [];
    const r = new PacketReader((_h, frames) => got.push(frames));
    for (let at = 0; at < p.length; at += 65536) r.push(p.subarray(at, at + 65536));
    expect(got).toHaveLength(1);
    expect(got[0]![3]!.equals(big)).toBe(true);
  });
});
