#!/usr/bin/python3
"""Fit perfcast's training-step constants to timm's measured training throughput (RTX 3090).

Usage (one command, after building the perfcast CLI and exporting the test fixtures):
    /usr/bin/python3 scripts/calibrate_training.py [--data /work/shared/data] [--perfcast build/perfcast]

1. Writes data/validation/timm_train_rows.csv: for each torchvision fixture with the same
   architecture in timm (the map of scripts/calibrate_roofline.py), the row of
   timm/benchmark-train-amp-{nchw,nhwc}-pt112-cu113-rtx3090.csv (PyTorch 1.12 eager, AMP fp16, timm's
   benchmark.py: SGD with momentum, forward + backward + optimizer step at train_batch_size).
   split = fit for the NCHW rows of 7 models, one or two of each kind (ResNet-18, VGG-16,
   DenseNet-121, RegNetY-400MF, MobileNetV2, EfficientNet-B0, Swin-T); the other 6 models are held out
   (ResNet-50, Inception-v3, MobileNetV3-L, MnasNet, ConvNeXt-T, ViT-B/16), and every NHWC row is
   evaluation only (perfcast does not model the layout). --split families fits on the classic CNNs
   only (ResNet-18/50, VGG-16, DenseNet-121, Inception-v3, RegNetY) and holds out every other family.
2. Predicts each row with the CLI three ways (inference; training without optimizer; training with
   SGD-momentum) and recovers the forward, backward and optimizer times perfcast computes from first
   principles (src/predict/roofline.h), undoing the multipliers in the current roofline.json.
3. Fits backward_multiplier (step = forward + m_b x backward + optimizer) by least squared log
   error on the fit rows, sets the training band to exp(mean +- 1.2816 sd) of their log(measured/predicted)
   (the 10th/90th percentiles of a log-normal: 7 rows are too few for empirical percentiles),
   and writes both into data/calibration/roofline.json ("training"), with metrics on every split.
   The optimizer pass (a few MB of fp32 states) is < 1% of a step here: optimizer_multiplier stays 1
   (not identifiable from these rows).
"""

import argparse
import csv
import json
import math
import os
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calibrate_roofline import TIMM_MODELS  # noqa: E402

ROWS = os.path.join(REPO, "data", "validation", "timm_train_rows.csv")
CALIBRATION = os.path.join(REPO, "data", "calibration", "roofline.json")
FILES = {"benchmark-train-amp-nchw-pt112-cu113-rtx3090.csv": "nchw",
         "benchmark-train-amp-nhwc-pt112-cu113-rtx3090.csv": "nhwc"}
SPLITS = {"models": {"resnet18", "vgg16", "densenet121", "regnet_y_400mf", "mobilenet_v2", "efficientnet_b0", "swin_t"},
          "families": {"resnet18", "resnet50", "vgg16", "densenet121", "inception_v3", "regnet_y_400mf"}}
FIT_MODELS = SPLITS["models"]
COLUMNS = ["perfcast_model", "timm_model", "file", "layout", "device", "split", "train_img_size", "train_batch_size",
           "train_samples_per_sec", "train_step_time", "param_count"]


