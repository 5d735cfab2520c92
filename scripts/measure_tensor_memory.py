#!/usr/bin/python3
"""Measure the peak bytes of live PyTorch tensors of inference and of one training step on CPU.

Usage:
    /usr/bin/python3 scripts/measure_tensor_memory.py [--out data/validation/tensor_memory_rows.csv]
        [--only MODEL ...] [--validate-only]

Needs Debian's python3 with torch 1.13 and torchvision 0.14 (no network: random weights). The models
are the builders of tests/fixtures/export_models.py, so each row matches an ONNX fixture
(build/fixtures/MODEL.onnx) perfcast predicts from.

Method: torch.profiler with profile_memory=True records every allocation and free of PyTorch's CPU
allocator while profiling (requested sizes, not the allocator's or malloc's rounding), each with
the running total of bytes allocated since profiling began and not yet freed. The peak of that
total is the peak of tensors created during the measured region; the tensors alive before it and
still alive after it (parameters, buffers, gradients, optimizer state, input, target) are added by
summing their distinct storages. Tensors only: no CUDA context, no cuDNN/cuBLAS workspace, no
allocator fragmentation or caching, no interpreter or library memory. oneDNN's scratch memory for
CPU convolutions goes through the same allocator (ATen registers it with ideep) and is counted.

* inference: model.eval(), torch.no_grad(), one forward (after one warm-up forward).
* training: model.train(), one step = zero_grad() (torch 1.13 default: gradients kept and zeroed),
  forward, loss (cross-entropy on class logits, else the output's mean), backward, optimizer.step();
  measured on the second step, so gradients and optimizer state already exist (steady state).
  Optimizers: SGD momentum 0.9 (one state tensor per parameter) and Adam (two).
"""

import argparse
import csv
import datetime
import os
import platform
import sys
import time

import torch
import torch.nn as nn
import torchvision
from torch.profiler import ProfilerActivity, profile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import export_models  # noqa: E402  (the fixtures' model builders)

# model: batch sizes. Small inputs, few-second runs on one thread of a generic-BLAS CPU build.
DEFAULT_MODELS = {
    "resnet18": [1, 8, 32],
    "resnet50": [1, 8],
    "mobilenet_v2": [1, 8, 32],
    "mobilenet_v3_large": [1, 8, 32],
    "efficientnet_b0": [1, 8],
    "squeezenet1_0": [1, 8, 32],
    "shufflenet_v2_x1_0": [1, 8, 32],
    "mnasnet1_0": [1, 8, 32],
    "regnet_y_400mf": [1, 8, 32],
    "googlenet": [1, 8],
    "densenet121": [1, 4],
    "alexnet": [1, 8, 32],
    "convnext_tiny": [1, 4],
    "custom_convtranspose": [1, 8, 32],
    "tiny_encoder": [1, 8, 32],
    "einsum_attention": [1, 8, 32],
}
OPTIMIZERS = {
    "sgd-momentum": lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9),
    "adam": lambda params: torch.optim.Adam(params, lr=1e-3),
}

FIELDS = ["model", "mode", "optimizer", "batch", "input_shape", "params", "persistent_bytes", "transient_bytes",
          "transient_with_scratch_bytes", "measured_tensor_bytes", "measured_with_scratch_bytes", "seconds"]


def storage_bytes(tensors):
    """Bytes of the distinct storages behind `tensors` (views and shared tensors count once)."""
    seen, total = set(), 0
    for t in tensors:
        if t is None:
            continue
        s = t.storage()
        if s.data_ptr() in seen:
            continue
        seen.add(s.data_ptr())
        total += s.nbytes()
    return total


def optimizer_tensors(opt):
    return [v for state in opt.state.values() for v in state.values() if torch.is_tensor(v)]


