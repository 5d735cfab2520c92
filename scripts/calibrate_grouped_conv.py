#!/usr/bin/python3
"""Fit the tensor-core efficiency of grouped convolutions relative to dense ones on timm end-to-end rows.

Usage:
    /usr/bin/python3 scripts/calibrate_grouped_conv.py [--extract] [--fit-model NAME] [--dry-run]
        [--perfcast build/perfcast] [--fixtures build/fixtures] [--data /work/shared/data]

perfcast times a grouped convolution (1 < groups < channels: ResNeXt, RegNet; src/predict/op_class.h
kGroupedConv) with the conv class's roofline, its achievable fraction of the tensor-core peak multiplied
by one constant, roofline.json grouped_conv.compute_efficiency_vs_conv (m; a x multiplier x m capped at 1,
at tensor-core precisions only). This script fits m and writes that key only (every other key of
roofline.json is re-read right before writing and kept).

Rows: data/validation/timm_grouped_rows.csv (--extract rewrites it from timm's CSVs): the four torchvision
fixtures with grouped convolutions, matched to timm models of the same architecture (parameter counts agree
to timm's 0.01M and GMACs within 3%; checked here), at 224 px, on every timm AMP file of a GPU in
data/devices/: NCHW and NHWC inference, NCHW training (pt112, RTX 3090).

Split: m is fitted on ONE row, --fit-model (default regnet_y_3_2gf) on the RTX 3090 PyTorch 2.4.0 NCHW
inference file, by solving predicted = measured (bisection in log m). Every other row is held out: the
other three models on every file, and the fit model on the other files, GPUs, layouts and training.
regnet_y_400mf and resnext50_32x4d cannot identify m: their grouped convolutions are memory-bound on the
RTX 3090 at batch 1024 and both rows are over-predicted even at a x m = 1, so no m matches them (the
script reports it and stops). regnet_y_1_6gf gives m = 0.73 (held-out MAPE 13.4% -> 12.8%).

Predictions come from the C++ binary (perfcast predict --predictor roofline) run on a scratch copy of
data/ (symlinks) whose roofline.json has the candidate m.
"""

import scratch_data
import argparse
import csv
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CALIBRATION = os.path.join(REPO, "data", "calibration", "roofline.json")
ROWS = os.path.join(REPO, "data", "validation", "timm_grouped_rows.csv")
TIMM_COMMIT = "aa4b5850c1543fa488abf260f18390eda46cf85d"
KEY = "grouped_conv"

# torchvision fixture (tests/fixtures/export_models.py) -> timm model, same architecture.
MODELS = {"regnet_y_400mf": "regnety_004", "resnext50_32x4d": "resnext50_32x4d",
          "regnet_y_1_6gf": "regnety_016", "regnet_y_3_2gf": "regnety_032"}
IMG_SIZE = 224
# timm file -> (perfcast device id, mode, layout).
FILES = {
    "benchmark-infer-amp-nchw-pt240-cu124-rtx3090.csv": ("rtx-3090", "inference", "nchw"),
    "benchmark-infer-amp-nchw-pt210-cu121-rtx3090.csv": ("rtx-3090", "inference", "nchw"),
    "benchmark-infer-amp-nchw-pt113-cu117-rtx3090.csv": ("rtx-3090", "inference", "nchw"),
    "benchmark-infer-amp-nchw-pt240-cu124-rtx4090.csv": ("rtx-4090", "inference", "nchw"),
    "benchmark-infer-amp-nchw-pt291-cu128-4090.csv": ("rtx-4090", "inference", "nchw"),
    "benchmark-infer-amp-nchw-pt291-cu130-5090.csv": ("rtx-5090", "inference", "nchw"),
    "benchmark-infer-amp-nchw-pt291-cu130-pro6000maxq.csv": ("rtx-pro-6000-blackwell-max-q", "inference", "nchw"),
    "benchmark-infer-amp-nhwc-pt240-cu124-rtx3090.csv": ("rtx-3090", "inference", "nhwc"),
    "benchmark-infer-amp-nhwc-pt210-cu121-rtx3090.csv": ("rtx-3090", "inference", "nhwc"),
    "benchmark-infer-amp-nhwc-pt113-cu117-rtx3090.csv": ("rtx-3090", "inference", "nhwc"),
    "benchmark-infer-amp-nhwc-pt240-cu124-rtx4090.csv": ("rtx-4090", "inference", "nhwc"),
    "benchmark-train-amp-nchw-pt112-cu113-rtx3090.csv": ("rtx-3090", "training", "nchw"),
}
FIT_FILE = "benchmark-infer-amp-nchw-pt240-cu124-rtx3090.csv"
COLUMNS = ["perfcast_model", "timm_model", "file", "device", "mode", "layout", "split", "img_size", "batch_size",
           "samples_per_sec", "step_time_ms", "param_count_m"]


