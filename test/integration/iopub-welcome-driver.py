"""Drives a real mlx-ts kernel through jupyter_client to check JEP 65's iopub_welcome; prints one JSON object.

Run by kernel-iopub-welcome.test.ts with JUPYTER_PATH pointing at a temporary kernelspec.
Client A subscribes as soon as the kernel starts; a cell runs; client B subscribes later; A runs another
cell (an old client sees B's welcome too and must not care); then a raw SUB socket subscribed to a topic.
"""
import json
import queue
import time

import zmq
from jupyter_client.manager import KernelManager


def first_iopub(kc, timeout=90.0):
    msg = kc.get_iopub_msg(timeout=timeout)
    return {"msg_type": msg["msg_type"], "content": msg["content"], "parent_header": msg["parent_header"]}


def run_cell(kc, code, timeout=60.0):
    """Executes code and returns (reply status, iopub types of this request, other iopub types seen meanwhile)."""
    msg_id = kc.execute(code)
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    mine, others = [], []
    while True:
        m = kc.get_iopub_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") == msg_id:
            mine.append(m["msg_type"] if m["msg_type"] != "status" else f"status:{m['content']['execution_state']}")
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
        else:
            others.append(m["msg_type"])
    return reply["content"]["status"], mine, others


def drain(kc, seconds):
    got = []
    end = time.time() + seconds
    while time.time() < end:
        try:
            got.append(kc.get_iopub_msg(timeout=0.1)["msg_type"])
        except queue.Empty:
            pass
    return got


def main():
    out = {}
    km = KernelManager(kernel_name="mlx-ts")
    km.start_kernel()
    try:
        a = km.client()
        a.start_channels()
        out["a_first"] = first_iopub(a)
        a.wait_for_ready(timeout=120)
        out["a_cell"] = run_cell(a, "1 + 1")

        b = km.client()
        b.start_channels()
        out["b_first"] = first_iopub(b)
        out["a_meanwhile"] = drain(a, 0.5)
        out["a_cell_after_b"] = run_cell(a, "2 + 2")

        # A subscriber to one topic gets a welcome whose first frame is that topic.
        ctx = zmq.Context.instance()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"kernel.topic")
        sub.connect(f"{km.transport}://{km.ip}:{km.iopub_port}")
        if sub.poll(30_000):
            frames = sub.recv_multipart()
            idents, rest = km.session.feed_identities(frames)
            msg = km.session.deserialize(rest)
            out["topic"] = {"idents": [i.decode() for i in idents], "msg_type": msg["msg_type"], "content": msg["content"]}
        else:
            out["topic"] = None
        sub.close(0)
        b.stop_channels()
        a.stop_channels()
    finally:
        km.shutdown_kernel(now=False)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
