#!/usr/bin/python3
"""Fit perfcast's CPU roofline constants to timm's batch-1 fp32 CPU latencies (torch.compile).

Usage:
    /usr/bin/python3 scripts/calibrate_cpu.py --extract-rows    # (re)write data/validation/timm_cpu_rows.csv
    build/bench/roofline_cpu_bench --export_nodes=data/validation/timm_cpu_node_costs.csv
    build/bench/roofline_cpu_bench --export_predictions=/tmp/cpu_before.csv   # optional: C++ as shipped
    /usr/bin/python3 scripts/calibrate_cpu.py [--before /tmp/cpu_before.csv] # fit, write roofline.json "cpu"

Data: timm (pytorch-image-models, Apache-2.0) benchmark-infer-fp32-nchw-*-cpu-*-dynamo.csv, batch 1, fp32,
NCHW, torch.compile (inductor); see /work/shared/data/timm/SOURCE.md. The torchvision fixtures are matched
to timm models by scripts/calibrate_roofline.py's TIMM_MODELS table (same architecture); every image size
timm lists for a model is kept (the importer re-binds the input to 1 x 3 x size x size).

Splits: fit = i9-10940X, PyTorch 2.4.0 only. Held out: i7-12700H PyTorch 2.4.0 (another device: AVX2
hybrid laptop part vs AVX-512 desktop) and i9-10940X PyTorch 2.2.1 (another framework version).

Model: the roofline of src/predict/roofline.cpp, per launched kernel of class c,
    t = max(F / (P * a_c), B / (W * b_c)) + t0_c
with P the device's fp32 peak at its max-turbo clock (fp32_tflops x boost_clock_mhz / base_clock_mhz: the CPU
files give base-clock peaks, GPU datasheets quote boost-clock peaks; roofline.json cpu.peak_clock = "boost")
and W its memory bandwidth from data/devices/*.toml; f = g = 0, no per-node
overhead and no gemm wave quantisation (CPU BLAS/oneDNN block per core at much smaller tiles). The
parametrisation is small because the fit file has ~25 rows:
  * a_gemm, a_conv: achievable fractions of the fp32 peak (oneDNN/MKL at batch 1);
  * b_matrix: fraction of the bandwidth for gemm/conv (weight streaming: batch-1 linears are GEMVs);
  * b_stream = 1 (pinned): the bandwidth fraction of depthwise conv, elementwise, reduction and movement;
    a free fit runs into its bound 1.0 (at batch 1 their activations stay in L2/L3);
  * t0_s: one fixed time per launched kernel (OpenMP fork/join, dispatch) for every class.
Fitted by least squared log error (Levenberg-Marquardt on log-transformed parameters, numpy only).
The latency band: the 10th and 90th percentiles of the fit rows' measured / predicted.
"""

import argparse
import csv
import datetime
import json
import math
import os
import sys

try:
    import tomllib
except ImportError:  # pragma: no cover - Python < 3.11
    tomllib = None

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from calibrate_roofline import TIMM_COMMIT, TIMM_MODELS  # noqa: E402  (the fixture <-> timm matching)

DEFAULT_DATA = "/work/shared/data"
ROWS = os.path.join(REPO, "data", "validation", "timm_cpu_rows.csv")
NODES = os.path.join(REPO, "data", "validation", "timm_cpu_node_costs.csv")
CALIBRATION = os.path.join(REPO, "data", "calibration", "roofline.json")

