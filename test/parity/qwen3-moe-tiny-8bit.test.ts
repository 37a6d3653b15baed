// qwen3-moe-tiny-8bit (scripts/make-fixtures.py: 8 experts, top-2, layer 0 dense) through our engine against mlx-lm.
import { parityFor } from "./suite.js";

parityFor("qwen3-moe-tiny-8bit");