def extract_rows(data_dir, fit_model):
    """Rows of the grouped-conv models from timm's files (first row of a model at IMG_SIZE per file)."""
    rows = []
    for fname, (device, mode, layout) in FILES.items():
        prefix = "train" if mode == "training" else "infer"
        by_model = {}
        with open(os.path.join(data_dir, "timm", fname), newline="") as f:
            for r in csv.DictReader(f):
                by_model.setdefault((r["model"], r[prefix + "_img_size"]), r)
        for pm, tm in MODELS.items():
            r = by_model.get((tm, str(IMG_SIZE)))
            if r is None:
                print(f"timm: no {tm} @ {IMG_SIZE} in {fname}")
                continue
            fit = pm == fit_model and fname == FIT_FILE
            rows.append({"perfcast_model": pm, "timm_model": tm, "file": fname, "device": device, "mode": mode,
                         "layout": layout, "split": "fit" if fit else "eval", "img_size": IMG_SIZE,
                         "batch_size": int(float(r[prefix + "_batch_size"])),
                         "samples_per_sec": r[prefix + "_samples_per_sec"],
                         "step_time_ms": r[prefix + "_step_time"], "param_count_m": r["param_count"]})
    with open(ROWS, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} rows to {os.path.relpath(ROWS, REPO)}")


def check_architectures(args, rows):
    """The fixture is timm's model: parameters equal to timm's rounding, GMACs within 3%."""
    for pm in MODELS:
        out = subprocess.run([args.perfcast, "inspect", os.path.join(args.fixtures, pm + ".onnx"), "--json"],
                             check=True, capture_output=True, text=True)
        summary = json.loads(out.stdout)
        timm_params = {float(r["param_count_m"]) for r in rows if r["perfcast_model"] == pm}
        for p in timm_params:
            if abs(summary["params"] / 1e6 - p) > 0.0051:
                sys.exit(f"{pm}: {summary['params'] / 1e6:.3f}M parameters, timm's {MODELS[pm]} has {p}M")
        print(f"  {pm:16s} = timm {MODELS[pm]:16s} params {summary['params'] / 1e6:.3f}M (timm {sorted(timm_params)}),"
              f" GMACs {summary['macs'] / 1e9:.3f}")


def scratch_data_dir(tmp, calibration, factor):
    """A copy of data/ (links) whose roofline.json has grouped_conv.compute_efficiency_vs_conv = factor."""
    return scratch_data.scratch_data_dir(tmp, {**calibration, KEY: {"compute_efficiency_vs_conv": factor}})


def predicted_ms(args, data_dir, r):
    cmd = [args.perfcast, "predict", os.path.join(args.fixtures, r["perfcast_model"] + ".onnx"), "--device",
           r["device"], "--batch", str(r["batch_size"]), "--precision", "fp16", "--predictor", "roofline",
           "--layout", r["layout"], "--json"]
    if r["mode"] == "training":
        cmd += ["--mode", "training", "--optimizer", "sgd-momentum"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "PERFCAST_DATA_DIR": data_dir})
    return json.loads(out.stdout)["latency_ms"]["value"]


def predict_all(args, calibration, factor, rows):
    with tempfile.TemporaryDirectory() as tmp:
        d = scratch_data_dir(tmp, calibration, factor)
        return [predicted_ms(args, d, r) for r in rows]


