// qwen2-moe-tiny-bf16 (scripts/make-fixtures.py: 8 experts, top-2, a shared expert behind a sigmoid gate,
// q/k/v biases) through our engine against mlx-lm. On the CPU backend mlx-lm cannot run the unquantized
// MoE in bfloat16 (MLX's CPU GatherMM is float32-only), so there only the float32 checks run; on a GPU
// all of them do. The 4-bit and 8-bit checkpoints: qwen2-moe-{4,8}bit.test.ts.
import { loadNative } from "../../kernel/engine/native.js";
import { parityFor } from "./suite.js";

parityFor("qwen2-moe-tiny-bf16", { nativeDtype: loadNative().runtime().backend !== "cpu" });
