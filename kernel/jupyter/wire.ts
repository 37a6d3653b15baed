// The Jupyter wire format: routing ids, "<IDS|MSG>", HMAC signature, four JSON frames, extra buffers.
// Pure functions only, so they can be unit-tested without sockets.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";
import type { JupyterMessage, MessageHeader, OutgoingMessage } from "./messages.js";

export const DELIMITER = "<IDS|MSG>";
const DELIMITER_BYTES = Buffer.from(DELIMITER);
const UTF8 = new TextDecoder("utf-8", { fatal: true });
const REQUIRED_HEADER_FIELDS = ["msg_id", "session", "username", "msg_type", "version"] as const;

/** Signing scheme from the connection file, e.g. "hmac-sha256". An empty key disables signing. */
export class Signer {
  private readonly algorithm: string;
  /** imported once: a string key is imported again by every createHmac, about half its cost */
  private readonly secret: KeyObject | undefined;
  constructor(
    key: string,
    scheme = "hmac-sha256",
  ) {
    const m = /^hmac-(.+)$/.exec(scheme);
    if (!m) throw new Error(`unsupported signature_scheme "${scheme}": only hmac-<digest> schemes (e.g. hmac-sha256) exist in the protocol`);
    this.algorithm = m[1]!;
    this.secret = key ? createSecretKey(Buffer.from(key, "utf8")) : undefined;
    // Fail at start-up, not on the first message, when Node lacks the digest.
    if (this.secret) createHmac(this.algorithm, this.secret);
  }

  get enabled(): boolean {
    return this.secret !== undefined;
  }

  sign(parts: readonly Uint8Array[]): string {
    if (!this.secret) return "";
    const h = createHmac(this.algorithm, this.secret);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }

  /** Constant-time comparison of the hex signature a peer sent with the one we compute. */
  verify(signature: Uint8Array, parts: readonly Uint8Array[]): boolean {
    if (!this.enabled) return true;
    const expected = Buffer.from(this.sign(parts));
    const got = Buffer.from(signature);
    return got.length === expected.length && timingSafeEqual(got, expected);
  }
}

/** `delimiter`: index of the <IDS|MSG> frame, so the parts can be passed on as they came. */
export type ParseResult = { ok: true; msg: JupyterMessage; signature: string; delimiter: number } | { ok: false; reason: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Verifies and parses one multipart message as received on a ROUTER socket. Never throws. */
export function parseFrames(frames: readonly Uint8Array[], signer: Signer): ParseResult {
  const d = frames.findIndex((f) => f.length === DELIMITER_BYTES.length && DELIMITER_BYTES.equals(f));
  if (d < 0) return { ok: false, reason: "no <IDS|MSG> delimiter frame" };
  if (frames.length < d + 6) return { ok: false, reason: `truncated message: ${frames.length - d - 1} frames after the delimiter, need at least 5` };
  const [sig, header, parent, metadata, content] = frames.slice(d + 1, d + 6) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  if (signer.enabled && sig.length === 0) return { ok: false, reason: "missing signature" };
  if (!signer.verify(sig, [header, parent, metadata, content])) return { ok: false, reason: "invalid signature" };
  let parsed: unknown[];
  try {
    parsed = [header, parent, metadata, content].map((f) => JSON.parse(UTF8.decode(f)) as unknown);
  } catch (e) {
    return { ok: false, reason: `invalid JSON: ${(e as Error).message}` };
  }
  const [h, p, m, c] = parsed;
  if (!isObject(h) || !isObject(p) || !isObject(m) || !isObject(c)) return { ok: false, reason: "header, parent_header, metadata and content must be JSON objects" };
  for (const f of REQUIRED_HEADER_FIELDS) {
    if (typeof h[f] !== "string") return { ok: false, reason: `header field "${f}" missing or not a string` };
  }
  return {
    ok: true,
    delimiter: d,
    signature: Buffer.from(sig).toString("latin1"),
    msg: {
      ids: frames.slice(0, d).map((f) => Uint8Array.from(f)),
      header: h as MessageHeader,
      parent_header: p as Partial<MessageHeader>,
      metadata: m,
      content: c,
      buffers: frames.slice(d + 6).map((f) => Uint8Array.from(f)),
    },
  };
}

/** header, parent_header, metadata and content as JSON bytes, in wire order */
export type Parts = [Uint8Array, Uint8Array, Uint8Array, Uint8Array];

/** The JSON parts of a message; throws what JSON.stringify throws (BigInt, cycles). */
export function encodeParts(msg: Pick<OutgoingMessage, "header" | "parent_header" | "metadata" | "content">, replacer?: (k: string, v: unknown) => unknown): Parts {
  const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o, replacer));
  return [json(msg.header), json(msg.parent_header), json(msg.metadata), json(msg.content)];
}

/** Signs already-encoded parts into the frames a socket sends (routing ids first, as ROUTER expects). */
export function signedFrames(ids: readonly Uint8Array[], parts: Parts, buffers: readonly Uint8Array[], signer: Signer): Uint8Array[] {
  return [...ids, DELIMITER_BYTES, Buffer.from(signer.sign(parts)), ...parts, ...buffers];
}

/** Serializes and signs an outgoing message into its frames. */
export function serialize(msg: OutgoingMessage, signer: Signer): Uint8Array[] {
  return signedFrames(msg.ids, encodeParts(msg), msg.buffers ?? [], signer);
}

/**
 * A message from frames `[ids..., header, parent, metadata, content, buffers...]` that were verified
 * already (the wire process does it before handing them on). Byte frames are copied, so a kept id or
 * buffer does not pin the whole chunk it was read in.
 */
export function decodeVerified(frames: readonly Uint8Array[], idCount: number): JupyterMessage {
  const json = (i: number): Record<string, unknown> => {
    const f = frames[idCount + i]!;
    return JSON.parse(Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString("utf8")) as Record<string, unknown>;
  };
  return {
    ids: frames.slice(0, idCount).map((f) => Uint8Array.from(f)),
    header: json(0) as MessageHeader,
    parent_header: json(1) as Partial<MessageHeader>,
    metadata: json(2),
    content: json(3),
    buffers: frames.slice(idCount + 4).map((f) => Uint8Array.from(f)),
  };
}

/** A received message's frames as decodeVerified reads them: without the delimiter and the signature. */
export function unsignedFrames(frames: readonly Uint8Array[], delimiter: number): Uint8Array[] {
  return [...frames.slice(0, delimiter), ...frames.slice(delimiter + 2)];
}

/** Remembers recent signatures so a captured message cannot be replayed (ipykernel does the same). */
export class ReplayGuard {
  private readonly seen = new Set<string>();
  constructor(private readonly capacity = 1 << 16) {}

  /** false when this signature was seen before */
  admit(signature: string): boolean {
    if (!signature) return true;
    if (this.seen.has(signature)) return false;
    this.seen.add(signature);
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }
}
