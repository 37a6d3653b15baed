// qwen2-moe-tiny-4bit (mlx-lm's own 4-bit quantization of qwen2-moe-tiny-bf16, routers and shared-expert
// gates included) through our engine against mlx-lm.
import { parityFor } from "./suite.js";

parityFor("qwen2-moe-tiny-4bit");
