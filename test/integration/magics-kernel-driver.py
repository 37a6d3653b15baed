"""Drives a real mlx-ts kernel with jupyter_client for the magic tests.

Reads {"out": path, "cells": [{"code": str, "interrupt_after": int?, "timeout": float?}]} on stdin; runs
each cell in one kernel and writes to `out` (not stdout, which the kernel process shares) a JSON list: per cell, the execute_reply content and every iopub message
(msg_type, content) whose parent is that cell. With interrupt_after=N the kernel gets interrupt_kernel()
once N display_data/update_display_data messages of that cell have arrived.
"""
import json
import math
import sys
import time

from jupyter_client.manager import start_new_kernel


def run_cell(km, kc, cell):
    msg_id = kc.execute(cell["code"], allow_stdin=False)
    deadline = time.time() + cell.get("timeout", 240)
    iopub, reply, idle = [], None, False
    displays, interrupted = 0, False
    while time.time() < deadline and not (idle and reply is not None):
        try:
            msg = kc.get_iopub_msg(timeout=0.2)
            if msg["parent_header"].get("msg_id") == msg_id:
                iopub.append({"msg_type": msg["msg_type"], "content": msg["content"], "t": time.time()})
                if msg["msg_type"] in ("display_data", "update_display_data"):
                    displays += 1
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
        except Exception:
            pass
        if not interrupted and "interrupt_after" in cell and displays >= cell["interrupt_after"]:
            km.interrupt_kernel()
            interrupted = time.time()
        if reply is None:
            try:
                r = kc.get_shell_msg(timeout=0.01)
                if r["parent_header"].get("msg_id") == msg_id:
                    reply = r["content"]
            except Exception:
                pass
    # Updates that land right after the reply (a stream's final render) belong to the cell too.
    settle = time.time() + cell.get("settle", 0.5)
    while time.time() < settle:
        try:
            msg = kc.get_iopub_msg(timeout=0.1)
            if msg["parent_header"].get("msg_id") == msg_id:
                iopub.append({"msg_type": msg["msg_type"], "content": msg["content"], "t": time.time()})
        except Exception:
            pass
    return {"code": cell["code"], "reply": reply, "iopub": iopub, "interrupted_at": interrupted or None}


def clean(v):
    """Plain JSON for the TS side: NaN/Infinity become null, anything else odd becomes its str()."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def main():
    spec = json.load(sys.stdin)
    km, kc = start_new_kernel(kernel_name="mlx-ts", startup_timeout=120)
    try:
        out = [run_cell(km, kc, c) for c in spec["cells"]]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    with open(spec["out"], "w") as f:
        json.dump(clean(out), f, allow_nan=False)


if __name__ == "__main__":
    main()