def extract(data, write=True):
    rows = []
    for fname, layout in FILES.items():
        with open(os.path.join(data, "timm", fname), newline="") as f:
            by_model = {}
            for r in csv.DictReader(f):
                by_model.setdefault((r["model"], r["train_img_size"]), r)
        for pm, (tm, size) in TIMM_MODELS.items():
            r = by_model.get((tm, str(size)))
            if r is None:
                print(f"timm: no {tm} @ {size} in {fname}")
                continue
            split = "fit" if layout == "nchw" and pm in FIT_MODELS else "eval"
            rows.append({"perfcast_model": pm, "timm_model": tm, "file": fname, "layout": layout, "device": "rtx-3090",
                         "split": split, **{k: r[k] for k in COLUMNS[6:]}})
    if write:
        with open(ROWS, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
        print(f"wrote {len(rows)} rows to {os.path.relpath(ROWS, REPO)}")
    return rows


def latency_ms(perfcast, fixtures, model, device, batch, extra):
    out = subprocess.run([perfcast, "predict", os.path.join(fixtures, model + ".onnx"), "--device", device, "--batch",
                          str(batch), "--precision", "fp16", "--json", *extra], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["latency_ms"]["value"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--perfcast", default=os.path.join(REPO, "build", "perfcast"))
    ap.add_argument("--fixtures", default=os.path.join(REPO, "build", "fixtures"))
    ap.add_argument("--split", choices=sorted(SPLITS), default="models")
    ap.add_argument("--dry-run", action="store_true", help="report only: write neither the rows nor roofline.json")
    args = ap.parse_args()
    global FIT_MODELS
    FIT_MODELS = SPLITS[args.split]
    rows = extract(args.data, write=not args.dry_run)
    with open(CALIBRATION) as f:
        calibration = json.load(f)
    current = calibration.get("training", {})
    m_b0, m_o0 = current.get("backward_multiplier", 1.0), current.get("optimizer_multiplier", 1.0)

    parts = {}
    for r in rows:
        key = (r["perfcast_model"], r["device"], int(r["train_batch_size"]))
        if key in parts:
            continue
        fwd = latency_ms(args.perfcast, args.fixtures, *key, [])
        none = latency_ms(args.perfcast, args.fixtures, *key, ["--mode", "training", "--optimizer", "none"])
        sgd = latency_ms(args.perfcast, args.fixtures, *key, ["--mode", "training", "--optimizer", "sgd-momentum"])
        parts[key] = (fwd, (none - fwd) / m_b0, (sgd - none) / m_o0)
        print(f"  {key[0]:20s} batch {key[2]:4d}: forward {fwd:8.1f} ms, backward {parts[key][1]:8.1f} ms, "
              f"optimizer {parts[key][2]:6.2f} ms")
    P = np.array([parts[(r["perfcast_model"], r["device"], int(r["train_batch_size"]))] for r in rows])
    meas = np.array([float(r["train_step_time"]) for r in rows])
    is_fit = np.array([r["split"] == "fit" for r in rows])

    def pred(m_b):
        return P[:, 0] + m_b * P[:, 1] + P[:, 2]
    grid = np.linspace(0.3, 3.0, 2701)
    costs = [float(np.sum((np.log(pred(m)[is_fit]) - np.log(meas[is_fit])) ** 2)) for m in grid]
    m_b = float(grid[int(np.argmin(costs))])
    before, after = pred(1.0), pred(m_b)
    log_ratio = np.log(meas[is_fit] / after[is_fit])
    mu, sd = float(np.mean(log_ratio)), float(np.std(log_ratio, ddof=1))
    low, high = math.exp(mu - 1.2816 * sd), math.exp(mu + 1.2816 * sd)
    low, high = min(low, 1.0), max(high, 1.0)

    def metrics(p, m):
        e = np.abs(p - m) / m
        return {"n": int(len(m)), "mape": round(float(np.mean(e)), 4), "acc10": round(float(np.mean(e <= 0.1)), 4),
                "inside_band": round(float(np.mean((m >= p * low) & (m <= p * high))), 4)}
    groups = {}
    for name, mask in (("fit (nchw)", is_fit),
                       ("eval nchw, held-out models", ~is_fit & np.array([r["layout"] == "nchw" for r in rows])),
                       ("eval nhwc, held-out models", ~is_fit & np.array([r["layout"] == "nhwc" and
                                                                           r["perfcast_model"] not in FIT_MODELS
                                                                           for r in rows])),
                       ("eval nhwc, fitted models", np.array([r["layout"] == "nhwc" and r["perfcast_model"] in FIT_MODELS
                                                              for r in rows]))):
        groups[name] = {"first_principles": metrics(before[mask], meas[mask]), "fitted": metrics(after[mask], meas[mask])}
    print(f"backward multiplier {m_b:.3f}; band x{low:.3f} .. x{high:.3f}")
    for g, v in groups.items():
        a, b = v["first_principles"], v["fitted"]
        print(f"  {g:34s} n={b['n']:2d}  before MAPE {100 * a['mape']:5.1f}%  after MAPE {100 * b['mape']:5.1f}%  "
              f"Acc10 {100 * b['acc10']:5.1f}%  inside band {100 * b['inside_band']:5.1f}%")
    for r, p, m in zip(rows, after, meas):
        print(f"    {r['split']:4s} {r['layout']} {r['perfcast_model']:20s} predicted/measured {p / m:.3f}")
    if args.dry_run:
        return
    calibration["training"] = {
        "backward_multiplier": round(m_b, 4), "optimizer_multiplier": 1.0,
        "interval_low_factor": round(low, 4), "interval_high_factor": round(high, 4),
        "fitted_on": "timm benchmark-train-amp-nchw-pt112-cu113-rtx3090.csv (PyTorch 1.12, AMP fp16, SGD-momentum), "
                     "rows of " + ", ".join(sorted(FIT_MODELS)) + " (data/validation/timm_train_rows.csv, split = fit); "
                     "the other 6 models and every NHWC row are held out",
        "note": "step = forward + backward_multiplier x backward + optimizer_multiplier x optimizer "
                "(src/predict/roofline.h); band = exp(mean +- 1.2816 sd) of log(measured/predicted) on the fit rows; "
                "optimizer_multiplier not identifiable (< 1% of a step): 1. Applied at tensor-core precisions only "
                "(fp16/bf16/tf32/fp8/int8: the rows are AMP); fp32 keeps the first-principles step. "
                "Written by scripts/calibrate_training.py",
        "metrics": groups,
    }
    with open(CALIBRATION + ".tmp", "w") as f:
        json.dump(calibration, f, indent=1)
        f.write("\n")
    os.replace(CALIBRATION + ".tmp", CALIBRATION)
    print(f"updated {os.path.relpath(CALIBRATION, REPO)} (training)")


if __name__ == "__main__":
    main()
