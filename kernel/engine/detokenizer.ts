// Incremental detokenization: text for each new token that never splits a UTF-8 character.
import type { ModelTokenizer } from "./tokenizer.js";

/** The part of a tokenizer streaming needs (ModelTokenizer implements it). */
export interface DetokenizerSource {
  readonly byteLevel: boolean;
  tokenBytes(id: number): Uint8Array;
  decode(ids: number[], skipSpecialTokens?: boolean): string;
}

export interface StreamingDetokenizer {
  /** Text made complete by this token ("" while a multi-byte character is still incomplete). */
  add(id: number): string;
  /** Whatever is still held back (an incomplete sequence becomes U+FFFD, as a full decode would). */
  flush(): string;
}

/**
 * Byte-level BPE: tokens map to raw bytes, and a streaming UTF-8 decoder holds back incomplete
 * sequences -- the same idea as mlx-lm's BPEStreamingDetokenizer, without re-decoding the tail.
 */
class ByteLevelDetokenizer implements StreamingDetokenizer {
  private readonly utf8 = new TextDecoder("utf-8");
  constructor(private readonly src: DetokenizerSource) {}
  add(id: number): string {
    return this.utf8.decode(this.src.tokenBytes(id), { stream: true });
  }
  flush(): string {
    return this.utf8.decode();
  }
}

/**
 * Any other tokenizer: decode the tokens since the last clean cut and emit the new suffix, holding
 * back text that ends in U+FFFD (an incomplete byte-fallback sequence).
 */
class DiffDetokenizer implements StreamingDetokenizer {
  private pending: number[] = [];
  private emitted = 0; // characters of decode(pending) already emitted
  constructor(private readonly src: DetokenizerSource) {}
  add(id: number): string {
    this.pending.push(id);
    const text = this.src.decode(this.pending);
    if (text.endsWith("\uFFFD")) return "";
    const out = text.slice(this.emitted);
    // Keep the last token as context so decoders that strip a leading space see the same as a full decode.
    if (text.length > 0 && this.pending.length > 1) {
      const last = this.pending[this.pending.length - 1];
      const lastText = this.src.decode([last]);
      if (text.endsWith(lastText)) {
        this.pending = [last];
        this.emitted = lastText.length;
        return out;
      }
    }
    this.emitted = text.length;
    return out;
  }
  flush(): string {
    const text = this.src.decode(this.pending);
    const out = text.slice(this.emitted);
    this.pending = [];
    this.emitted = 0;
    return out;
  }
}

export function createDetokenizer(src: DetokenizerSource | ModelTokenizer): StreamingDetokenizer {
  return src.byteLevel ? new ByteLevelDetokenizer(src) : new DiffDetokenizer(src);
}
