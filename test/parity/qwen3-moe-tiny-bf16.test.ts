// qwen3-moe-tiny-bf16 (scripts/make-fixtures.py: 8 experts, top-2, layer 0 dense) through our engine
// against mlx-lm. On the CPU backend mlx-lm cannot run it in bfloat16 (MLX's CPU GatherMM is
// float32-only), so there only the float32 checks run; on a GPU all of them do.
import { loadNative } from "../../kernel/engine/native.js";
import { parityFor } from "./suite.js";

parityFor("qwen3-moe-tiny-bf16", { nativeDtype: loadNative().runtime().backend !== "cpu" });
