#!/usr/bin/python3
"""Fit perfcast's training-step constants to timm's measured training throughput (RTX 3090).

Usage (one command, after building the perfcast CLI and exporting the test fixtures):
    /usr/bin/python3 scripts/calibrate_training.py [--data /work/shared/data] [--perfcast build/perfcast]
                                                   [--split models|families] [--dry-run]

1. Writes data/validation/timm_train_rows.csv: for each torchvision fixture with the same
   architecture in timm (the map of scripts/calibrate_roofline.py), the row of
   timm/benchmark-train-amp-{nchw,nhwc}-pt112-cu113-rtx3090.csv (PyTorch 1.12 eager, AMP fp16, timm's
   benchmark.py: SGD with momentum, forward + backward + optimizer step at train_batch_size).
   split = fit for the NCHW rows of 7 models, one or two of each kind (ResNet-18, VGG-16,
   DenseNet-121, RegNetY-400MF, MobileNetV2, EfficientNet-B0, Swin-T); the other 6 models are held out
   (ResNet-50, Inception-v3, MobileNetV3-L, MnasNet, ConvNeXt-T, ViT-B/16), and every NHWC row is
   evaluation only (predicted with --layout nhwc: roofline.json "layout", scripts/calibrate_layout.py). --split families fits on the classic CNNs
   only (ResNet-18/50, VGG-16, DenseNet-121, Inception-v3, RegNetY) and holds out every other family.
2. Predicts each row with the CLI (roofline predictor) under scratch copies of roofline.json whose
   training multipliers are 1 (and once with the depthwise one at 2) and so recovers the forward,
   backward (depthwise convolutions apart) and optimizer times perfcast computes from first principles
   (src/predict/roofline.h).
3. Fits two multipliers, step = forward + m_b x backward(other nodes) + m_dw x backward(depthwise
   convolutions) + optimizer, by least squared log error on the fit rows. Where the fit rows have
   no depthwise convolution (--split families) m_dw is not identifiable and falls back to m_b.
   The training band is exp(mean +- 1.2816 sd) (the 10th/90th percentiles of a log-normal: 7 rows
   are too few for empirical percentiles) of the leave-one-model-out residuals
   log(measured/predicted): each fit model predicted by multipliers fitted without it, which is the
   error an unseen model sees (the in-sample residuals are narrower). Writes the multipliers and
   band into data/calibration/roofline.json ("training"), with metrics on every split.
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
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calibrate_roofline import TIMM_MODELS  # noqa: E402
import scratch_data  # noqa: E402

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


def latency_ms(perfcast, fixtures, data_dir, model, device, batch, layout, extra):
    out = subprocess.run([perfcast, "predict", os.path.join(fixtures, model + ".onnx"), "--device", device, "--batch",
                          str(batch), "--precision", "fp16", "--predictor", "roofline", "--layout", layout, "--json",
                          *extra], check=True,
                         capture_output=True, text=True, env={**os.environ, "PERFCAST_DATA_DIR": data_dir})
    return json.loads(out.stdout)["latency_ms"]["value"]


def scratch_data_dir(tmp, calibration, training):
    """A copy of data/ (links) whose roofline.json has the given training multipliers."""
    return scratch_data.scratch_data_dir(tmp, {**calibration, "training": {**calibration.get("training", {}), **training}})


def first_principles_parts(args, rows, calibration):
    """(forward, backward of other nodes, backward of depthwise convolutions, optimizer) in ms per row."""
    unit = {"backward_multiplier": 1.0, "depthwise_conv_backward_multiplier": 1.0, "optimizer_multiplier": 1.0}
    # Each row in its own layout (the NHWC rows through roofline.json "layout", scripts/calibrate_layout.py).
    keys = sorted({(r["perfcast_model"], r["device"], int(r["train_batch_size"]), r["layout"]) for r in rows})
    parts = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = scratch_data_dir(tmp, calibration, unit)
        step = {k: (latency_ms(args.perfcast, args.fixtures, data_dir, *k, []),
                    latency_ms(args.perfcast, args.fixtures, data_dir, *k, ["--mode", "training", "--optimizer", "none"]),
                    latency_ms(args.perfcast, args.fixtures, data_dir, *k,
                               ["--mode", "training", "--optimizer", "sgd-momentum"])) for k in keys}
        data_dir = scratch_data_dir(tmp, calibration, {**unit, "depthwise_conv_backward_multiplier": 2.0})
        for k in keys:
            fwd, none, sgd = step[k]
            depthwise = latency_ms(args.perfcast, args.fixtures, data_dir, *k,
                                   ["--mode", "training", "--optimizer", "none"]) - none
            parts[k] = (fwd, none - fwd - depthwise, depthwise, sgd - none)
            print(f"  {k[0]:20s} {k[3]} batch {k[2]:4d}: forward {fwd:8.1f} ms, backward {none - fwd - depthwise:8.1f} ms "
                  f"+ depthwise conv {depthwise:6.1f} ms, optimizer {sgd - none:6.2f} ms")
    return np.array([parts[(r["perfcast_model"], r["device"], int(r["train_batch_size"]), r["layout"])] for r in rows])


def predict(P, m_b, m_dw):
    return P[:, 0] + m_b * P[:, 1] + m_dw * P[:, 2] + P[:, 3]


# m_dw is identifiable when some fit row spends at least this share of its backward in depthwise convolutions.
MIN_DEPTHWISE_SHARE = 0.01


def fit_multipliers(P, meas):
    """(m_b, m_dw, identifiable) minimising the squared log error over the rows of P."""
    grid_b = np.linspace(0.3, 3.0, 1351)
    if not np.any(P[:, 2] >= MIN_DEPTHWISE_SHARE * (P[:, 1] + P[:, 2])):
        cost = [float(np.sum((np.log(predict(P, m, m)) - np.log(meas)) ** 2)) for m in grid_b]
        m = float(grid_b[int(np.argmin(cost))])
        return m, m, False
    grid_dw = np.linspace(0.3, 12.0, 1171)
    log_meas = np.log(meas)[None, None, :]
    pred = (P[:, 0] + P[:, 3])[None, None, :] + grid_b[:, None, None] * P[:, 1][None, None, :] + \
        grid_dw[None, :, None] * P[:, 2][None, None, :]
    cost = np.sum((np.log(pred) - log_meas) ** 2, axis=2)
    i, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
    return float(grid_b[i]), float(grid_dw[j]), True


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

    P = first_principles_parts(args, rows, calibration)
    meas = np.array([float(r["train_step_time"]) for r in rows])
    is_fit = np.array([r["split"] == "fit" for r in rows])
    names = np.array([r["perfcast_model"] for r in rows])
    m_b, m_dw, identifiable = fit_multipliers(P[is_fit], meas[is_fit])
    before, after = predict(P, 1.0, 1.0), predict(P, m_b, m_dw)

    # Leave one fit model out: its rows predicted by the multipliers fitted on the other fit models.
    held_out = after.copy()
    for name in sorted(set(names[is_fit])):
        rest = is_fit & (names != name)
        b, dw, _ = fit_multipliers(P[rest], meas[rest])
        held_out[is_fit & (names == name)] = predict(P[is_fit & (names == name)], b, dw)
        print(f"  without {name:20s}: backward multiplier {b:.3f}, depthwise conv {dw:.3f}")
    log_ratio = np.log(meas[is_fit] / held_out[is_fit])
    mu, sd = float(np.mean(log_ratio)), float(np.std(log_ratio, ddof=1))
    low, high = min(math.exp(mu - 1.2816 * sd), 1.0), max(math.exp(mu + 1.2816 * sd), 1.0)

    def metrics(p, m):
        e = np.abs(p - m) / m
        return {"n": int(len(m)), "mape": round(float(np.mean(e)), 4), "acc10": round(float(np.mean(e <= 0.1)), 4),
                "inside_band": round(float(np.mean((m >= p * low) & (m <= p * high))), 4)}
    nchw = np.array([r["layout"] == "nchw" for r in rows])
    fitted_model = np.isin(names, sorted(FIT_MODELS))
    groups = {}
    for name, mask in (("fit (nchw)", is_fit),
                       ("eval nchw, held-out models", ~is_fit & nchw),
                       ("eval nhwc, held-out models", ~nchw & ~fitted_model),
                       ("eval nhwc, fitted models", ~nchw & fitted_model)):
        groups[name] = {"first_principles": metrics(before[mask], meas[mask]), "fitted": metrics(after[mask], meas[mask])}
    groups["fit (nchw)"]["leave_one_model_out"] = metrics(held_out[is_fit], meas[is_fit])
    print(f"backward multiplier {m_b:.3f}; depthwise conv backward multiplier {m_dw:.3f}"
          + ("" if identifiable else " (not identifiable: no depthwise convolution in the fit rows; = backward)")
          + f"; band x{low:.3f} .. x{high:.3f} (leave-one-model-out)")
    for g, v in groups.items():
        a, b = v["first_principles"], v["fitted"]
        print(f"  {g:34s} n={b['n']:2d}  before MAPE {100 * a['mape']:5.1f}%  after MAPE {100 * b['mape']:5.1f}%  "
              f"Acc10 {100 * b['acc10']:5.1f}%  inside band {100 * b['inside_band']:5.1f}%")
    loo = groups["fit (nchw)"]["leave_one_model_out"]
    print(f"  {'fit (nchw), leave-one-model-out':34s} n={loo['n']:2d}  MAPE {100 * loo['mape']:5.1f}%  "
          f"Acc10 {100 * loo['acc10']:5.1f}%  inside band {100 * loo['inside_band']:5.1f}%")
    for r, p, m in zip(rows, after, meas):
        print(f"    {r['split']:4s} {r['layout']} {r['perfcast_model']:20s} predicted/measured {p / m:.3f}")
    if args.dry_run:
        return
    calibration["training"] = {
        "backward_multiplier": round(m_b, 4), "depthwise_conv_backward_multiplier": round(m_dw, 4),
        "optimizer_multiplier": 1.0, "interval_low_factor": round(low, 4), "interval_high_factor": round(high, 4),
        "fitted_on": "timm benchmark-train-amp-nchw-pt112-cu113-rtx3090.csv (PyTorch 1.12, AMP fp16, SGD-momentum), "
                     f"rows of {', '.join(sorted(FIT_MODELS))} (data/validation/timm_train_rows.csv, split = fit, "
                     f"--split {args.split}); the other models and every NHWC row are held out",
        "note": "step = forward + backward_multiplier x backward + depthwise_conv_backward_multiplier x backward of "
                "depthwise convolutions + optimizer_multiplier x optimizer (src/predict/roofline.h), by least squared "
                "log error on the fit rows" + ("" if identifiable else "; no depthwise convolution in the fit rows, "
                                               "so the depthwise multiplier is not identifiable and equals the other")
                + "; band = exp(mean +- 1.2816 sd) of the leave-one-model-out log(measured/predicted) of the fit "
                "models (each predicted by multipliers fitted without it); optimizer_multiplier not identifiable "
                "(< 1% of a step): 1. Applied at tensor-core precisions only (fp16/bf16/tf32/fp8/int8: the rows are "
                "AMP); fp32 keeps the first-principles step. Written by scripts/calibrate_training.py",
        "depthwise_conv_identifiable": identifiable,
        "metrics": groups,
    }
    with open(CALIBRATION + ".tmp", "w") as f:
        json.dump(calibration, f, indent=1)
        f.write("\n")
    os.replace(CALIBRATION + ".tmp", CALIBRATION)
    print(f"updated {os.path.relpath(CALIBRATION, REPO)} (training)")


if __name__ == "__main__":
    main()
