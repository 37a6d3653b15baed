// qwen2-moe-tiny-8bit (mlx-lm's own 8-bit quantization of qwen2-moe-tiny-bf16, routers and shared-expert
// gates included) through our engine against mlx-lm.
import { parityFor } from "./suite.js";

parityFor("qwen2-moe-tiny-8bit");
