// llama-tiny-4bit (scripts/make-fixtures.py) through our engine against mlx-lm on the same files.
import { parityFor } from "./suite.js";

parityFor("llama-tiny-4bit");
