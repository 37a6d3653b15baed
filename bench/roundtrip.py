"""Execute round trip of a Jupyter kernel: sends the same cell N times through jupyter_client and times
each request from send to execute_reply (with its iopub idle), after a warm-up.

    .venv/bin/python bench/roundtrip.py [--kernel mlx-ts] [-n 200] [--code "1+1"] [--warmup 5] [--unique]

--unique appends a different comment to every cell (`1+1 // 17`), so a kernel cannot reuse the work it did
for an identical cell (mlx-ts keeps transpiled cells by their text): the fresh-cell case.

Prints one JSON object: kernel, code, n, median_ms, p99_ms, mean_ms, min_ms, max_ms, startup_s.
Any installed kernelspec works (e.g. python3, tslab, javascript), so kernels can be compared like for like.
"""
import argparse
import json
import queue
import statistics
import sys
import time

from jupyter_client.manager import start_new_kernel


def run_once(kc, code, timeout):
    t0 = time.perf_counter()
    msg_id = kc.execute(code, store_history=True)
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content']}")
    # The request is done for a front end once the kernel reports idle for it.
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"):
            break
    return (time.perf_counter() - t0) * 1000.0


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernel", default="mlx-ts", help="kernelspec name (default mlx-ts)")
    ap.add_argument("-n", type=int, default=200, help="timed executions (default 200)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed executions first (default 5)")
    ap.add_argument("--code", default="1+1", help="cell to run (default 1+1)")
    ap.add_argument("--unique", action="store_true", help="make every cell's text different (a trailing comment)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for any one reply")
    args = ap.parse_args()

    t0 = time.perf_counter()
    km, kc = start_new_kernel(kernel_name=args.kernel, startup_timeout=180)
    startup = time.perf_counter() - t0
    try:
        cell = (lambda i: f"{args.code} // {i}") if args.unique else (lambda i: args.code)
        for i in range(args.warmup):
            run_once(kc, cell(-1 - i), args.timeout)
        times = []
        for i in range(args.n):
            times.append(run_once(kc, cell(i), args.timeout))
        times.sort()
    except queue.Empty:
        # A kernel that stops answering is a result too: say where, as JSON, and fail.
        done = len(times) if "times" in locals() else 0
        print(json.dumps({"kernel": args.kernel, "unique": args.unique, "error": f"no reply within {args.timeout:.0f} s after {done} of {args.n} timed cells"}))
        sys.exit(2)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    out = {
        "kernel": args.kernel,
        "code": args.code,
        "unique": args.unique,
        "n": args.n,
        "median_ms": round(statistics.median(times), 3),
        "p99_ms": round(percentile(times, 0.99), 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "min_ms": round(times[0], 3),
        "max_ms": round(times[-1], 3),
        "startup_s": round(startup, 3),
        "command": " ".join([sys.executable.split("/")[-1], *sys.argv]),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
