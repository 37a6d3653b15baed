// A pure-TypeScript reader of a GGUF file's header and key/value metadata (and, on request, the tensor
// infos). It never touches tensor data, so inspecting a multi-GB file costs only the header bytes.
import { closeSync, openSync, readSync } from "node:fs";
import type { GgufMetadata } from "./native-types.js";
import { MlxTsError } from "./types.js";

const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
const CHUNK = 1 << 20;

enum ValueType {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
}

const FIXED_WIDTH: Partial<Record<ValueType, number>> = {
  [ValueType.U8]: 1, [ValueType.I8]: 1, [ValueType.BOOL]: 1, [ValueType.U16]: 2, [ValueType.I16]: 2,
  [ValueType.U32]: 4, [ValueType.I32]: 4, [ValueType.F32]: 4, [ValueType.U64]: 8, [ValueType.I64]: 8, [ValueType.F64]: 8,
};

/** Sequential little-endian reads over a file descriptor, refilled a chunk at a time. */
class FileCursor {
  private buf = Buffer.alloc(0);
  private pos = 0; // position inside buf
  private filePos = 0; // file offset of buf[buf.length]
  private readonly utf8 = new TextDecoder("utf-8");

  constructor(private readonly fd: number, private readonly path: string) {}

  private ensure(n: number): void {
    if (this.buf.length - this.pos >= n) return;
    const rest = this.buf.subarray(this.pos);
    const next = Buffer.alloc(Math.max(CHUNK, n) + rest.length);
    rest.copy(next, 0);
    let filled = rest.length;
    while (filled < n) {
      const got = readSync(this.fd, next, filled, next.length - filled, this.filePos);
      if (got === 0) {
        throw new MlxTsError("E_CORRUPT_WEIGHTS", `GGUF file ${this.path} ends inside its metadata: the file is truncated or not a GGUF. Download it again.`);
      }
      filled += got;
      this.filePos += got;
    }
    this.buf = next.subarray(0, filled);
    this.pos = 0;
  }

  u32(): number { this.ensure(4); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  u64(): number {
    this.ensure(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return Number(v);
  }

  string(): string {
    const len = this.u64();
    if (len > 1 << 30) throw new MlxTsError("E_CORRUPT_WEIGHTS", `GGUF file ${this.path} has a metadata string of ${len} bytes: the file is corrupt.`);
    this.ensure(len);
    const s = this.utf8.decode(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }

  scalar(type: ValueType): number {
    const width = FIXED_WIDTH[type];
    if (width === undefined) throw new MlxTsError("E_CORRUPT_WEIGHTS", `GGUF file ${this.path} has an unknown metadata value type ${type}.`);
    this.ensure(width);
    const b = this.buf;
    const p = this.pos;
    this.pos += width;
    switch (type) {
      case ValueType.U8: return b.readUInt8(p);
      case ValueType.I8: return b.readInt8(p);
      case ValueType.BOOL: return b.readUInt8(p) ? 1 : 0;
      case ValueType.U16: return b.readUInt16LE(p);
      case ValueType.I16: return b.readInt16LE(p);
      case ValueType.U32: return b.readUInt32LE(p);
      case ValueType.I32: return b.readInt32LE(p);
      case ValueType.F32: return b.readFloatLE(p);
      case ValueType.U64: return Number(b.readBigUInt64LE(p));
      case ValueType.I64: return Number(b.readBigInt64LE(p));
      default: return b.readDoubleLE(p);
    }
  }
}

export interface GgufHeader {
  version: number;
  tensorCount: number;
  metadata: GgufMetadata;
}

/**
 * Reads a GGUF's header and metadata. Booleans become 1/0 and 64-bit integers become numbers,
 * as in the addon's `ggufMetadata()`, so either source can feed the tokenizer builder.
 */
export function readGgufMetadata(path: string): GgufHeader {
  return readGguf(path, false);
}

/** One tensor as the GGUF tensor-info table describes it (dims innermost first, as GGUF writes them). */
export interface GgufTensorInfo {
  name: string;
  dims: number[];
  /** ggml type id: 0 F32, 1 F16, 2 Q4_0, 3 Q4_1, 8 Q8_0, 30 BF16, ... */
  type: number;
}

/** The header, the metadata and the tensor infos (still no tensor data): for size estimates. */
export function readGgufTensorInfos(path: string): GgufHeader & { tensors: GgufTensorInfo[] } {
  return readGguf(path, true) as GgufHeader & { tensors: GgufTensorInfo[] };
}

function readGguf(path: string, withTensors: boolean): GgufHeader & { tensors?: GgufTensorInfo[] } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new MlxTsError("E_MODEL_NOT_FOUND", `Cannot open GGUF file ${path}: ${(e as Error).message}. Check the path.`, { cause: e });
  }
  try {
    const cur = new FileCursor(fd, path);
    if (cur.u32() !== GGUF_MAGIC) {
      throw new MlxTsError("E_CORRUPT_WEIGHTS", `${path} is not a GGUF file (bad magic). Pass a .gguf model file or a model directory.`);
    }
    const version = cur.u32();
    if (version < 2 || version > 3) {
      throw new MlxTsError("E_CORRUPT_WEIGHTS", `${path} is GGUF version ${version}; only versions 2 and 3 are supported. Re-convert it with a current llama.cpp.`);
    }
    const tensorCount = cur.u64();
    const kvCount = cur.u64();
    const metadata: GgufMetadata = {};
    for (let i = 0; i < kvCount; i++) {
      const key = cur.string();
      const type = cur.u32() as ValueType;
      if (type === ValueType.STRING) metadata[key] = cur.string();
      else if (type === ValueType.ARRAY) {
        const itemType = cur.u32() as ValueType;
        const n = cur.u64();
        if (itemType === ValueType.STRING) {
          const arr: string[] = new Array<string>(n);
          for (let j = 0; j < n; j++) arr[j] = cur.string();
          metadata[key] = arr;
        } else if (itemType === ValueType.ARRAY) {
          throw new MlxTsError("E_CORRUPT_WEIGHTS", `GGUF key ${key} in ${path} is a nested array, which no known GGUF writer produces.`);
        } else {
          const arr: number[] = new Array<number>(n);
          for (let j = 0; j < n; j++) arr[j] = cur.scalar(itemType);
          metadata[key] = arr;
        }
      } else metadata[key] = cur.scalar(type);
    }
    if (!withTensors) return { version, tensorCount, metadata };
    const tensors: GgufTensorInfo[] = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = cur.string();
      const nDims = cur.u32();
      if (nDims > 8) throw new MlxTsError("E_CORRUPT_WEIGHTS", `GGUF tensor ${name} in ${path} claims ${nDims} dimensions: the file is corrupt.`);
      const dims = Array.from({ length: nDims }, () => cur.u64());
      const type = cur.u32();
      cur.u64(); // data offset
      tensors.push({ name, dims, type });
    }
    return { version, tensorCount, metadata, tensors };
  } finally {
    closeSync(fd);
  }
}