# timm file -> (perfcast device id, split)
CPU_FILES = {
    "benchmark-infer-fp32-nchw-pt240-cpu-i9_10940x-dynamo.csv": ("i9-10940x", "fit"),
    "benchmark-infer-fp32-nchw-pt240-cpu-i7_12700h-dynamo.csv": ("i7-12700h", "held_out_device"),
    "benchmark-infer-fp32-nchw-pt221-cpu-i9_10940x-dynamo.csv": ("i9-10940x", "held_out_framework"),
}
ROW_COLUMNS = ["fixture", "timm_model", "file", "device", "image_size_px", "batch", "measured_ms", "split"]
CLASSES = ["gemm", "conv", "depthwise_conv", "elementwise", "reduction", "movement"]
STREAM = ("depthwise_conv", "elementwise", "reduction", "movement")
PARAMS = ["a_gemm", "a_conv", "b_matrix", "t0_s"]
B_STREAM = 1.0
BAND_PERCENTILES = (10, 90)


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def extract_rows(data_dir, out_path):
    """One row per (fixture, image size) timm measured in each CPU file; the fixture's architecture
    at every size timm lists for the matching timm model."""
    rows = []
    for fname, (device, split) in CPU_FILES.items():
        seen = set()
        for r in read_rows(os.path.join(data_dir, "timm", fname)):
            for fixture, (timm_model, _) in TIMM_MODELS.items():
                key = (timm_model, r["infer_img_size"])
                if r["model"] != timm_model or key in seen:  # first row of a model/size
                    continue
                seen.add(key)
                rows.append({"fixture": fixture, "timm_model": timm_model, "file": fname, "device": device,
                             "image_size_px": int(r["infer_img_size"]), "batch": int(float(r["infer_batch_size"])),
                             "measured_ms": r["infer_step_time"], "split": split})
        missing = sorted(set(TIMM_MODELS) - {r["fixture"] for r in rows if r["file"] == fname})
        if missing:
            print(f"{fname}: no timm row for {missing}")
    rows.sort(key=lambda r: (list(CPU_FILES).index(r["file"]), r["fixture"], r["image_size_px"]))
    with open(out_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=ROW_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} rows to {out_path}")


def load_devices(ids):
    out = {}
    for d in ids:
        with open(os.path.join(REPO, "data", "devices", d + ".toml"), "rb") as f:
            t = tomllib.load(f)
        c = t["compute"]
        out[d] = {"P": c["fp32_tflops"] * 1e12 * c["boost_clock_mhz"] / c["base_clock_mhz"],
                  "W": t["memory"]["bandwidth_gb_s"] * 1e9}
    return out


def load_node_costs(path):
    """(fixture, size, batch) -> per-class arrays F, B (fp32 bytes) and the count of uncosted kernels."""
    models = {}
    for r in read_rows(path):
        m = models.setdefault((r["model"], int(r["image_size_px"]), int(r["batch"])), {"rows": []})
        m["rows"].append((r["class"], float(r["flops"]), float(r["float_bytes"]) + float(r["other_bytes"])))
    for m in models.values():
        cls = np.array([c for c, _, _ in m["rows"]])
        F = np.array([f for _, f, _ in m["rows"]])
        B = np.array([b for _, _, b in m["rows"]])
        m["by_class"] = {c: (F[cls == c], B[cls == c]) for c in CLASSES if (cls == c).any()}
        m["unknown"] = int((cls == "unknown").sum())
        m["kernels"] = len(cls)
        del m["rows"]
    return models


def class_params(p):
    """The per-class constants (roofline.json "cpu.classes") of the 5-number parametrisation."""
    out = {}
    for c in CLASSES:
        a = p["a_gemm"] if c == "gemm" else p["a_conv"] if c == "conv" else 1.0
        b = B_STREAM if c in STREAM else p["b_matrix"]
        out[c] = {"a": a, "f": 0.0, "b": b, "g": 0.0, "t0_s": p["t0_s"]}
    return out


def predict_s(classes, model, dev):
    """Seconds, as src/predict/roofline.cpp computes it for a CPU with the "cpu" key: the sum over the
    launched kernels of max(F / (P a), B / (W b)) + t0; uncosted kernels count movement's t0."""
    total = classes["movement"]["t0_s"] * model["unknown"]
    for c, (F, B) in model["by_class"].items():
        q = classes[c]
        total += float(np.sum(np.maximum((F + q["f"]) / (dev["P"] * q["a"]), (B + q["g"]) / (dev["W"] * q["b"]))
                              + q["t0_s"]))
    return total


def predictions(classes, rows, models, devices):
    return np.array([predict_s(classes, models[key(r)], devices[r["device"]]) * 1e3 for r in rows])


def key(r):
    return (r["fixture"], int(r["image_size_px"]), int(r["batch"]))


def metrics(pred, meas):
    err = np.abs(pred - meas) / meas
    return {"n": int(len(meas)), "mape": round(float(np.mean(err)), 4), "acc10": round(float(np.mean(err <= 0.10)), 4),
            "median_predicted_over_measured": round(float(np.median(pred / meas)), 4)}


