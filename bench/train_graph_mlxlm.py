"""mlx-lm's side of bench/train-graph.mjs: the graph of one LoRA training step, as DOT files, built the way
bench/finetune_mlxlm.py sets training up (load, freeze, linear_to_lora_layers, Adam) and
mlx_lm.tuner.trainer.train steps (nn.value_and_grad of default_loss, optimizer.update, the step compiled with
the model and optimizer state as its inputs and outputs). Nothing is evaluated: the files are the lazy graphs.

Writes <out>.grads.dot (loss, ntoks, grads), <out>.step.dot (the step with Adam's update, uncompiled) and
<out>.compiled.dot (the same step through mx.compile, after MLX's simplification and fusion); prints one JSON line.
"""
import argparse
import json
from functools import partial

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import mlx_lm
from mlx.utils import tree_flatten
from mlx_lm.tuner.trainer import default_loss
from mlx_lm.tuner.utils import linear_to_lora_layers
from mlx_lm.utils import load

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--out", required=True, help="path prefix of the DOT files")
p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
p.add_argument("--batch", type=int, default=4)
p.add_argument("--length", type=int, default=129, help="padded batch length (1 + a multiple of 32, as iterate_batches pads)")
p.add_argument("--rank", type=int, default=8)
p.add_argument("--scale", type=float, default=20.0)
p.add_argument("--num-layers", type=int, default=16)
p.add_argument("--lr", type=float, default=1e-5)
p.add_argument("--gpu-paths", action="store_true",
               help="build the graph mlx-lm builds on a GPU (nn.losses.cross_entropy's mx.fast.cross_entropy); on the CPU stream MLX still runs it unfused")
a = p.parse_args()

mx.set_default_device(mx.cpu if a.device == "cpu" else mx.gpu)
mx.random.seed(0)
if a.gpu_paths:
    # cross_entropy takes its fused branch when mx.default_device() == mx.gpu; that module alone sees a GPU default
    import types

    import mlx.nn.losses as losses

    gpu_mx = types.SimpleNamespace(**{k: getattr(mx, k) for k in dir(mx) if not k.startswith("__")})
    gpu_mx.default_device = lambda: mx.gpu
    losses.mx = gpu_mx


def setup():
    model, _ = load(a.model)
    model.freeze()
    linear_to_lora_layers(model, a.num_layers, {"rank": a.rank, "scale": a.scale, "dropout": 0.0})
    model.train()
    opt = optim.Adam(learning_rate=a.lr)
    opt.init(model.trainable_parameters())
    mx.eval(model.parameters(), opt.state)
    return model, opt


# One batch as iterate_batches makes it: tokens [B, T] and (offset, length) per row; the values do not shape the graph.
B, T = a.batch, a.length
batch = mx.arange(B * T, dtype=mx.int32).reshape(B, T) % 1000
lengths = mx.array([[0, T - 1 - 3 * i] for i in range(B)], dtype=mx.int32)
mx.eval(batch, lengths)


def write(name, outputs):
    with open(f"{a.out}.{name}.dot", "w") as f:
        mx.export_to_dot(f, *outputs)


def state_outputs(model, opt, lvalue, toks):
    return [lvalue, toks] + [v for _, v in tree_flatten(model.trainable_parameters())] + [v for _, v in tree_flatten(opt.state)]


# (loss, ntoks, grads): trainer.train's loss_value_and_grad
model, opt = setup()
(lvalue, toks), grad = nn.value_and_grad(model, default_loss)(model, batch, lengths)
write("grads", [lvalue, toks] + [v for _, v in tree_flatten(grad)])


def step_fn(model, opt, loss_value_and_grad):
    # trainer.train's step with prev_grad=None, do_update=True, grad_accumulation_steps=1 (average_gradients is
    # the identity on one process)
    def step(batch, lengths):
        (lvalue, toks), grad = loss_value_and_grad(model, batch, lengths)
        opt.update(model, grad)
        return lvalue, toks

    return step


# the step with the optimizer update, uncompiled
model, opt = setup()
lvalue, toks = step_fn(model, opt, nn.value_and_grad(model, default_loss))(batch, lengths)
write("step", state_outputs(model, opt, lvalue, toks))

# the same step compiled as trainer.train compiles it (state in and out)
model, opt = setup()
state = [model.state, opt.state, mx.random.state]
step = partial(mx.compile, inputs=state, outputs=state)(step_fn(model, opt, nn.value_and_grad(model, default_loss)))
lvalue, toks = step(batch, lengths)
write("compiled", state_outputs(model, opt, lvalue, toks))

print(json.dumps({"mlx": mx.__version__, "mlx_lm": mlx_lm.__version__, "device": str(mx.default_device()), "gpu_paths": a.gpu_paths, "batch": B, "length": T,
                  "trainable": len(tree_flatten(model.trainable_parameters()))}))
