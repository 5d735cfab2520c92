#!/usr/bin/python3
"""perfcast's PyTorch workload runner (thesis Algorithm 2), run by `perfcast profile` and
`perfcast characterize` with Debian's /usr/bin/python3 (torch 1.13, torchvision 0.14).

    run_workload.py JOB.json RESULT.json

JOB (task "workload", the default):
    {"model": "resnet18", "batch": 1, "precision": "fp32"|"fp16"|"bf16", "mode": "inference"|"training",
     "warmup": 2, "iterations": 5, "cooldown_s": 0, "device": "cpu"|"cuda", "image_size": 224,
     "onnx_path": "/path/model.onnx"}
  Builds the torchvision model with random weights (weights=None), after the timed steps exports it to onnx_path
  (opset 17, fp32 graph, batch axis dynamic, initializer payloads stripped: shapes kept), sleeps
  cooldown_s, runs `warmup` untimed and `iterations` timed steps (time.perf_counter around each
  step; torch.cuda.synchronize before reading the clock on a GPU). fp16 on the CPU runs as bf16
  (torch 1.13's CPU kernels have no fp16 convolution); the result says which precision ran.
  Training steps are forward + loss + backward + SGD step.
  Peak memory: torch.cuda.max_memory_allocated on a GPU; on the CPU the growth of the process's
  ru_maxrss (peak resident set) over the timed and warm-up steps, which is a rough figure.
  An out-of-memory error gives status "oom" and failed_batch.
JOB (task "characterize"): {"task": "characterize", "device": "cpu"|"cuda", "quick": false}
  Peak FLOP/s per precision from square matmuls (several sizes, best), memory bandwidth from large
  tensor copies (bytes read + written).

RESULT is one JSON object, also printed as one line on stdout.
"""

import json
import os
import platform
import resource
import sys
import time
import traceback


def write_result(path, result):
    text = json.dumps(result)
    if path:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    print(text, flush=True)


def is_oom(exc):
    text = str(exc).lower()
    return "out of memory" in text or "can't allocate memory" in text or "failed to allocate" in text \
        or isinstance(exc, MemoryError)


def current_rss():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def sync(device):
    import torch
    if device == "cuda":
        torch.cuda.synchronize()


def strip_weights(path):
    import onnx
    model = onnx.load(path)
    for init in model.graph.initializer:
        if init.data_type in (onnx.TensorProto.INT64, onnx.TensorProto.INT32) and len(init.dims) <= 1:
            continue  # shapes/axes: shape inference needs them
        init.ClearField("raw_data")
        init.ClearField("float_data")
        init.ClearField("int32_data")
        init.ClearField("int64_data")
        init.ClearField("double_data")
    tmp = path + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, path)