def fit(rows, models, devices):
    """Levenberg-Marquardt on log(predicted / measured); fractions via a logistic, t0 via exp."""
    meas = np.log(np.array([float(r["measured_ms"]) for r in rows]))
    sig = lambda x: 1.0 / (1.0 + math.exp(-x))

    def unpack(u):
        return {"a_gemm": sig(u[0]), "a_conv": sig(u[1]), "b_matrix": sig(u[2]), "t0_s": math.exp(u[3])}

    def resid(u):
        return np.log(predictions(class_params(unpack(u)), rows, models, devices)) - meas

    best = None
    logit = lambda x: math.log(x / (1 - x))
    for a0 in (0.2, 0.6):
        for b0 in (0.1, 0.5):
            for t00 in (5e-6, 5e-5):
                u = np.array([logit(a0), logit(a0), logit(b0), math.log(t00)])
                lam, r = 1e-2, resid(u)
                cost = r @ r
                for _ in range(200):
                    J = np.empty((len(r), len(u)))
                    for i in range(len(u)):
                        e = np.zeros_like(u); e[i] = 1e-5
                        J[:, i] = (resid(u + e) - resid(u - e)) / 2e-5
                    A, g = J.T @ J, J.T @ r
                    improved = False
                    for _ in range(20):
                        un = np.clip(u + np.linalg.solve(A + lam * np.diag(np.diag(A) + 1e-12), -g), -30, 30)
                        rn = resid(un)
                        if rn @ rn < cost:
                            done = cost - rn @ rn < 1e-12 * cost
                            u, r, cost, lam, improved = un, rn, rn @ rn, max(lam / 3, 1e-9), True
                            break
                        lam *= 4
                    if not improved or done:
                        break
                if best is None or cost < best[1]:
                    best = (u, cost)
    p = unpack(best[0])
    return {k: float(f"{v:.4g}") for k, v in p.items()}, float(best[1])


def gpu_classes(calibration):
    """The classes CPUs used before the "cpu" key (the GPU fit), without wave quantisation."""
    return {c: calibration["classes"][c] for c in CLASSES}


