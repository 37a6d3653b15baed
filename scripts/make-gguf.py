#!/usr/bin/env python3
"""Writes a tiny llama GGUF (format v3) by hand, for the bad-input tests.

  .venv/bin/python scripts/make-gguf.py OUT.gguf [--type F32|F16|Q4_0|Q8_0|Q4_K|Q6_K|IQ2_XXS] [--seed N]

Every tensor is F32 except blk.0.ffn_down.weight, which gets --type (default IQ2_XXS, an i-quant MLX's
GGUF reader does not support; real Q4_K_M files mix such tensors in the same way). With --type F32
the file is a complete, loadable model: the tests use it as the control showing that only the tensor
type makes the other one fail. Metadata carries a small byte-level BPE vocabulary (llama.cpp key
names) so that the tokenizer side loads and the error comes from the weights.

No `gguf` package needed: header, key/value metadata, tensor infos, then 32-byte-aligned data.
"""
from __future__ import annotations

import argparse
import random
import struct
import sys
from pathlib import Path

# ggml_type ids and (block elements, block bytes)
GGML_TYPES = {
    "F32": (0, 1, 4),
    "F16": (1, 1, 2),
    "Q4_0": (2, 32, 18),
    "Q8_0": (8, 32, 34),
    "Q4_K": (12, 256, 144),
    "Q6_K": (14, 256, 210),
    "IQ2_XXS": (16, 256, 66),
}
# GGUF metadata value types
U32, I32, F32, BOOL, STRING, ARRAY = 4, 5, 6, 7, 8, 9
ALIGN = 32

HIDDEN, FF, HEADS, KV_HEADS, LAYERS = 256, 256, 4, 2, 1


def gguf_str(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv(key: str, vtype: int, value) -> bytes:
    out = gguf_str(key) + struct.pack("<I", vtype)
    if vtype == STRING:
        return out + gguf_str(value)
    if vtype == U32:
        return out + struct.pack("<I", value)
    if vtype == I32:
        return out + struct.pack("<i", value)
    if vtype == F32:
        return out + struct.pack("<f", value)
    if vtype == BOOL:
        return out + struct.pack("<?", value)
    raise ValueError(vtype)


def kv_array(key: str, etype: int, values: list) -> bytes:
    out = gguf_str(key) + struct.pack("<I", ARRAY) + struct.pack("<IQ", etype, len(values))
    for v in values:
        out += gguf_str(v) if etype == STRING else struct.pack("<i" if etype == I32 else "<I", v)
    return out


def byte_level_vocab() -> tuple[list[str], list[str]]:
    """GPT-2's 256 byte symbols, a few merges and two control tokens."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    symbols = [chr(c) for _, c in sorted(zip(bs, cs))]
    merges = ["Ġ t", "h e", "Ġt he", "i n", "a n"]
    tokens = symbols + ["Ġt", "he", "Ġthe", "in", "an", "<|endoftext|>", "<|im_end|>"]
    return tokens, merges


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--type", default="IQ2_XXS", choices=sorted(GGML_TYPES))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)

    tokens, merges = byte_level_vocab()
    vocab = len(tokens)
    eos = tokens.index("<|im_end|>")
    meta = [
        kv("general.architecture", STRING, "llama"),
        kv("general.name", STRING, "mlx-ts bad-input fixture"),
        kv("general.alignment", U32, ALIGN),
        kv("llama.block_count", U32, LAYERS),
        kv("llama.context_length", U32, 512),
        kv("llama.embedding_length", U32, HIDDEN),
        kv("llama.feed_forward_length", U32, FF),
        kv("llama.attention.head_count", U32, HEADS),
        kv("llama.attention.head_count_kv", U32, KV_HEADS),
        kv("llama.attention.layer_norm_rms_epsilon", F32, 1e-5),
        kv("llama.rope.freq_base", F32, 10000.0),
        kv("llama.vocab_size", U32, vocab),
        kv("tokenizer.ggml.model", STRING, "gpt2"),
        kv("tokenizer.ggml.pre", STRING, "default"),
        kv_array("tokenizer.ggml.tokens", STRING, tokens),
        kv_array("tokenizer.ggml.token_type", I32, [1] * (vocab - 2) + [3, 3]),
        kv_array("tokenizer.ggml.merges", STRING, merges),
        kv("tokenizer.ggml.bos_token_id", U32, tokens.index("<|endoftext|>")),
        kv("tokenizer.ggml.eos_token_id", U32, eos),
    ]

    head_dim = HIDDEN // HEADS
    # (name, GGUF dims with ne0 = the row length, i.e. HF [out, in] -> [in, out])
    tensors: list[tuple[str, list[int]]] = [("token_embd.weight", [HIDDEN, vocab])]
    for i in range(LAYERS):
        p = f"blk.{i}."
        tensors += [
            (p + "attn_norm.weight", [HIDDEN]),
            (p + "attn_q.weight", [HIDDEN, HEADS * head_dim]),
            (p + "attn_k.weight", [HIDDEN, KV_HEADS * head_dim]),
            (p + "attn_v.weight", [HIDDEN, KV_HEADS * head_dim]),
            (p + "attn_output.weight", [HEADS * head_dim, HIDDEN]),
            (p + "ffn_norm.weight", [HIDDEN]),
            (p + "ffn_gate.weight", [HIDDEN, FF]),
            (p + "ffn_up.weight", [HIDDEN, FF]),
            (p + "ffn_down.weight", [FF, HIDDEN]),
        ]
    tensors += [("output_norm.weight", [HIDDEN]), ("output.weight", [HIDDEN, vocab])]

    infos = b""
    blobs: list[bytes] = []
    offset = 0
    for name, dims in tensors:
        tname = args.type if name == "blk.0.ffn_down.weight" else "F32"
        type_id, block_elems, block_bytes = GGML_TYPES[tname]
        count = 1
        for d in dims:
            count *= d
        if tname == "F32":
            if name.endswith("norm.weight"):
                data = struct.pack(f"<{count}f", *([1.0] * count))
            else:
                data = struct.pack(f"<{count}f", *(rng.gauss(0.0, 0.05) for _ in range(count)))
        elif tname == "F16":
            data = struct.pack(f"<{count}e", *(rng.gauss(0.0, 0.05) for _ in range(count)))
        else:
            if dims[0] % block_elems:
                raise ValueError(f"{name}: row length {dims[0]} is not a multiple of {tname}'s block of {block_elems}")
            data = bytes(rng.getrandbits(8) for _ in range(count // block_elems * block_bytes))
        infos += gguf_str(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", type_id, offset)
        pad = (-len(data)) % ALIGN
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad

    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta)) + b"".join(meta) + infos
    header += b"\0" * ((-len(header)) % ALIGN)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_bytes(header + b"".join(blobs))
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