def run_workload(job):
    import torch
    import torchvision.models as tvm
    torch.manual_seed(0)
    device = job.get("device", "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device cuda requested but torch.cuda.is_available() is False")
    name = job["model"]
    batch = int(job.get("batch", 1))
    mode = job.get("mode", "inference")
    precision = job.get("precision", "fp32")
    size = int(job.get("image_size", 224))
    warmup = int(job.get("warmup", 2))
    iterations = int(job.get("iterations", 5))
    known = tvm.list_models(module=tvm) if hasattr(tvm, "list_models") else \
        [n for n in dir(tvm) if n[:1].islower() and callable(getattr(tvm, n))]
    if name not in known:
        import difflib
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        raise ValueError("unknown torchvision model '%s'%s; torchvision %s has %d classification models, "
                         "e.g. resnet18, mobilenet_v2, vit_b_16" % (
                             name, " (did you mean %s?)" % ", ".join(close) if close else "",
                             __import__("torchvision").__version__, len(known)))
    model = getattr(tvm, name)(weights=None)
    result = {"model": name, "batch": batch, "mode": mode, "device": device,
              "framework": "pytorch", "framework_version": torch.__version__,
              "torchvision_version": __import__("torchvision").__version__}

    ran_precision = precision
    dtype = torch.float32
    if precision == "fp16":
        if device == "cpu":
            dtype, ran_precision = torch.bfloat16, "bf16"
        else:
            dtype = torch.float16
    elif precision == "bf16":
        dtype = torch.bfloat16
    elif precision != "fp32":
        raise ValueError("precision must be fp32, fp16 or bf16, not '%s'" % precision)
    result["precision"] = ran_precision

    model = model.to(device=device, dtype=dtype)
    training = mode == "training"
    model.train(training)
    x = torch.randn(batch, 3, size, size, device=device, dtype=dtype)
    target = torch.randint(0, 1000, (batch,), device=device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01) if training else None
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        if training:
            opt.zero_grad(set_to_none=True)
            out = model(x)
            if isinstance(out, tuple) or hasattr(out, "logits"):
                out = out[0]
            loss = loss_fn(out.float(), target)
            loss.backward()
            opt.step()
        else:
            with torch.no_grad():
                model(x)

    time.sleep(float(job.get("cooldown_s", 0)))
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    rss_before = current_rss()
    for _ in range(warmup):
        step()
    sync(device)
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        step()
        sync(device)
        times.append(time.perf_counter() - t0)
    if device == "cuda":
        result["peak_memory_bytes"] = float(torch.cuda.max_memory_allocated())
        result["peak_memory_method"] = "torch.cuda.max_memory_allocated"
        result["device_name"] = torch.cuda.get_device_name()
    else:
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        result["peak_memory_bytes"] = float(max(0, rss_after - rss_before))
        result["peak_memory_method"] = ("ru_maxrss after the steps - resident set before them (CPU, rough: "
                                        "activations and workspace, not the weights)")
        result["device_name"] = cpu_name()
    onnx_path = job.get("onnx_path")
    if onnx_path:
        model = getattr(tvm, name)(weights=None).eval()  # fp32 copy, same architecture
        example = torch.randn(1, 3, size, size)
        tmp = onnx_path + ".export.onnx"
        torch.onnx.export(model, example, tmp, opset_version=17, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, do_constant_folding=True)
        os.replace(tmp, onnx_path)
        strip_weights(onnx_path)
        result["onnx_path"] = onnx_path

    times_ms = [t * 1000 for t in times]
    mean = sum(times_ms) / len(times_ms)
    result.update({"status": "ok", "iterations": iterations, "warmup": warmup,
                   "latency_ms": mean, "latency_ms_min": min(times_ms),
                   "latency_ms_median": sorted(times_ms)[len(times_ms) // 2],
                   "timed_s": sum(times), "throughput_per_s": batch * 1000.0 / mean,
                   "threads": torch.get_num_threads()})
    return result


def best_time(fn, device, repeats):
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def characterize(job):
    import torch
    device = job.get("device", "cpu")
    quick = bool(job.get("quick", False))
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device cuda requested but torch.cuda.is_available() is False")
    result = {"status": "ok", "device": device, "framework": "pytorch", "framework_version": torch.__version__,
              "host": platform.node(), "threads": torch.get_num_threads(), "gemm": {}}
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        result.update({"device_name": props.name, "memory_bytes": props.total_memory,
                       "compute_units": props.multi_processor_count})
        precisions = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
        sizes = [1024, 2048, 4096] if quick else [2048, 4096, 8192]
        torch.backends.cuda.matmul.allow_tf32 = False
    else:
        result.update({"device_name": cpu_name(), "compute_units": os.cpu_count()})
        try:
            result["memory_bytes"] = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError):
            pass
        precisions = {"fp32": torch.float32, "bf16": torch.bfloat16}
        sizes = [256, 512] if quick else [512, 1024, 2048]
    repeats = 2 if quick else 3
    for pname, dtype in precisions.items():
        best = 0.0
        per_size = {}
        for n in sizes:
            try:
                a = torch.randn(n, n, device=device).to(dtype)
                b = torch.randn(n, n, device=device).to(dtype)
                torch.matmul(a, b)  # warm-up
                t = best_time(lambda: torch.matmul(a, b), device, repeats)
                flops = 2.0 * n ** 3 / t
                per_size[str(n)] = flops
                best = max(best, flops)
            except RuntimeError as e:
                per_size[str(n)] = "failed: %s" % str(e).splitlines()[0]
        result["gemm"][pname] = {"best_flops": best, "per_size": per_size}
    # Bandwidth: dst.copy_(src) reads and writes nbytes each.
    nbytes = (64 << 20 if quick else 256 << 20) if device == "cpu" else (256 << 20 if quick else 1 << 30)
    src = torch.empty(nbytes // 4, dtype=torch.float32, device=device).fill_(1.0)
    dst = torch.empty_like(src)
    dst.copy_(src)
    t = best_time(lambda: dst.copy_(src), device, repeats + 2)
    result["bandwidth_bytes_per_s"] = 2.0 * nbytes / t
    result["bandwidth_copy_bytes"] = nbytes
    return result


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    result_path = sys.argv[2] if len(sys.argv) > 2 else None
    with open(sys.argv[1]) as f:
        job = json.load(f)
    try:
        if job.get("task", "workload") == "characterize":
            result = characterize(job)
        else:
            result = run_workload(job)
    except Exception as e:  # noqa: BLE001 - every failure becomes a result row
        status = "oom" if is_oom(e) else "error"
        result = {"status": status, "error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""),
                  "model": job.get("model"), "batch": job.get("batch")}
        if status == "oom":
            result["failed_batch"] = job.get("batch")
        sys.stderr.write(traceback.format_exc())
        write_result(result_path, result)
        return 0 if status == "oom" else 1
    write_result(result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