def report(title, classes, rows, models, devices, band=None):
    print(f"\n{title}")
    out = {}
    for fname, (device, split) in CPU_FILES.items():
        rs = [r for r in rows if r["file"] == fname]
        pred = predictions(classes, rs, models, devices)
        meas = np.array([float(r["measured_ms"]) for r in rs])
        m = metrics(pred, meas)
        m["split"] = split
        if band:
            m["inside_band"] = round(float(np.mean((pred * band[0] <= meas) & (meas <= pred * band[1]))), 4)
        out[f"{device} {fname}"] = m
        print(f"  {split:20s} {device:10s} n={m['n']:3d} MAPE {100 * m['mape']:6.1f}%  Acc10 {100 * m['acc10']:5.1f}%  "
              f"median pred/meas {m['median_predicted_over_measured']:.3f}"
              + (f"  inside band {100 * m['inside_band']:.0f}%" if band else ""))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--data", default=DEFAULT_DATA, help="the shared data folder (default: %(default)s)")
    ap.add_argument("--extract-rows", action="store_true", help=f"(re)write {os.path.relpath(ROWS, REPO)}, then exit")
    ap.add_argument("--nodes", default=NODES, help="per-kernel costs from build/bench/roofline_cpu_bench --export_nodes")
    ap.add_argument("--before", help="C++ predictions of the calibration as shipped (roofline_cpu_bench "
                                     "--export_predictions): printed as the 'before' metrics")
    ap.add_argument("--out", default=CALIBRATION)
    ap.add_argument("--dry-run", action="store_true", help="fit and print, do not write --out")
    args = ap.parse_args()
    if args.extract_rows:
        extract_rows(args.data, ROWS)
        return
    if tomllib is None:
        sys.exit("Python 3.11+ (tomllib) is needed to read data/devices/*.toml")
    rows = read_rows(ROWS)
    models = load_node_costs(args.nodes)
    missing = sorted({key(r) for r in rows} - set(models))
    if missing:
        sys.exit(f"{args.nodes} lacks {missing}; re-export with build/bench/roofline_cpu_bench --export_nodes=...")
    devices = load_devices({r["device"] for r in rows})
    with open(args.out) as f:
        calibration = json.load(f)

    if args.before:
        before = read_rows(args.before)
        print("\nbefore (C++ as shipped, GPU constants on CPUs):")
        for fname, (device, split) in CPU_FILES.items():
            rs = [r for r in before if r["file"] == fname]
            m = metrics(np.array([float(r["predicted_ms"]) for r in rs]), np.array([float(r["measured_ms"]) for r in rs]))
            print(f"  {split:20s} {device:10s} n={m['n']:3d} MAPE {100 * m['mape']:6.1f}%  Acc10 {100 * m['acc10']:5.1f}%  "
                  f"median pred/meas {m['median_predicted_over_measured']:.3f}")
    before_mirror = report("before (script mirror: GPU class constants at boost-clock peaks, no wave quantisation)",
                           gpu_classes(calibration), rows, models, devices)

    fit_rows = [r for r in rows if r["split"] == "fit"]
    p, cost = fit(fit_rows, models, devices)
    classes = class_params(p)
    ratio = np.array([float(r["measured_ms"]) for r in fit_rows]) / predictions(classes, fit_rows, models, devices)
    band = tuple(round(float(np.percentile(ratio, q)), 4) for q in BAND_PERCENTILES)
    print(f"\nfitted on {len(fit_rows)} rows (sum of squared log errors {cost:.4f}): {p}")
    print(f"band (measured / predicted, {BAND_PERCENTILES[0]}th-{BAND_PERCENTILES[1]}th percentile of the fit rows): {band}")
    after = report("after (fitted CPU constants)", classes, rows, models, devices, band)
    per_row = {}
    for r in rows:
        pred = predict_s(classes, models[key(r)], devices[r["device"]]) * 1e3
        per_row.setdefault(f"{r['device']} {r['split']}", {})[f"{r['fixture']}@{r['image_size_px']}"] = \
            round(pred / float(r["measured_ms"]), 3)
    for k, v in per_row.items():
        print(f"  predicted/measured {k}: {v}")
    if args.dry_run:
        return

    calibration["cpu"] = {
        "model": "per launched kernel: max(F / (P a_c), B / (W b_c)) + t0_s (f = g = 0), summed; P = the device's "
                 "fp32 peak, W its memory bandwidth (data/devices); used by src/predict/roofline.cpp for devices "
                 "with kind = \"cpu\" instead of the GPU classes, with no per-node overhead and no gemm wave "
                 "quantisation",
        "describes": "torch.compile (inductor) PyTorch 2.x, fp32, NCHW, batch 1 inference; eager PyTorch, other "
                     "batch sizes or other runtimes (ONNX Runtime, OpenVINO) may differ",
        "parameters": p,
        "peak_clock": "boost",
        "per_node_overhead_s": 0.0,
        "parametrisation": "a_gemm, a_conv: fractions of the fp32 peak; b_matrix: bandwidth fraction of gemm and conv "
                           "(batch-1 weight streaming); depthwise_conv, elementwise, reduction, movement: a = b = 1 (b "
                           "pinned: a free fit ends at 1); t0_s: per kernel, every class",
        "classes": classes,
        "interval": {"low_factor": band[0], "high_factor": band[1],
                     "note": f"measured / predicted, {BAND_PERCENTILES[0]}th and {BAND_PERCENTILES[1]}th percentiles "
                             "of the fit rows; held-out coverage in metrics (inside_band)"},
        "fitted_on": "timm benchmark-infer-fp32-nchw-pt240-cpu-i9_10940x-dynamo.csv (split=fit in "
                     "data/validation/timm_cpu_rows.csv)",
        "evaluated_on": "held out: i7-12700H PyTorch 2.4.0 (held_out_device), i9-10940X PyTorch 2.2.1 "
                        "(held_out_framework)",
        "provenance": {"repo": "https://github.com/huggingface/pytorch-image-models", "commit": TIMM_COMMIT,
                       "license": "Apache-2.0", "rows": "data/validation/timm_cpu_rows.csv",
                       "node_costs": "data/validation/timm_cpu_node_costs.csv (build/bench/roofline_cpu_bench "
                                     "--export_nodes)"},
        "script": "scripts/calibrate_cpu.py",
        "date": datetime.date.today().isoformat(),
        "metrics": {"before_gpu_constants_script_mirror": before_mirror, "after": after},
    }
    with open(args.out, "w") as f:
        json.dump(calibration, f, indent=1)
        f.write("\n")
    print(f"\nwrote the \"cpu\" key of {args.out}")


if __name__ == "__main__":
    main()
