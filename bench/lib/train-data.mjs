// Seeded training text for the training benches and tests: the same examples on every run and machine.
import { mulberry32 } from "./stats.mjs";

const WORDS = "the a model learns small steps from data while loss goes down slowly and then faster over time on every device we have".split(" ");

/** `n` JSONL text examples of about `seq` words each (roughly a token per word for these words). */
export function jsonl(n, seq) {
  const rnd = mulberry32(20);
  return Array.from({ length: n }, () => JSON.stringify({ text: Array.from({ length: seq - 2 }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(" ") })).join("\n") + "\n";
}
