// qwen3-tiny-8bit (scripts/make-fixtures.py) through our engine against mlx-lm on the same files.
import { parityFor } from "./suite.js";

parityFor("qwen3-tiny-8bit");
