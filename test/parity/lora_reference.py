"""mlx-lm's side of test/parity/lora.test.ts.

train:    LoRA layers as linear_to_lora_layers places them, their initial values written to --init-out,
          then mlx_lm.tuner.trainer.train on mlx-lm's own dataset loader (--data dir with train.jsonl)
          with np.random.seed(--seed) as mlx_lm.lora does; prints the per-step losses and the batches,
          and saves the trained adapter in mlx_lm.lora's layout to --adapter-out. With valid.jsonl in --data,
          trainer.train evaluates it (--val-batches, --steps-per-eval) and the validation losses are printed too.
generate: mlx_lm.utils.load(model, adapter_path=...) and --steps greedy tokens after --ids.
"""
import argparse
import os
import json
import types
from pathlib import Path

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
from mlx.utils import tree_flatten
from mlx_lm.generate import generate_step
from mlx_lm.tuner.datasets import CacheDataset, load_dataset
from mlx_lm.tuner.trainer import TrainingArgs, TrainingCallback, iterate_batches, train
from mlx_lm.tuner.utils import linear_to_lora_layers
from mlx_lm.utils import load, save_config

p = argparse.ArgumentParser()
p.add_argument("mode", choices=["train", "generate"])
p.add_argument("--model", required=True)
p.add_argument("--float32", action="store_true")
p.add_argument("--data")
p.add_argument("--init-out")
p.add_argument("--adapter-out")
p.add_argument("--adapter-path")
p.add_argument("--rank", type=int, default=8)
p.add_argument("--scale", type=float, default=20.0)
p.add_argument("--num-layers", type=int, default=16)
p.add_argument("--keys", default="")
p.add_argument("--iters", type=int, default=10)
p.add_argument("--batch", type=int, default=4)
p.add_argument("--grad-accum", type=int, default=1)
p.add_argument("--lr", type=float, default=1e-5)
p.add_argument("--optimizer", default="adam")
p.add_argument("--max-seq-len", type=int, default=2048)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--val-batches", type=int, default=25)
p.add_argument("--steps-per-eval", type=int, default=200)
p.add_argument("--ids", default="")
p.add_argument("--steps", type=int, default=32)
a = p.parse_args()

model, tok = load(a.model, adapter_path=a.adapter_path)
if a.float32:
    model.set_dtype(mx.float32)

if a.mode == "generate":
    prompt = mx.array([int(t) for t in a.ids.split(",")], mx.int32)
    out = [int(t) for (t, _), _ in zip(generate_step(prompt, model), range(a.steps))]
    print(json.dumps({"tokens": out}))
    raise SystemExit

np.random.seed(a.seed)
mx.random.seed(a.seed)
model.freeze()
lora = {"rank": a.rank, "scale": a.scale, "dropout": 0.0}
if a.keys:
    lora["keys"] = a.keys.split(",")
linear_to_lora_layers(model, a.num_layers, lora)
# written under another name and renamed, so the test (which starts training from it while this process
# trains too) never reads half a file
part = a.init_out + ".part.safetensors"
mx.save_safetensors(part, dict(tree_flatten(model.trainable_parameters())))
os.replace(part, a.init_out)

args = types.SimpleNamespace(data=a.data, train=True, test=False, mask_prompt=False)
train_set, valid_set, _ = load_dataset(args, tok)

batches = []


def recording_batches(**kw):
    for batch, lengths in iterate_batches(**kw):
        if kw.get("loop"):  # the training iterator; evaluate() iterates without loop
            batches.append({"tokens": np.array(batch).tolist(), "lengths": np.array(lengths).tolist()})
        yield batch, lengths


losses = []
val_losses = []


class Record(TrainingCallback):
    def on_train_loss_report(self, info):
        losses.append(info["train_loss"])

    def on_val_loss_report(self, info):
        val_losses.append({"step": info["iteration"] + 1, "loss": info["val_loss"]})


opt = (optim.AdamW if a.optimizer == "adamw" else optim.Adam)(learning_rate=a.lr)
targs = TrainingArgs(batch_size=a.batch, iters=a.iters, steps_per_report=1, steps_per_save=10**9, max_seq_length=a.max_seq_len,
                     grad_accumulation_steps=a.grad_accum, val_batches=a.val_batches, steps_per_eval=a.steps_per_eval, adapter_file=str(Path(a.adapter_out) / "adapters.safetensors"))
Path(a.adapter_out).mkdir(parents=True, exist_ok=True)
train(model, opt, CacheDataset(train_set), CacheDataset(valid_set) if len(valid_set) else None, targs, iterate_batches=recording_batches, training_callback=Record())
save_config({"fine_tune_type": "lora", "num_layers": a.num_layers, "lora_parameters": lora}, Path(a.adapter_out) / "adapter_config.json")
print(json.dumps({"losses": losses, "batches": batches[: a.iters], "val_losses": val_losses}))