def peak_allocated_bytes(fn):
    """Runs fn under the profiler. Returns the peak of bytes allocated during it and not yet freed:
    (all allocations, allocations that outlive the top-level operator call that made them). The
    second leaves out operator-internal scratch (oneDNN's reorders of convolution operands to its
    blocked layouts, temporaries freed before the operator returns): CPU workspace."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = []  # (time ns, bytes (+ alloc, - free), ptr, end of the top-level op around it)

    def walk(node, top_end):
        if "Allocation" in str(node.tag):
            e = node.extra_fields
            events.append((node.start_time_ns, e.alloc_size, e.ptr, top_end, e.total_allocated))
        for child in node.children:
            walk(child, top_end)

    for root in prof.profiler.kineto_results.experimental_event_tree():
        walk(root, root.end_time_ns)
    if not events:
        return 0, 0
    events.sort(key=lambda e: e[0])
    # total_allocated is the reporter's running total, which may carry allocations from before this
    # region: measure from its value just before the first event. Its peak is order-independent.
    start = events[0][4] - events[0][1]
    peak_all = max(0, max(e[4] for e in events) - start)

    # An allocation is scratch when its free comes before the end of the top-level call making it.
    open_alloc = {}  # ptr -> index in events of the live allocation
    scratch = set()
    for i, (t, size, ptr, top_end, _) in enumerate(events):
        if size > 0:
            open_alloc[ptr] = i
        elif ptr in open_alloc:
            j = open_alloc.pop(ptr)
            if t <= events[j][3]:
                scratch.update((i, j))
    live = peak_kept = 0
    for i, (_, size, _, _, _) in enumerate(events):
        if i not in scratch:
            live += size
            peak_kept = max(peak_kept, live)
    return peak_all, peak_kept


def make_input(spec, batch):
    shape = [batch if d == "batch" else export_models.DEFAULT_SEQ if d == "seq" else d
             for d in spec["shape"]]
    torch.manual_seed(0)
    return torch.randn(*shape), shape


def loss_fn(out, target):
    if out.dim() == 2 and target is not None:
        return nn.functional.cross_entropy(out, target)
    return out.mean()


def measure_inference(model, x):
    model.eval()
    state = list(model.parameters()) + list(model.buffers()) + [x]
    with torch.no_grad():
        model(x)  # warm-up (lazy initialisation, oneDNN primitive caches)

        def run():
            out = model(x)
            del out

        transient = peak_allocated_bytes(run)
    return (storage_bytes(state),) + transient


def measure_training(model, x, optimizer_name):
    model.train()
    opt = OPTIMIZERS[optimizer_name](model.parameters())
    with torch.no_grad():
        classes = model(x[:1] if x.shape[0] > 1 else x).shape
    target = torch.randint(0, classes[-1], (x.shape[0],)) if len(classes) == 2 else None

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()
        del loss

    step()  # warm-up: creates gradients and optimizer state
    state = (list(model.parameters()) + list(model.buffers()) + [p.grad for p in model.parameters()] +
             optimizer_tensors(opt) + [x, target])
    transient = peak_allocated_bytes(step)
    return (storage_bytes(state),) + transient


def validate():
    """A Linear layer, where the answer is known analytically; raises if the method is off."""
    torch.manual_seed(0)
    n, k, m = 64, 1000, 500
    lin = nn.Linear(k, m)
    x = torch.randn(n, k)
    f = 4
    weights = (k * m + m) * f
    persistent, with_scratch, transient = measure_inference(lin, x)
    expected = weights + n * k * f + n * m * f  # weights + input + output
    got = persistent + transient
    assert got == expected, f"Linear inference: measured {got}, expected {expected}"
    assert with_scratch == transient, "Linear inference: addmm allocates no scratch"

    # Training, SGD momentum, cross-entropy: persistent = weights + gradients + momentum + input +
    # int64 target. Peak of the step: in backward, the output's gradient (n*m) is live while the new
    # weight and bias gradients (k*m + m) are computed, before being added into .grad, plus the 0-dim
    # loss and its gradient (2 x 4 B); the forward's log-softmax (n*m) is freed by then.
    persistent, with_scratch, transient = measure_training(lin, x, "sgd-momentum")
    assert persistent == 3 * weights + n * k * f + n * 8, f"Linear training persistent {persistent}"
    expected = n * m * f + weights + 2 * f
    assert transient == expected, f"Linear training transient {transient}, expected {expected}"
    assert with_scratch == transient, "Linear training: no scratch"
    return {"linear_inference_bytes": got, "linear_training_transient_bytes": transient}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "validation", "tensor_memory_rows.csv"))
    ap.add_argument("--only", nargs="*", help="models to measure (default: all of DEFAULT_MODELS)")
    ap.add_argument("--validate-only", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    check = validate()
    print(f"method check (Linear 1000->500, batch 64): {check}", file=sys.stderr)
    if args.validate_only:
        return 0

    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    names = args.only or list(DEFAULT_MODELS)
    rows = []
    tmp = args.out + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for name in names:
            spec = export_models.MODELS[name]
            for batch in DEFAULT_MODELS.get(name, [1, 8]):
                for mode, optimizer in [("inference", ""), ("training", "sgd-momentum"), ("training", "adam")]:
                    model = export_models.build_module(name, spec)
                    x, shape = make_input(spec, batch)
                    t0 = time.time()
                    if mode == "inference":
                        persistent, with_scratch, transient = measure_inference(model, x)
                    else:
                        persistent, with_scratch, transient = measure_training(model, x, optimizer)
                    seconds = time.time() - t0
                    row = {"model": name, "mode": mode, "optimizer": optimizer, "batch": batch,
                           "input_shape": "x".join(map(str, shape)),
                           "params": sum(p.numel() for p in model.parameters()),
                           "persistent_bytes": persistent, "transient_bytes": transient,
                           "transient_with_scratch_bytes": with_scratch,
                           "measured_tensor_bytes": persistent + transient,
                           "measured_with_scratch_bytes": persistent + with_scratch, "seconds": f"{seconds:.1f}"}
                    rows.append(row)
                    w.writerow(row)
                    f.flush()
                    print(f"{name:22s} {mode:9s} {optimizer:12s} b={batch:<3d} "
                          f"{(persistent + transient) / 2**20:9.1f} MiB "
                          f"({(persistent + with_scratch) / 2**20:.1f} with scratch, {seconds:.1f} s)", file=sys.stderr)
                    del model, x
    os.replace(tmp, args.out)
    print(f"wrote {len(rows)} rows to {args.out}; measured {datetime.date.today().isoformat()} with torch "
          f"{torch.__version__}, torchvision {torchvision.__version__} on {cpu} (1 thread, fp32)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
