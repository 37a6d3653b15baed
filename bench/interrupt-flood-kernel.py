"""One run of the interrupt flood through a real kernel: starts the mlx-ts kernel with jupyter_client, runs
short cells (a synchronous loop, an await then a loop, `1+1`) while it sends interrupt_request on the
control channel about every 15 ms (what JupyterLab's Stop sends with interrupt_mode "message"), then checks
the kernel still answers and a variable set before the flood survived.

    .venv/bin/python bench/interrupt-flood-kernel.py [--interrupts 300] [--limit-s 60]

Needs the mlx-ts kernelspec on JUPYTER_PATH (bench/sigint-flood.mjs --via interrupt_request installs one).
Prints one JSON object: outcome (survived / died / hung), the cells' outcomes, the kernel's exit code and
the end of its log when it did not survive.
"""
import argparse
import json
import queue
import sys
import time

from jupyter_client.manager import KernelManager

CELLS = [
    "let a = 0; for (let i = 0; i < 2e5; i++) a += i; a",
    "await new Promise((r) => setTimeout(r, 2)); let b = 0; for (let i = 0; i < 2e5; i++) b += i; b",
    "1+1",
]


def wait_reply(kc, msg_id, deadline):
    while time.monotonic() < deadline:
        try:
            m = kc.get_shell_msg(timeout=0.2)
        except queue.Empty:
            continue
        if m["parent_header"].get("msg_id") == msg_id:
            return m
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--interrupts", type=int, default=300)
    ap.add_argument("--limit-s", type=float, default=60)
    args = ap.parse_args()

    km = KernelManager(kernel_name="mlx-ts")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    result = {"outcome": "hung", "ok": 0, "interrupted": 0, "other": 0, "interrupts": 0}
    try:
        kc.wait_for_ready(timeout=120)
        deadline = time.monotonic() + args.limit_s
        first = wait_reply(kc, kc.execute("let survivor = 41"), deadline)
        if first is None or first["content"]["status"] != "ok":
            raise RuntimeError(f"the first cell failed: {first and first['content']}")
        sent, k = 0, 0
        next_interrupt = time.monotonic()
        while sent < args.interrupts and time.monotonic() < deadline:
            msg_id = kc.execute(CELLS[k % len(CELLS)], store_history=False)
            k += 1
            reply = None
            while reply is None and time.monotonic() < deadline:
                now = time.monotonic()
                if sent < args.interrupts and now >= next_interrupt:
                    km.interrupt_kernel()
                    sent += 1
                    next_interrupt = now + 0.015
                if not km.is_alive():
                    break
                try:
                    m = kc.get_shell_msg(timeout=0.005)
                except queue.Empty:
                    continue
                if m["parent_header"].get("msg_id") == msg_id:
                    reply = m
            if reply is None:
                break
            c = reply["content"]
            if c["status"] == "ok":
                result["ok"] += 1
            elif c.get("ename") == "InterruptError":
                result["interrupted"] += 1
            else:
                result["other"] += 1
        result["interrupts"] = sent
        if not km.is_alive():
            result["outcome"] = "died"
        elif sent == args.interrupts:
            # what is still in flight may be interrupted too; then the kernel must answer as before
            time.sleep(0.5)
            last = wait_reply(kc, kc.execute("survivor + 1"), time.monotonic() + 30)
            answers = last is not None and last["content"]["status"] == "ok"
            data = None
            if answers:
                try:
                    while True:
                        m = kc.get_iopub_msg(timeout=5)
                        if m["msg_type"] == "execute_result" and m["parent_header"].get("msg_id") == last["parent_header"]["msg_id"]:
                            data = m["content"]["data"].get("text/plain")
                            break
                except queue.Empty:
                    pass
            result["answers"] = answers
            result["survivor"] = data
            result["outcome"] = "survived" if answers and data == "42" else ("died" if not km.is_alive() else "hung")
    except Exception as e:  # noqa: BLE001 - reported in the JSON line
        result["error"] = f"{type(e).__name__}: {e}"
        if not km.is_alive():
            result["outcome"] = "died"
    finally:
        if km.has_kernel and km.provisioner is not None and km.provisioner.process is not None:
            result["exit_code"] = km.provisioner.process.poll()
        kc.stop_channels()
        try:
            km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 - the kernel may be gone already
            pass
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
