// Summaries and the markdown table of bench/engine-vs-mlxlm.mjs.

/** median, min, max of finite numbers (null when none). */
export function summarize(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

/** "123.4 (118.0–130.2)": median and range. */
export function fmt(s, digits = 1) {
  if (!s) return "n/a";
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/** A small deterministic PRNG (mulberry32): numbers in [0, 1), the same on every run and machine. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Prompt ids both backends receive. */
export function randomIds(n, vocab, seed = 0) {
  const next = mulberry32(seed);
  return Array.from({ length: n }, () => Math.floor(next() * vocab));
}

export function markdownTable(rows) {
  const head = ["backend", "model", "prompt", "gen", "runs", "prefill tok/s", "decode tok/s", "TTFT ms", "peak MB", "command"];
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.backend,
        r.model,
        r.promptTokens,
        r.genTokens,
        r.runs,
        fmt(r.prefillTps),
        fmt(r.decodeTps),
        fmt(r.ttftMs, 0),
        fmt(r.peakMB, 0),
        `\`${r.command}\``,
      ].join(" | ")} |`,
    );
  }
  return lines.join("\n");
}
