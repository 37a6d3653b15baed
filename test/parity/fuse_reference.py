"""mlx-lm's side of test/parity/fuse.test.ts.

compare:  for each job {model, adapter, ours, theirs, dequantize}: mlx_lm.fuse (its main(), as the
          `mlx_lm fuse` command runs it) writes `theirs`; then every tensor of `ours` and `theirs` is
          compared, and their config.json files. Prints one JSON line with a report per job.
generate: mlx_lm.utils.load(model) and --steps greedy tokens after --ids.
"""
import argparse
import glob
import json
import sys

import mlx.core as mx
from mlx_lm import fuse
from mlx_lm.generate import generate_step
from mlx_lm.utils import load

p = argparse.ArgumentParser()
p.add_argument("mode", choices=["compare", "generate"])
p.add_argument("--jobs", default="[]")
p.add_argument("--model")
p.add_argument("--ids", default="")
p.add_argument("--steps", type=int, default=32)
a = p.parse_args()

if a.mode == "generate":
    model, _ = load(a.model)
    prompt = mx.array([int(t) for t in a.ids.split(",")], mx.int32)
    out = [int(t) for (t, _), _ in zip(generate_step(prompt, model), range(a.steps))]
    print(json.dumps({"tokens": out}))
    raise SystemExit


def tensors(d):
    w = {}
    for f in glob.glob(f"{d}/model*.safetensors"):
        w.update(mx.load(f))
    return w


reports = []
for job in json.loads(a.jobs):
    sys.argv = ["mlx_lm.fuse", "--model", job["model"], "--adapter-path", job["adapter"], "--save-path", job["theirs"]]
    if job.get("dequantize"):
        sys.argv.append("--dequantize")
    fuse.main()
    ours, theirs = tensors(job["ours"]), tensors(job["theirs"])
    differ = []
    for k in sorted(set(ours) & set(theirs)):
        x, y = ours[k], theirs[k]
        if x.shape != y.shape or x.dtype != y.dtype or not mx.array_equal(x, y).item():
            d = mx.abs(x.astype(mx.float32) - y.astype(mx.float32)).max().item() if x.shape == y.shape else None
            differ.append({"name": k, "ours": [list(x.shape), str(x.dtype)], "theirs": [list(y.shape), str(y.dtype)], "max_abs_diff": d})
    co = json.load(open(f"{job['ours']}/config.json"))
    ct = json.load(open(f"{job['theirs']}/config.json"))
    reports.append({
        "tensors": len(theirs),
        "only_ours": sorted(set(ours) - set(theirs)),
        "only_theirs": sorted(set(theirs) - set(ours)),
        "differ": differ,
        "config_differ": sorted(k for k in set(co) | set(ct) if co.get(k) != ct.get(k)),
        "quantization": [co.get("quantization"), ct.get("quantization")],
    })
print(json.dumps(reports))
