"""Streaming overhead through the kernel: runs `%%generate` on the mlx-ts kernel through jupyter_client and
compares the token rate the client sees (tokens over the time between the first streamed update that holds
text and the final update) with the generation tok/s the engine itself reports in the stats line of that
same generation. Prints one JSON object with every run.

    .venv/bin/python bench/stream_overhead.py [--model smollm2] [--max-tokens 128] [--runs 3]
"""
import argparse
import json
import re
import statistics
import time

from jupyter_client.manager import start_new_kernel

STATS = re.compile(r"generation: (\d+) tokens, ([\d.]+) tok/s")


def text_of(content):
    return content.get("data", {}).get("text/plain", "")


def run(kc, model, max_tokens, timeout=600):
    code = f"%%generate --model {model} --max-tokens {max_tokens} --temp 0\nWrite a long story about a lighthouse keeper."
    msg_id = kc.execute(code)
    first = last = None
    final = ""
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        now = time.perf_counter()
        if kind in ("display_data", "update_display_data"):
            text = text_of(msg["content"])
            if first is None and text.strip():
                first = now
            last = now
            final = text
        elif kind == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            break
    m = STATS.search(final)
    if not m or first is None:
        raise RuntimeError(f"no stats line in the final output: {final[-300:]!r}")
    tokens, engine_tps = int(m.group(1)), float(m.group(2))
    client_tps = (tokens - 1) / (last - first) if last > first else float("nan")
    return {"tokens": tokens, "engine_tps": engine_tps, "client_tps": client_tps,
            "overhead": 1 - client_tps / engine_tps if engine_tps else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", default="mlx-ts")
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    km, kc = start_new_kernel(kernel_name=a.kernel, startup_timeout=120)
    try:
        reply = kc.execute_interactive(f"%load {a.model}", timeout=600)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"%load {a.model} failed: {reply['content']}")
        run(kc, a.model, 8)  # warm-up
        runs = [run(kc, a.model, a.max_tokens) for _ in range(a.runs)]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    overheads = [r["overhead"] for r in runs if r["overhead"] is not None]
    # a fresh line: the kernel shares our stdout and may leave a progress bar without a newline
    print("\n" + json.dumps({"kernel": a.kernel, "model": a.model, "max_tokens": a.max_tokens, "runs": runs,
                      "median_overhead": statistics.median(overheads) if overheads else None,
                      "median_engine_tps": statistics.median(r["engine_tps"] for r in runs),
                      "median_client_tps": statistics.median(r["client_tps"] for r in runs)}))


if __name__ == "__main__":
    main()