def fit_factor(args, calibration, fit_row):
    """m with predicted = measured on the fit row (bisection in log m; the prediction falls as m grows)."""
    meas = float(fit_row["step_time_ms"])
    a_conv = calibration["classes"]["conv"]["a"] * calibration["tensor_core_multiplier"]["conv"]
    lo, hi = math.log(0.05), math.log(1.0 / a_conv)  # above hi, a x m is capped at 1
    f = lambda x: predict_all(args, calibration, math.exp(x), [fit_row])[0] - meas
    f_lo, f_hi = f(lo), f(hi)
    if abs(f_lo - f_hi) < 1e-6 * meas:
        sys.exit(f"{fit_row['perfcast_model']}: the prediction does not depend on m (its grouped convolutions are "
                 f"memory-bound): choose another --fit-model")
    if f_lo * f_hi > 0:
        sys.exit(f"no m in [{math.exp(lo):.3f}, {math.exp(hi):.3f}] matches the fit row "
                 f"(residuals {f_lo:+.1f} ms, {f_hi:+.1f} ms)")
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def metrics(pairs):
    errors = [abs(p / m - 1) for p, m in pairs]
    ratios = sorted(p / m for p, m in pairs)
    return {"n": len(pairs), "mape_pct": round(100 * sum(errors) / len(errors), 2),
            "acc10_pct": round(100 * sum(e <= 0.10 for e in errors) / len(errors), 1),
            "median_pred_over_meas": round(ratios[len(ratios) // 2], 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--perfcast", default=os.path.join(REPO, "build", "perfcast"))
    ap.add_argument("--fixtures", default=os.path.join(REPO, "build", "fixtures"))
    ap.add_argument("--data", default="/work/shared/data", help="folder with timm/ (shared public data)")
    ap.add_argument("--extract", action="store_true", help=f"rewrite {os.path.relpath(ROWS, REPO)} from timm's CSVs")
    ap.add_argument("--fit-model", default="regnet_y_3_2gf", choices=sorted(MODELS))
    ap.add_argument("--dry-run", action="store_true", help="fit and report, do not write roofline.json")
    args = ap.parse_args()

    if args.extract or not os.path.exists(ROWS):
        extract_rows(args.data, args.fit_model)
    with open(ROWS, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:  # the fit row follows --fit-model, whatever the file's split column says
        r["split"] = "fit" if (r["perfcast_model"] == args.fit_model and r["file"] == FIT_FILE) else "eval"
    print("architectures:")
    check_architectures(args, rows)
    with open(CALIBRATION) as f:
        calibration = json.load(f)
    calibration.pop(KEY, None)
    fit_rows = [r for r in rows if r["split"] == "fit"]
    if len(fit_rows) != 1:
        sys.exit(f"expected one fit row ({args.fit_model}, {FIT_FILE}), found {len(fit_rows)}")
    m = round(fit_factor(args, calibration, fit_rows[0]), 4)
    print(f"\nfitted on {args.fit_model} ({FIT_FILE}): compute_efficiency_vs_conv = {m}")

    before = predict_all(args, calibration, 1.0, rows)
    after = predict_all(args, calibration, m, rows)
    meas = [float(r["step_time_ms"]) for r in rows]
    print(f"\n{'model':16s} {'device':28s} {'mode':9s} {'layout':6s} {'file':50s} {'split':5s} pred/meas today -> fitted")
    for r, b, a, t in zip(rows, before, after, meas):
        print(f"{r['perfcast_model']:16s} {r['device']:28s} {r['mode']:9s} {r['layout']:6s} {r['file']:50s} "
              f"{r['split']:5s} {b / t:.3f} -> {a / t:.3f}")
    groups = {"held_out_all": lambda r: r["split"] == "eval",
              "held_out_other_models": lambda r: r["perfcast_model"] != args.fit_model}
    for key in sorted({(r["device"], r["mode"], r["layout"]) for r in rows}):
        groups[" ".join(key)] = lambda r, key=key: r["split"] == "eval" and (r["device"], r["mode"], r["layout"]) == key
    report = {}
    print(f"\n{'held-out group':45s} {'n':>3s}  MAPE today -> fitted   Acc10 today -> fitted")
    for name, keep in groups.items():
        idx = [i for i, r in enumerate(rows) if keep(r)]
        b = metrics([(before[i], meas[i]) for i in idx])
        a = metrics([(after[i], meas[i]) for i in idx])
        report[name] = {"today": b, "fitted": a}
        print(f"{name:45s} {len(idx):3d}  {b['mape_pct']:6.2f}% -> {a['mape_pct']:6.2f}%   "
              f"{b['acc10_pct']:5.1f}% -> {a['acc10_pct']:5.1f}%")
    if args.dry_run:
        print("\n--dry-run: roofline.json not written")
        return
    entry = {
        "compute_efficiency_vs_conv": m,
        "note": "multiplies a x tensor_core_multiplier.conv of grouped convolutions (1 < groups < channels, "
                "src/predict/op_class.h kGroupedConv) at tensor-core precisions, capped at 1; every other constant "
                "is conv's. Absent: 1 (grouped convolutions timed as dense conv)",
        "fitted_on": f"{os.path.relpath(ROWS, REPO)}: {args.fit_model}, {FIT_FILE} (one row), predicted = measured",
        "evaluated_on": "every other row of that file: the other grouped models on every file, the fit model on "
                        "the other files (GPUs, PyTorch versions, NHWC, training)",
        "metrics": report,
        "source": {"repo": "https://github.com/huggingface/pytorch-image-models", "commit": TIMM_COMMIT,
                   "license": "Apache-2.0"},
        "date": datetime.date.today().isoformat(),
        "script": "scripts/calibrate_grouped_conv.py",
    }
    with open(CALIBRATION) as f:  # re-read: other scripts rewrite other keys
        calibration = json.load(f)
    calibration[KEY] = entry
    with open(CALIBRATION, "w") as f:
        json.dump(calibration, f, indent=1)
        f.write("\n")
    print(f"\nwrote {KEY} into {os.path.relpath(CALIBRATION, REPO)}")


if __name__ == "__main__":
    main()
