// llama-tiny-bf16 (scripts/make-fixtures.py) through our engine against mlx-lm on the same files.
import { parityFor } from "./suite.js";

parityFor("llama-tiny-bf16");
