// A qwen3_moe checkpoint written as a GGUF in llama.cpp's layout (qwen3moe: ffn_gate_inp, stacked
// ffn_{gate,up,down}_exps, dense ffn_* where decoder_sparse_step leaves a layer dense) loads and gives
// mlx-lm's logits on the original safetensors; a MoE tensor we do not map is refused by name.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { NativeAddon } from "../../kernel/engine/native-types.js";
import { addon, argmax, ensureFixtures, expectCode, fixtures, load, mlxlmLogits, py, relErr } from "./native-helpers.js";

const IDS = [1, 17, 200, 45, 3, 99, 128, 7, 64, 250, 12, 33];
let mlx: NativeAddon;
let src: string;

beforeAll(() => {
  ensureFixtures();
  mlx = addon();
  src = join(fixtures, "qwen3_moe-fp32");
});

describe("qwen3moe GGUF", () => {
  it("loads llama.cpp's MoE layout and gives mlx-lm's logits on the safetensors it came from", { timeout: 300_000 }, async () => {
    const file = join(fixtures, "qwen3_moe.gguf");
    py(TO_GGUF, [src, file]);
    const m = await load(mlx, file, "float32");
    try {
      const info = m.info();
      expect(info.architecture).toBe("qwen3_moe");
      expect(info.modelType).toBe("qwen3_moe");
      expect(info.config["norm_topk_prob"]).toBe(false);
      const ours = await m.logits(Int32Array.from(IDS));
      const ref = mlxlmLogits(src, IDS);
      expect(relErr(ours, ref)).toBeLessThan(1e-3);
      expect(argmax(ours)).toBe(argmax(ref));
    } finally {
      m.dispose();
    }
  });

  it("refuses a MoE tensor it does not map (a shared expert), naming it", async () => {
    const file = join(fixtures, "qwen3_moe-shexp.gguf");
    py(TO_GGUF, [src, file, "--shared-expert"]);
    const e = await expectCode(load(mlx, file), "E_UNSUPPORTED_ARCH");
    expect(e.message).toContain("blk.1.ffn_gate_shexp.weight");
    expect(e.message).toContain("not supported yet");
  });
});

const TO_GGUF = String.raw`
import json, sys
from pathlib import Path
import mlx.core as mx
src, out = Path(sys.argv[1]), sys.argv[2]
cfg = json.loads((src / "config.json").read_text())
w = mx.load(str(src / "model.safetensors"))
roles = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
         "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
         "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
         "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down", "mlp.gate": "ffn_gate_inp",
         "mlp.switch_mlp.gate_proj": "ffn_gate_exps", "mlp.switch_mlp.up_proj": "ffn_up_exps",
         "mlp.switch_mlp.down_proj": "ffn_down_exps"}
top = {"model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output"}
g = {}
for k, v in w.items():
    base, sfx = k.rsplit(".", 1)
    if base in top:
        g[top[base] + "." + sfx] = v
        continue
    _, _, layer, rest = base.split(".", 3)
    g[f"blk.{layer}.{roles[rest]}.{sfx}"] = v
if "--shared-expert" in sys.argv:
    g["blk.1.ffn_gate_shexp.weight"] = mx.zeros((cfg["moe_intermediate_size"], cfg["hidden_size"]))
a = "qwen3moe."
u = lambda x: mx.array(x, dtype=mx.uint32)
meta = {"general.architecture": "qwen3moe", a + "block_count": u(cfg["num_hidden_layers"]),
        a + "embedding_length": u(cfg["hidden_size"]), a + "feed_forward_length": u(cfg["intermediate_size"]),
        a + "attention.head_count": u(cfg["num_attention_heads"]), a + "attention.head_count_kv": u(cfg["num_key_value_heads"]),
        a + "attention.key_length": u(cfg["head_dim"]), a + "context_length": u(cfg["max_position_embeddings"]),
        a + "attention.layer_norm_rms_epsilon": mx.array(cfg["rms_norm_eps"], dtype=mx.float32),
        a + "rope.freq_base": mx.array(cfg["rope_theta"], dtype=mx.float32),
        a + "expert_count": u(cfg["num_experts"]), a + "expert_used_count": u(cfg["num_experts_per_tok"]),
        a + "expert_feed_forward_length": u(cfg["moe_intermediate_size"]),
        a + "expert_weights_norm": mx.array(cfg["norm_topk_prob"], dtype=mx.uint8),
        "tokenizer.ggml.tokens": [f"t{i}" for i in range(cfg["vocab_size"])]}
mx.save_gguf(out, g, meta)
`;
