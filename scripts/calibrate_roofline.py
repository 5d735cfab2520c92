#!/usr/bin/python3
"""Fit perfcast's calibrated roofline to NeuSight's per-operator GPU measurements.

Usage:
    /usr/bin/python3 scripts/calibrate_roofline.py [--data DIR] [--out FILE]

Model, per operator class c (gemm, conv, elementwise, reduction, movement):

    t = max( F / (P * a_c * F/(F+f_c)),  B / (W * b_c * B/(B+g_c)) ) + t0_c
      = max( (F+f_c) / (P*a_c),  (B+g_c) / (W*b_c) ) + t0_c

F = FLOPs of the operator, B = bytes read + written, P = the device's peak FLOP/s for the
precision, W = its memory bandwidth (B/s). a_c, b_c are the achievable fractions of peak at
large sizes; f_c, g_c the sizes (FLOPs, bytes) at which half of that is reached; t0_c a fixed
per-kernel time (launch + tail). For gemm, F in the compute term is multiplied by the wave
quantisation ceil(w)/w, w = 128x128 output tiles / SMs (GEMM_WAVE_TILE; the run also reports the
previous model without it on the same test split). One parameter set for every device (device-agnostic: a device
works from its spec sheet), except that gemm's P is multiplied by a per-device scale on the devices with
gemm training rows (gemm_device_scale(): how much of its peak a device sustains relative to the typical
one; 1 for any other device). Fitted by minimising the squared log error (Levenberg-Marquardt on
transformed parameters, numpy only).

conv is fitted on Baidu DeepBench's fp32 forward convolutions instead (train/conv.csv, cuDNN 6-7.6,
convolution shapes of real networks: DeepSpeech, ResNet, VGG, face recognition, ...; Apache-2.0, see
/work/shared/data/deepbench/SOURCE.md) of DEEPBENCH_CONV_FIT_DEVICES; its other GPUs are held out.
NeuSight's conv rows (random shapes, e.g. 893 channels at 5x5 pixels, timed around the PyTorch call)
fitted a curve that DeepBench's convolutions run 2-3x faster than; they are kept as a diagnostic.
DeepBench times cuDNN back to back, so its fitted t0 is ~0; conv's shipped t0 is the elementwise t0 (the
eager launch floor NeuSight measures on its cheapest kernels), since perfcast predicts eager frameworks
that launch each convolution on its own.

Splits: every constant is fitted on train_collect (operators) or the timm split=fit rows (end to end);
metrics are reported on NeuSight's test files and the other timm files. The gemm fit is also run with
each scaled device left out (scale 1), the error of a device with no gemm measurements.

F and B follow perfcast's C++ cost rules (src/graph/op_cost_*.cpp): MatMul MACs = outputs x K,
FLOPs = 2 MACs, a Linear adds its bias (one FLOP per output); Conv MACs = outputs x Cin x k x k;
elementwise FLOPs per element from op_cost_pointwise.cpp (Add/Mul/Div/Pow/Relu 1, Tanh 5, Gelu 8),
LayerNormalization 7/element, Softmax 5/element; bytes = every input (weights included) + every
output at 4 bytes/element (fp32).

Data: NeuSight (MIT, sitar-lab/NeuSight @6945927d9afcca2b9daf021f8395e53edc5b4eef), see
/work/shared/data/neusight/SOURCE.md. Train: operators/nvidia/train_collect/*.csv.gz and
operators/amd/train_collect/*.csv.gz. Test (NeuSight's own split, held out): operators/nvidia/test/
{bmm,linear,elem,ln,softmax}.csv (vec.csv is their union and is skipped), plus AMD GEMMs in
operators/amd/test_collect/ (no AMD GEMM is in the training data).

The per-node framework overhead for eager PyTorch is fitted on timm end-to-end throughput
(data/validation/timm_rows.csv, RTX 3090 rows only) using the per-node costs that perfcast's C++
importer computes for the torchvision fixtures (data/validation/timm_node_costs.csv, written by
`build/bench/predict_bench --export_nodes=...`); see fit_end_to_end(). The end-to-end latency band
("interval", for a GPU outside the fit: a GPU bias plus within-GPU residuals, see new_gpu_band()) is fitted
on the residuals of the C++ predictor's own predictions (`build/bench/predict_bench
--export_predictions=...`, what `perfcast predict` outputs) on the timm rows of four GPUs, with
leave-one-GPU-out coverage as its held-out check; see fit_band(). The full run refits it at the end;
after any change to src/predict, refit only the band (seconds; needs build/bench/predict_bench):

    /usr/bin/python3 scripts/calibrate_roofline.py --band-only
"""

import argparse
import csv
import datetime
import glob
import itertools
import gzip
import json
import math
import os
import sys
import time
from statistics import NormalDist

try:
    import tomllib
except ImportError:  # pragma: no cover - Python < 3.11
    tomllib = None

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
if not os.path.isdir(DEFAULT_DATA):
    DEFAULT_DATA = "/work/shared/data"
NEUSIGHT_COMMIT = "6945927d9afcca2b9daf021f8395e53edc5b4eef"
TIMM_COMMIT = "aa4b5850c1543fa488abf260f18390eda46cf85d"

CLASSES = ["gemm", "conv", "depthwise_conv", "elementwise", "reduction", "movement"]
MATRIX = ("gemm", "conv")
FIT_CLASSES = ["gemm", "conv", "elementwise", "reduction"]
# Elementwise and reduction kernels do <= 1 FLOP per byte on GPUs with >= 12 FLOP per byte of
# bandwidth: their compute term is not identifiable from the data, and a free fit uses it to
# absorb device differences (reduction: a = 0.03, which made LayerNorm "compute bound" on A100 and
# cost 10 points of test MAPE). Pinned to the plain compute roof.
PINNED = {"elementwise": {"a": 1.0, "f": 0.0}, "reduction": {"a": 1.0, "f": 0.0}}

# FLOPs per element, as in src/graph/op_cost_pointwise.cpp.
ELEM_FLOPS = {"add": 1, "addu": 1, "mul": 1, "mulu": 1, "div": 1, "divu": 1, "pow": 1, "powu": 1,
              "relu": 1, "gelu": 8, "tanh": 5}
BINARY = {"add", "mul", "div", "pow"}          # tensor op tensor: reads 2 tensors
UNARY = {"addu", "mulu", "divu", "powu", "relu", "gelu", "tanh"}  # reads 1 tensor (+ a scalar)
FP32 = 4.0
# gemm wave quantisation (src/predict/roofline.h): output tiles of GEMM_WAVE_TILE x GEMM_WAVE_TILE are
# spread over the SMs and the FLOP term counts whole waves. 128 x 128 is the common cuBLAS/CUTLASS
# SGEMM/HGEMM tile; 64 and 256 were worse on the training rows' fit and the test split alike.
GEMM_WAVE_TILE = 128
# Per-device gemm scale (src/predict/roofline.h): how fast a device's fp32 GEMMs run relative to the
# typical device. Measured on its plateau rows (>= GEMM_PLATEAU_FLOPS: on every training device the
# achieved fraction of peak stops rising by then) as the GEMM_SCALE_QUANTILE percentile of the
# achieved fraction, over the geometric mean of all devices'. The upper quartile, not the median:
# long training kernels on the passively cooled P4/T4 lose throughput with duration (thermal/power
# limit; correlation of achieved fraction with log time -0.66 on P4 linear), which is the
# measurement session's state, not the device's capability.
GEMM_PLATEAU_FLOPS = 1e10
# conv: DeepBench fp32 forward convolutions of these GPUs are fitted on (the two data-centre GPUs); the
# GeForce/TITAN Pascal cards and the T4 (Turing) are held out.
DEEPBENCH_CONV_FIT_DEVICES = ["p100-pcie-16gb", "v100-sxm2-16gb"]

GEMM_SCALE_QUANTILE = 75

# ------------------------------------------------------------------------------------------
# Devices


def gemm_device_scale(tab):
    """device -> relative gemm throughput (geometric mean 1) from the plateau gemm rows of `tab`."""
    achieved = {}
    for d in sorted(set(tab.dev[tab.cls == "gemm"])):
        m = (tab.cls == "gemm") & (tab.dev == d) & (tab.F >= GEMM_PLATEAU_FLOPS)
        if m.sum() >= 100:
            achieved[d] = float(np.percentile(tab.Fq[m] / (tab.t[m] * tab.P[m]), GEMM_SCALE_QUANTILE))
    if not achieved:
        return {}, {}
    mean = math.exp(np.mean([math.log(v) for v in achieved.values()]))
    return {d: v / mean for d, v in achieved.items()}, achieved


def chip_scale(gemm_scale, devices):
    """chip -> the geometric mean scale of its measured devices (the devices' files name their die)."""
    by_chip = {}
    for d, v in gemm_scale.items():
        if devices[d]["chip"]:
            by_chip.setdefault(devices[d]["chip"], []).append(math.log(v))
    return {c: math.exp(sum(v) / len(v)) for c, v in by_chip.items()}


def scale_per_device(gemm_scale, devices):
    """device id -> the scale src/predict/roofline.cpp applies: its own, else its chip's (gemm_scale_for)."""
    chips = chip_scale(gemm_scale, devices)
    out = {d: chips[s["chip"]] for d, s in devices.items() if s["chip"] in chips}
    out.update(gemm_scale)
    return out


def gemm_diagnostics(train, test, unscaled_pred):
    """Prints why gemm is mispredicted: per device, the achieved fraction of the fp32 peak on the test
    split's large GEMMs, the previous model's measured/predicted, and how much faster the test kernels
    ran than training kernels of nearly the same shape (every dimension within 2^0.5)."""
    print("\ngemm diagnostics, test split (fp32): device, op, achieved fraction of peak (>= 1e10 FLOPs, median), "
          "measured/predicted of the previous model (median), test/train achieved rate for near shapes (median, n)")
    for d in sorted(set(test.dev[test.cls == "gemm"])):
        for op in ("bmm", "linear"):
            m = (test.dev == d) & (test.op == op)
            mt = (train.dev == d) & (train.op == op)
            if not m.any():
                continue
            large = m & (test.F >= GEMM_PLATEAU_FLOPS)
            achieved = np.median(test.F[large] / (test.t[large] * test.P0[large])) if large.any() else float("nan")
            ratio = np.median(test.t[m] / unscaled_pred[m])
            shift = []
            if mt.any():
                x, rate = np.log2(train.shape[mt]), train.F[mt] / train.t[mt]
                for s, f, t in zip(np.log2(test.shape[m]), test.F[m], test.t[m]):
                    dist = np.abs(x - s).max(axis=1)
                    j = int(np.argmin(dist))
                    if dist[j] <= 0.5:
                        shift.append((f / t) / rate[j])
            shift_text = f"{np.median(shift):.2f} (n={len(shift)})" if shift else "no training rows"
            print(f"  {d:16s} {op:6s} achieved {achieved:.2f}  measured/predicted {ratio:.2f}  test/train {shift_text}")


def load_devices(repo):
    """id -> spec, and a lower-cased id/alias -> id map, from data/devices/*.toml."""
    if tomllib is None:
        sys.exit("Python 3.11+ (tomllib) is needed to read data/devices/*.toml")
    devices, by_key = {}, {}
    for path in sorted(glob.glob(os.path.join(repo, "data", "devices", "*.toml"))):
        with open(path, "rb") as f:
            t = tomllib.load(f)
        c = t["compute"]
        devices[t["id"]] = {
            "id": t["id"], "vendor": t.get("vendor", ""),
            "fp32_flops": c["fp32_tflops"] * 1e12,
            "fp32_matrix_flops": c.get("fp32_matrix_tflops", c["fp32_tflops"]) * 1e12,
            "bw": t["memory"]["bandwidth_gb_s"] * 1e9,
            "sms": c.get("sm_count", 0),
            "chip": t.get("chip", ""),
        }
        for key in [t["id"]] + list(t.get("aliases", [])):
            by_key[key.lower()] = t["id"]
    return devices, by_key


# ------------------------------------------------------------------------------------------
# Operator rows -> (class, F, B, device, latency)


def open_text(path):
    return gzip.open(path, "rt", newline="") if path.endswith(".gz") else open(path, newline="")


def read_rows(path):
    with open_text(path) as f:
        yield from csv.DictReader(f)


def wave_factor(batch, rows, cols, sms, tile=GEMM_WAVE_TILE):
    """ceil(waves) / waves of a gemm's output tiles over the SMs (1 when off or unknown)."""
    if not tile or not sms:
        return 1.0
    waves = batch * math.ceil(rows / tile) * math.ceil(cols / tile) / sms
    return math.ceil(waves) / waves


def op_cost(row):
    """(class, flops, bytes) of one NeuSight row, with perfcast's cost conventions."""
    op = row["OPName"]
    if op in ("bmm", "linear"):
        b, m, n, k = (float(row[x]) for x in ("B", "M", "N", "K"))
        macs = b * m * k * n                       # output B x M x K, reduction over N
        if op == "bmm":                            # bmm(randn(B,M,N), randn(B,N,K))
            return "gemm", 2 * macs, FP32 * (b * m * n + b * n * k + b * m * k)
        # nn.Linear(N, K) on [B, M, N]: weight K x N, bias K, one bias add per output
        return "gemm", 2 * macs + b * m * k, FP32 * (b * m * n + n * k + k + b * m * k)
    if op == "conv":
        b, ci, co, ks = (float(row[x]) for x in ("B", "Input_Channel", "Output_Channel", "Kernel_Szie"))
        s, st, p = float(row["Input_Size"]), float(row["Stride"]), float(row["Padding"])
        o = math.floor((s + 2 * p - ks) / st) + 1
        if o <= 0:
            return None
        outputs = b * co * o * o
        macs = outputs * ci * ks * ks              # bias=False
        return "conv", 2 * macs, FP32 * (b * ci * s * s + co * ci * ks * ks + outputs)
    b, h = float(row["B"]), float(row["H"])
    e = b * h
    if op in ELEM_FLOPS:
        reads = 2 * e if op in BINARY else e + (1 if op.endswith("u") and op != "relu" else 0)
        return "elementwise", ELEM_FLOPS[op] * e, FP32 * (reads + e)
    if op == "ln":      # LayerNormalization(x, weight[H], bias[H]) -> y
        return "reduction", 7 * e, FP32 * (2 * e + 2 * h)
    if op == "softmax":
        return "reduction", 5 * e, FP32 * (2 * e)
    return None
def first_cell(row, names):
    """DeepBench labels one column several ways ("S", "S (Fitler width)", ...): the first filled one."""
    for n in names:
        if row.get(n):
            return row[n]
    return ""


def deepbench_conv_table(data_dir, devices, by_key):
    """DeepBench's fp32 forward convolutions (train/conv.csv, "Float" sheets) of catalog GPUs, with perfcast's
    conv cost (src/learn/deepbench_evaluation.cpp): F = 2 N K P Q C R S, B = input + filters + output at 4 B."""
    tab = Table()
    path = os.path.join(data_dir, "deepbench", "train", "conv.csv")
    for row in read_rows(path):
        dev = by_key.get(row["device"].lower())
        if row["precision"] != "Float" or dev is None or not first_cell(row, ["W"]):
            continue
        try:
            ms = float(row["Forward (msec)"])
        except ValueError:
            continue
        w, h, c, n, k = (float(row[x]) for x in ("W", "H", "C", "N", "K"))
        r = float(first_cell(row, ["R", "R (Filter height)"]))
        sw = float(first_cell(row, ["S", "S (Fitler width)", "S (Filter width)"]))
        sv = float(first_cell(row, ["Vertical stride", "Vertical Stride"]))
        sh = float(first_cell(row, ["Horizontal stride", "Horizontal Stride"]))
        p = math.floor((h + 2 * float(row["pad_h"]) - r) / sv) + 1
        q = math.floor((w + 2 * float(row["pad_w"]) - sw) / sh) + 1
        outputs = n * k * p * q
        tab.cls.append("conv"); tab.op.append("deepbench_conv"); tab.dev.append(dev)
        tab.F.append(2 * outputs * c * r * sw); tab.B.append(FP32 * (n * c * h * w + k * c * r * sw + outputs))
        tab.t.append(ms * 1e-3); tab.dims.append(None); tab.shape.append((0.0,) * 4)
    return tab.finish(devices)




class Table:
    """Column arrays of operator measurements."""

    def __init__(self):
        self.cls, self.op, self.dev, self.F, self.B, self.t = [], [], [], [], [], []
        self.dims = []  # gemm output (batch, rows, cols); None otherwise
        self.shape = []  # gemm (B, M, N, K) as NeuSight gives it; (0, 0, 0, 0) otherwise

    def add_file(self, path, by_key, unmapped):
        n = 0
        for row in read_rows(path):
            lat = float(row["Latency"])
            if not lat > 0:
                continue
            dev = by_key.get(row["Device"].lower()) or by_key.get(row["Device"].replace(" ", "_").lower())
            if dev is None:
                unmapped.add(row["Device"])
                continue
            c = op_cost(row)
            if c is None:
                continue
            self.cls.append(c[0]); self.op.append(row["OPName"]); self.dev.append(dev)
            self.F.append(c[1]); self.B.append(c[2]); self.t.append(lat * 1e-3)
            # NeuSight's bmm/linear: output B x M x K (the reduction is over N)
            self.dims.append((float(row["B"]), float(row["M"]), float(row["K"])) if c[0] == "gemm" else None)
            self.shape.append(tuple(float(row[x]) for x in "BMNK") if c[0] == "gemm" else (0.0,) * 4)
            n += 1
        return n

    def finish(self, devices, amd_matrix_fp32=True):
        self.cls = np.array(self.cls); self.op = np.array(self.op); self.dev = np.array(self.dev)
        self.F = np.array(self.F); self.B = np.array(self.B); self.t = np.array(self.t)
        self.W = np.array([devices[d]["bw"] for d in self.dev])
        self.shape = np.array(self.shape).reshape(-1, 4)
        self.wave = np.array([wave_factor(*dm, devices[d]["sms"]) if dm else 1.0 for dm, d in zip(self.dims, self.dev)])
        self.set_wave(True)
        self.set_peak(devices, amd_matrix_fp32)
        self.P0 = self.P.copy()  # the nominal peak, whatever set_peak does later
        return self

    def set_peak(self, devices, amd_matrix_fp32, gemm_scale=None):
        """P per row: the nominal peak, times the device's gemm scale on gemm rows (when given)."""
        matrix = np.isin(self.cls, ["gemm", "conv"])
        vec = np.array([devices[d]["fp32_flops"] for d in self.dev])
        mat = np.array([devices[d]["fp32_matrix_flops"] for d in self.dev])
        self.P = np.where(matrix & amd_matrix_fp32, mat, vec)
        if gemm_scale:
            scale = np.array([gemm_scale.get(d, 1.0) for d in self.dev])
            self.P = np.where(self.cls == "gemm", self.P * scale, self.P)

    def set_wave(self, on):
        """Fq = the FLOPs the compute term sees: F x the wave factor (or F)."""
        self.Fq = self.F * self.wave if on else self.F.copy()

    def subset(self, mask):
        s = Table()
        for k in ("cls", "op", "dev", "F", "B", "t", "W", "P", "P0", "wave", "Fq", "shape"):
            setattr(s, k, getattr(self, k)[mask])
        return s

    def __len__(self):
        return len(self.t)


# ------------------------------------------------------------------------------------------
# Model and fit


def predict(p, F, B, P, W):
    """p = dict(a, f, b, g, t0_s)."""
    return np.maximum((F + p["f"]) / (P * p["a"]), (B + p["g"]) / (W * p["b"])) + p["t0_s"]


def unpack(u):
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))
    return {"a": sig(u[0]), "f": math.exp(u[1]), "b": sig(u[2]), "g": math.exp(u[3]), "t0_s": math.exp(u[4])}


def fit_class(tab, weight=None, fixed=None):
    """Levenberg-Marquardt on log residuals; a, b via logistic, f, g, t0 via exp.

    `fixed` pins some parameters (e.g. {"a": 1.0, "f": 0.0}) and fits the others."""
    logt = np.log(tab.t)
    sw = np.ones(len(tab)) if weight is None else np.sqrt(weight / np.mean(weight))
    fixed = fixed or {}

    def params_of(u):
        p = unpack(u)
        p.update(fixed)
        return p

    def resid(u):
        return (np.log(predict(params_of(u), tab.Fq, tab.B, tab.P, tab.W)) - logt) * sw

    def solve(u):
        lam, r = 1e-2, resid(u)
        cost = r @ r
        for _ in range(200):
            J = np.empty((len(r), len(u)))
            for i in range(len(u)):
                h = 1e-4 * max(1.0, abs(u[i]))
                e = np.zeros_like(u); e[i] = h
                J[:, i] = (resid(u + e) - resid(u - e)) / (2 * h)
            A, g = J.T @ J, J.T @ r
            improved = False
            for _ in range(20):
                step = np.linalg.solve(A + lam * np.diag(np.diag(A) + 1e-12), -g)
                un = np.clip(u + step, -40, 40)
                rn = resid(un)
                cn = rn @ rn
                if cn < cost:
                    converged = cost - cn < 1e-10 * cost
                    u, r, cost, lam, improved = un, rn, cn, max(lam / 3, 1e-9), True
                    break
                lam *= 4
            if not improved or converged:
                break
        return u, cost

    best = None
    a_starts = (0.3, 0.8) if "a" not in fixed else (0.5,)
    f_starts = (1e6, 1e9) if "f" not in fixed else (1e6,)
    for a0 in a_starts:
        for f0 in f_starts:
            for g0 in (1e4, 1e6):
                for t00 in (2e-6, 1e-5):
                    u0 = np.array([math.log(a0 / (1 - a0)), math.log(f0), math.log(0.7 / 0.3), math.log(g0),
                                   math.log(t00)])
                    u, cost = solve(u0)
                    if best is None or cost < best[1]:
                        best = (u, cost)
    return params_of(best[0])


def metrics(pred, meas):
    err = np.abs(pred - meas) / meas
    return {"n": int(len(meas)), "mape": float(np.mean(err)), "acc10": float(np.mean(err <= 0.10)),
            "median_ape": float(np.median(err))}


def predict_table(params, tab):
    out = np.empty(len(tab))
    for c in np.unique(tab.cls):
        m = tab.cls == c
        out[m] = predict(params[c], tab.Fq[m], tab.B[m], tab.P[m], tab.W[m])
    return out


def evaluate(params, tab):
    pred = predict_table(params, tab)
    res = {"all": metrics(pred, tab.t), "per_class": {}, "per_device": {}, "per_class_device": {}}
    for c in sorted(np.unique(tab.cls)):
        res["per_class"][c] = metrics(pred[tab.cls == c], tab.t[tab.cls == c])
    for d in sorted(np.unique(tab.dev)):
        res["per_device"][d] = metrics(pred[tab.dev == d], tab.t[tab.dev == d])
    for c in sorted(np.unique(tab.cls)):
        for d in sorted(np.unique(tab.dev)):
            m = (tab.cls == c) & (tab.dev == d)
            if m.any():
                res["per_class_device"][f"{c}/{d}"] = metrics(pred[m], tab.t[m])
    return res, pred


def rounded(p):
    """4 significant digits; offsets below one FLOP / byte are 0."""
    return {k: (0.0 if k in ("f", "g") and v < 1 else float(f"{v:.4g}")) for k, v in p.items()}


# ------------------------------------------------------------------------------------------
# End-to-end (timm): per-node overhead and fp16 tensor-core multiplier

# torchvision fixture (tests/fixtures/export_models.py) -> (timm model, image size): the same
# architecture at the same input size (parameter counts agree to the 0.01M timm prints).
TIMM_MODELS = {
    "resnet50": ("resnet50", 224), "vgg16": ("vgg16", 224), "densenet121": ("densenet121", 224),
    "efficientnet_b0": ("efficientnet_b0", 224), "mobilenet_v3_large": ("mobilenetv3_large_100", 224),
    "convnext_tiny": ("convnext_tiny", 224), "swin_t": ("swin_tiny_patch4_window7_224", 224),
    "vit_b_16": ("vit_base_patch16_224", 224), "resnet18": ("resnet18", 224),
    "mobilenet_v2": ("mobilenetv2_100", 224), "regnet_y_400mf": ("regnety_004", 224),
    "mnasnet1_0": ("mnasnet_100", 224), "inception_v3": ("inception_v3", 299),
}
# timm file -> (perfcast device id, split). Every eager AMP (fp16) NCHW inference file of a GPU in
# data/devices/; the -dynamo files (torch.compile, a different regime) and the bf16 ones are left out.
# split=fit: the rows the tensor-core/memory multipliers are fitted on; the band has its own split
# (E2E_BAND_FIT_DEVICES).
TIMM_FILES = {
    "benchmark-infer-amp-nchw-pt240-cu124-rtx3090.csv": ("rtx-3090", "fit"),
    "benchmark-infer-amp-nchw-pt240-cu124-rtx4090.csv": ("rtx-4090", "eval"),
    "benchmark-infer-amp-nchw-pt291-cu128-4090.csv": ("rtx-4090", "eval"),
    "benchmark-infer-amp-nchw-pt210-cu121-rtx3090.csv": ("rtx-3090", "eval"),
    "benchmark-infer-amp-nchw-pt113-cu117-rtx3090.csv": ("rtx-3090", "eval"),
    "benchmark-infer-amp-nchw-pt291-cu130-5090.csv": ("rtx-5090", "eval"),
    "benchmark-infer-amp-nchw-pt291-cu130-pro6000maxq.csv": ("rtx-pro-6000-blackwell-max-q", "eval"),
}
TIMM_COLUMNS = ["perfcast_model", "timm_model", "file", "device", "split", "infer_img_size", "infer_batch_size",
                "infer_samples_per_sec", "infer_step_time", "param_count", "infer_gmacs"]


def extract_timm_rows(data_dir, out_path):
    """Writes the timm rows perfcast validates against (one per model and file)."""
    rows = []
    for fname, (device, split) in TIMM_FILES.items():
        by_model = {}
        for r in read_rows(os.path.join(data_dir, "timm", fname)):
            by_model.setdefault((r["model"], r["infer_img_size"]), r)  # first row of a model/size
        for pm, (tm, size) in TIMM_MODELS.items():
            r = by_model.get((tm, str(size)))
            if r is None:
                print(f"timm: no {tm} @ {size} in {fname}")
                continue
            row = {"perfcast_model": pm, "timm_model": tm, "file": fname, "device": device, "split": split,
                   **{k: r[k] for k in TIMM_COLUMNS[5:]}}
            row["infer_batch_size"] = str(int(float(row["infer_batch_size"])))  # pt210 prints "1024.0"
            rows.append(row)
    with open(out_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=TIMM_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} rows to {out_path}")



def load_node_costs(path):
    """(model, batch) -> arrays of the launched nodes: cls, F, Bf (float bytes as exported), Bo."""
    models = {}
    with open_text(path) as f:
        for row in csv.DictReader(f):
            m = models.setdefault((row["model"], int(row["batch"])), {"cls": [], "F": [], "Bf": [], "Bo": []})
            m["cls"].append(row["class"]); m["F"].append(float(row["flops"]))
            m["Bf"].append(float(row["float_bytes"])); m["Bo"].append(float(row["other_bytes"]))
    for m in models.values():
        for k in ("F", "Bf", "Bo"):
            m[k] = np.array(m[k])
        m["cls"] = np.array(m["cls"])
        m["masks"] = {c: m["cls"] == c for c in np.unique(m["cls"])}
    return models


def e2e_predict(params, nodes, dev, precision_bytes, tensor_peak, x, overhead):
    """Seconds per batch, as src/predict/roofline.cpp computes it: the sum over launched kernels of
    the class roofline + t0 + the per-node overhead. Float bytes are re-sized to the precision;
    gemm/conv run at the tensor peak with a x x[class] (capped at 1), the other classes at the fp32
    vector peak; below 4 bytes per element conv's b is multiplied by x["conv_memory"], every other class's
    by x["memory"] (capped at 1). Kernels perfcast cannot cost ("unknown") count the movement t0 only."""
    total = 0.0
    for c, m in nodes["masks"].items():
        if c == "unknown":
            total += params["movement"]["t0_s"] * int(m.sum())
            continue
        p = dict(params[c])
        if c in MATRIX:
            p["a"] = min(1.0, p["a"] * x[c])
            P = tensor_peak
        else:
            P = dev["fp32_flops"]
        if precision_bytes < 4:
            p["b"] = min(1.0, p["b"] * x["conv_memory" if c == "conv" else "memory"])
        B = nodes["Bf"][m] * precision_bytes / 4.0 + nodes["Bo"][m]
        total += float(np.sum(predict(p, nodes["F"][m], B, P, dev["bw"])))
    return total + overhead * len(nodes["cls"])


def fit_end_to_end(params, devices, rows_path, nodes_path, fit_split="fit"):
    """Fits the fp16 tensor-core multiplier and the per-node overhead on the timm rows whose
    split is `fit_split` (RTX 3090, PyTorch 2.4.0) by least squared log error on a grid; reports
    MAPE/Acc10 of this Python mirror on every file, and its prediction (ms) per (model, file), which
    fit_band() compares with the C++ predictor's. The latency band is not fitted here (fit_band)."""
    models = load_node_costs(nodes_path)
    rows = [r for r in read_rows(rows_path) if (r["perfcast_model"], int(r["infer_batch_size"])) in models]
    for d in {r["device"] for r in rows}:
        with open(os.path.join(REPO, "data", "devices", d + ".toml"), "rb") as f:
            devices[d]["fp16_flops"] = tomllib.load(f)["compute"]["fp16_tflops"] * 1e12

    def preds(rs, mult, ovh):
        return np.array([e2e_predict(params, models[(r["perfcast_model"], int(r["infer_batch_size"]))],
                                     devices[r["device"]], 2.0, devices[r["device"]]["fp16_flops"], mult, ovh)
                         for r in rs])

    fit_rows = [r for r in rows if r["split"] == fit_split]
    log_meas = np.log(np.array([float(r["infer_step_time"]) * 1e-3 for r in fit_rows]))

    keys = ["gemm", "conv", "memory", "conv_memory"]

    def fit(overhead):
        """Coarse-to-fine grid over (gemm multiplier, conv multiplier, low-precision memory multiplier,
        conv's low-precision memory multiplier) at a fixed per-node overhead. A multiplier stops where
        a x multiplier = 1 (b x multiplier = 1). conv has its own memory multiplier because its constants
        come from bare cuDNN kernels (DeepBench), while eager AMP NCHW convolutions also convert layouts."""
        lo_hi = [(0.2, 1.0 / params["gemm"]["a"]), (0.2, 1.0 / params["conv"]["a"]), (0.5, 5.0),
                 (0.1, 1.0 / params["conv"]["b"])]
        best = None
        for _ in range(5):
            for v in itertools.product(*[np.linspace(a, b, 6) for a, b in lo_hi]):
                r = np.log(preds(fit_rows, dict(zip(keys, v)), overhead)) - log_meas
                if best is None or r @ r < best[0]:
                    best = (float(r @ r), v)
            lo_hi = [(max(a, v - (b - a) / 5), min(b, v + (b - a) / 5)) for (a, b), v in zip(lo_hi, best[1])]
        return best[0], {k: float(v) for k, v in zip(keys, best[1])}

    # The per-node overhead is not identifiable from these rows (batch 1024: kernels are long and
    # eager dispatch overlaps them): profile it, then ship 0 (NeuSight's t0_c, timed per operator
    # with CUDA events, already holds each operator's launch and dispatch gap).
    profile = {}
    for overhead in (0.0, 1e-5, 3e-5, 6e-5):
        c, xs = fit(overhead)
        profile[f"{overhead * 1e6:g}us"] = {"sum_sq_log_error": round(c, 5), **{k: round(v, 4) for k, v in xs.items()}}
    ovh = 0.0
    _, x = fit(ovh)
    report, per_model, mirror = {}, {}, {}
    for key in sorted({(r["device"], r["file"], r["split"]) for r in rows}, key=lambda k: (k[2] != "fit", k)):
        rs = [r for r in rows if (r["device"], r["file"], r["split"]) == key]
        meas = np.array([float(r["infer_step_time"]) * 1e-3 for r in rs])
        pred = preds(rs, x, ovh)
        name = f"{key[0]} {key[1]}"
        report[name] = metrics(pred, meas)
        report[name]["role"] = key[2]
        per_model[name] = {r["perfcast_model"]: round(float(p / m), 3) for r, p, m in zip(rs, pred, meas)}
        for r, p in zip(rs, pred):
            mirror[(r["perfcast_model"], r["file"])] = float(p) * 1e3
    return x, ovh, report, per_model, profile, mirror


# ------------------------------------------------------------------------------------------
# End-to-end latency band, from the C++ predictor's own predictions

# The shipped band is fitted on every row of these GPUs (all four with timm eager AMP NCHW files); its
# held-out coverage is estimated by leave-one-GPU-out (the same fit on the other GPUs' rows, coverage
# on the GPU left out), which is what a GPU outside the fit sees.
E2E_BAND_FIT_DEVICES = ["rtx-3090", "rtx-4090", "rtx-5090", "rtx-pro-6000-blackwell-max-q"]
E2E_BAND_PERCENTILES = (10, 90)
DEFAULT_PREDICT_BENCH = os.path.join(REPO, "build", "bench", "predict_bench")
DEFAULT_PREDICTIONS = os.path.join(REPO, "build", "timm_e2e_predictions.csv")
# e2e_predict leaves out gemm wave quantisation, which C++ applies: 0.26% at most on the timm rows (ViT-B/16,
# VGG-16 on the RTX 5090) when written. Beyond 1% the mirror no longer stands for the C++ predictor.
MIRROR_TOLERANCE = 0.01


def export_cpp_predictions(predict_bench, out_path):
    """Runs `predict_bench --export_predictions`: perfcast's C++ prediction of every timm row, read with
    the roofline.json on disk (so run it after that file is written)."""
    import subprocess
    if not os.path.exists(predict_bench):
        sys.exit(f"{predict_bench} not found: build it (ninja -C build predict_bench) or pass --predict-bench")
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    subprocess.run([predict_bench, f"--export_predictions={out_path}"], check=True)


# Standard normal quantiles at 1%, 2%, ..., 99%: the GPU-bias draws of new_gpu_band().
BIAS_QUANTILES = np.array([NormalDist().inv_cdf(k / 100) for k in range(1, 100)])


def new_gpu_band(ratio, dev):
    """(low, high) factors, rounded as shipped: the E2E_BAND_PERCENTILES of measured / predicted on a GPU
    outside the fit. log(measured / predicted) = GPU bias + within-GPU residual: the bias of a new GPU is
    normal, with the mean and standard deviation of the G fitted GPUs' mean log ratios, widened by
    sqrt(1 + 1/G) (a new draw around an estimated mean: the predictive spread); the within-GPU residuals are
    the rows' own, each about its GPU's mean. The band is the percentiles of every (bias quantile + residual)
    sum. Pooling the rows (the band before) ignores that a GPU's rows move together: it held 69% of a GPU
    it had not seen."""
    gpus = sorted(set(dev))
    log_ratio = np.log(ratio)
    means = np.array([log_ratio[dev == g].mean() for g in gpus])
    spread = means.std(ddof=1) * math.sqrt(1 + 1 / len(gpus)) if len(gpus) > 1 else 0.0
    within = np.concatenate([log_ratio[dev == g] - log_ratio[dev == g].mean() for g in gpus])
    values = (means.mean() + spread * BIAS_QUANTILES[:, None] + within[None, :]).ravel()
    lo, hi = np.exp(np.percentile(values, E2E_BAND_PERCENTILES))
    return round(float(min(lo, 1.0)), 4), round(float(max(hi, 1.0)), 4)


def inside(ratio, band):
    """Share of rows whose measured latency lies in [predicted x low, predicted x high], as C++ checks it."""
    return float(np.mean((band[0] <= ratio) & (ratio <= band[1])))


def accuracy(pred_ms, meas_ms):
    m = metrics(pred_ms, meas_ms)
    m["median_pred_over_meas"] = float(np.median(pred_ms / meas_ms))
    return m


def fit_band(predictions_path):
    """Fits the shipped band on E2E_BAND_FIT_DEVICES' rows and runs leave-one-GPU-out; returns the
    roofline.json "interval" fields (without operator_test_split) and metrics.end_to_end_timm."""
    rows = list(read_rows(predictions_path))
    dev = np.array([r["device"] for r in rows])
    fname = np.array([r["file"] for r in rows])
    pred = np.array([float(r["predicted_ms"]) for r in rows])
    meas = np.array([float(r["measured_ms"]) for r in rows])
    ratio = meas / pred
    fit_mask = np.isin(dev, E2E_BAND_FIT_DEVICES)
    band = new_gpu_band(ratio[fit_mask], dev[fit_mask])
    logo = {}
    for d in E2E_BAND_FIT_DEVICES:
        held = dev == d
        keep = fit_mask & ~held
        b = new_gpu_band(ratio[keep], dev[keep])
        logo[d] = {"low_factor": b[0], "high_factor": b[1], "n": int(held.sum()), "coverage": inside(ratio[held], b)}
    logo_n = sum(v["n"] for v in logo.values())
    logo_all = sum(v["coverage"] * v["n"] for v in logo.values()) / logo_n
    per_file, per_gpu = {}, {}
    for d, f in sorted({(d, f) for d, f in zip(dev, fname)}):
        m = (dev == d) & (fname == f)
        split = rows[int(np.argmax(m))]["split"]
        per_file[f"{d} {f}"] = {**accuracy(pred[m], meas[m]), "role": split, "inside_band": inside(ratio[m], band),
                                "inside_held_out_gpu_band": inside(ratio[m], (logo[d]["low_factor"],
                                                                              logo[d]["high_factor"]))}
    for d in sorted(set(dev)):
        m = dev == d
        per_gpu[d] = {**accuracy(pred[m], meas[m]), "inside_band": inside(ratio[m], band)}
    interval = {
        "low_factor": band[0], "high_factor": band[1],
        "fitted_on": f"every timm eager AMP fp16 NCHW row (data/validation/timm_rows.csv) of "
                     f"{', '.join(E2E_BAND_FIT_DEVICES)} ({int(fit_mask.sum())} rows, 7 files)",
        "note": f"the end-to-end latency band of perfcast predict for a GPU outside the fit: the "
                f"{E2E_BAND_PERCENTILES[0]}th/{E2E_BAND_PERCENTILES[1]}th percentiles of measured / predicted when "
                "log(measured / predicted) = a GPU bias (normal: mean and sd of the fitted GPUs' mean log ratios, sd "
                "x sqrt(1 + 1/G)) + a within-GPU residual (the rows' own), predicted = the C++ predictor's own value "
                "(build/bench/predict_bench --export_predictions); held-out coverage = leave_one_gpu_out (each GPU's "
                "band from the other GPUs' rows, coverage on it). Refit: /usr/bin/python3 "
                "scripts/calibrate_roofline.py --band-only",
        "leave_one_gpu_out": logo,
        "leave_one_gpu_out_coverage": logo_all,
        "date": datetime.date.today().isoformat(),
        "script": "scripts/calibrate_roofline.py --band-only",
    }
    e2e_metrics = {"predictions": "C++ predict_inference_latency (AMP fp16, NCHW), as perfcast predict outputs",
                   "per_gpu": per_gpu, "per_file": per_file}
    return interval, e2e_metrics, rows, pred


def print_band(interval, e2e_metrics):
    print(f"\nEnd-to-end latency band x{interval['low_factor']:.3f}..x{interval['high_factor']:.3f} "
          f"({interval['fitted_on']}); leave-one-GPU-out:")
    for d, v in interval["leave_one_gpu_out"].items():
        print(f"  {d:30s} band x{v['low_factor']:.3f}..x{v['high_factor']:.3f} from the other GPUs: "
              f"{100 * v['coverage']:5.1f}% of its {v['n']} rows inside")
    print(f"  all GPUs, each held out: {100 * interval['leave_one_gpu_out_coverage']:.1f}%")
    print("\nREADME table (perfcast predict, C++; role: the multipliers' split; band coverage: leave-one-GPU-out band):")
    print("| GPU | timm file (PyTorch) | multipliers | n | MAPE | Acc(10%) | median pred/meas | inside the held-out-GPU band |")
    print("|---|---|---|---|---|---|---|---|")
    logo = interval["leave_one_gpu_out"]
    for name, v in e2e_metrics["per_file"].items():
        d, f = name.split(" ", 1)
        pt = f.split("-")[4]
        print(f"| {d} | {pt} | {'fit' if v['role'] == 'fit' else 'held out'} | {v['n']} | {100 * v['mape']:.1f}% | "
              f"{100 * v['acc10']:.0f}% | {v['median_pred_over_meas']:.3f} | {100 * v['inside_held_out_gpu_band']:.0f}% |")
    for d, v in e2e_metrics["per_gpu"].items():
        print(f"| **{d}** | all files | | {v['n']} | {100 * v['mape']:.1f}% | {100 * v['acc10']:.0f}% | "
              f"{v['median_pred_over_meas']:.3f} | {100 * logo[d]['coverage']:.0f}% "
              f"(x{logo[d]['low_factor']:.3f}–x{logo[d]['high_factor']:.3f}) |")
    n = sum(v["n"] for v in logo.values())
    print(f"| all | | | {n} | | | | **{100 * interval['leave_one_gpu_out_coverage']:.0f}%** |")


def write_band(out_path, interval, e2e_metrics):
    """Rewrites only interval (keeping its operator_test_split) and metrics.end_to_end_timm's band and
    C++ accuracy fields of roofline.json; every other key is kept as it is."""
    with open(out_path) as f:
        j = json.load(f)
    previous = j.get("interval", {})
    j["interval"] = {**interval, **({"operator_test_split": previous["operator_test_split"]}
                                    if "operator_test_split" in previous else {})}
    j.setdefault("metrics", {}).setdefault("end_to_end_timm", {}).update(e2e_metrics)
    with open(out_path + ".tmp", "w") as f:
        json.dump(j, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(out_path + ".tmp", out_path)


def refit_band(args, mirror=None):
    """Exports the C++ predictions, fits the band, checks the Python mirror (when given) against C++,
    writes the band into roofline.json and prints the README table."""
    export_cpp_predictions(args.predict_bench, args.predictions)
    interval, e2e_metrics, rows, pred = fit_band(args.predictions)
    if mirror:
        diffs = [abs(mirror[(r["perfcast_model"], r["file"])] / p - 1) for r, p in zip(rows, pred)
                 if (r["perfcast_model"], r["file"]) in mirror]
        worst = max(diffs) if diffs else float("nan")
        e2e_metrics["python_mirror_max_relative_difference"] = worst
        print(f"\nPython mirror (e2e_predict) vs C++ on {len(diffs)} of {len(rows)} rows: max |mirror/C++ - 1| = "
              f"{100 * worst:.2f}%" + ("" if worst < MIRROR_TOLERANCE else "  WARNING: the multipliers were fitted on a "
                                       "mirror that no longer matches C++ (src/predict/roofline.cpp changed): update "
                                       "e2e_predict, then rerun the full script"))
    write_band(args.out, interval, e2e_metrics)
    print_band(interval, e2e_metrics)
    print(f"\nwrote interval and metrics.end_to_end_timm of {args.out}")


# ------------------------------------------------------------------------------------------


def print_metrics(title, res):
    print(f"\n{title}")
    print(f"  {'group':38s} {'n':>6s} {'MAPE':>7s} {'Acc10':>6s} {'medAPE':>7s}")
    for name, group in (("all", {"all": res["all"]}), ("class", res["per_class"]), ("device", res["per_device"])):
        for k, v in group.items():
            print(f"  {name + ':' + k:38s} {v['n']:6d} {100 * v['mape']:6.1f}% {100 * v['acc10']:5.1f}% "
                  f"{100 * v['median_ape']:6.1f}%")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--data", default=DEFAULT_DATA, help="the shared data folder (default: %(default)s)")
    ap.add_argument("--out", default=os.path.join(REPO, "data", "calibration", "roofline.json"))
    ap.add_argument("--extract-timm", action="store_true",
                    help="(re)write data/validation/timm_rows.csv from the shared timm CSVs, then exit")
    ap.add_argument("--band-only", action="store_true",
                    help="refit only the end-to-end latency band (roofline.json interval, metrics.end_to_end_timm) "
                         "from the C++ predictor's current predictions; rerun after any change to src/predict")
    ap.add_argument("--predict-bench", default=DEFAULT_PREDICT_BENCH, help="default: %(default)s")
    ap.add_argument("--predictions", default=DEFAULT_PREDICTIONS,
                    help="where predict_bench --export_predictions writes (default: %(default)s)")
    args = ap.parse_args()
    if args.extract_timm:
        extract_timm_rows(args.data, os.path.join(REPO, "data", "validation", "timm_rows.csv"))
        return
    if args.band_only:
        refit_band(args)
        return
    t_start = time.time()
    ns = os.path.join(args.data, "neusight", "operators")
    devices, by_key = load_devices(REPO)
    unmapped = set()

    train_files = sorted(glob.glob(os.path.join(ns, "nvidia", "train_collect", "*.csv.gz")))
    amd_train_files = sorted(glob.glob(os.path.join(ns, "amd", "train_collect", "*.csv.gz")))
    test_files = [os.path.join(ns, "nvidia", "test", f + ".csv") for f in ("bmm", "linear", "elem", "ln", "softmax")]
    amd_test_files = sorted(glob.glob(os.path.join(ns, "amd", "test_collect", "*.csv.gz")))
    if not train_files or not all(os.path.exists(f) for f in test_files):
        sys.exit(f"NeuSight operator data not found under {ns}")

    train = Table()
    for f in train_files + amd_train_files:
        train.add_file(f, by_key, unmapped)
    train.finish(devices)
    test = Table()
    for f in test_files:
        test.add_file(f, by_key, unmapped)
    test.finish(devices)
    amd_test = Table()
    for f in amd_test_files:
        amd_test.add_file(f, by_key, unmapped)
    amd_test.finish(devices)
    if unmapped:
        print("WARNING: devices without a perfcast id (rows skipped):", ", ".join(sorted(unmapped)))
    print(f"train rows {len(train)} ({', '.join(sorted(set(train.dev)))}); test rows {len(test)} "
          f"({', '.join(sorted(set(test.dev)))}); AMD GEMM test rows {len(amd_test)}")

    # The previous model (one gemm curve for every device, no device scale), for before/after figures
    # and the leave-one-device-out runs below; then the device scale from the training rows only.
    train_unscaled, test_unscaled = train.subset(np.ones(len(train), bool)), test.subset(np.ones(len(test), bool))
    gemm_scale, gemm_achieved = gemm_device_scale(train)
    train.set_peak(devices, True, gemm_scale)
    # Test rows: as C++ applies it, a device without gemm training rows takes its die's scale.
    test.set_peak(devices, True, scale_per_device(gemm_scale, devices))

    # Shared (device-agnostic, both vendors) parameters.
    params = {c: fit_class(train.subset(train.cls == c), fixed=PINNED.get(c)) for c in FIT_CLASSES}
    neusight_conv_params = params["conv"]
    deepbench = deepbench_conv_table(args.data, devices, by_key)
    db_fit = np.isin(deepbench.dev, DEEPBENCH_CONV_FIT_DEVICES)
    if not db_fit.any():
        sys.exit(f"no DeepBench convolutions of {DEEPBENCH_CONV_FIT_DEVICES} under {args.data}/deepbench")
    deepbench_kernel_params = fit_class(deepbench.subset(db_fit))
    params["conv"] = dict(deepbench_kernel_params, t0_s=params["elementwise"]["t0_s"])
    if params["gemm"]["a"] * max(gemm_scale.values(), default=1.0) > 1:
        sys.exit("gemm a x device scale > 1: src/predict/roofline.cpp would cap it; the fit and C++ disagree")
    # movement (Transpose/Concat/Gather...): no NeuSight measurement; copies are streaming
    # kernels like elementwise ones, so they reuse the elementwise memory parameters.
    params["movement"] = dict(params["elementwise"])
    # depthwise conv (one input channel per group): no NeuSight measurement (its convs are dense);
    # a streaming stencil on the vector units, timed with the elementwise parameters.
    params["depthwise_conv"] = dict(params["elementwise"])
    test_res, test_pred = evaluate(params, test)
    # Before: the same fit without the device scale, on the same test split.
    unscaled_params = dict(params, gemm=fit_class(train_unscaled.subset(train_unscaled.cls == "gemm")))
    unscaled_res, unscaled_pred = evaluate(unscaled_params, test_unscaled)
    # A device perfcast has no gemm rows for gets scale 1: leave each scaled device out of the scale and
    # of the gemm fit, then predict its test rows with scale 1 (the error a new device sees).
    gemm_lodo = {}
    for d in sorted(gemm_scale):
        keep = train_unscaled.subset((train_unscaled.cls == "gemm") & (train_unscaled.dev != d))
        scale_without, _ = gemm_device_scale(keep)
        keep.set_peak(devices, True, scale_without)
        held = test_unscaled.subset((test_unscaled.cls == "gemm") & (test_unscaled.dev == d))
        gemm_lodo[d] = evaluate({"gemm": fit_class(keep)}, held)[0]["all"]
    amd_res, _ = evaluate(params, amd_test)
    amd_test.set_peak(devices, amd_matrix_fp32=False)
    amd_res_vec, _ = evaluate(params, amd_test)
    train_res, _ = evaluate(params, train)

    # Vendor split: NVIDIA-only fit of the classes that AMD has training data for.
    nv = train.subset(np.array([devices[d]["vendor"] == "nvidia" for d in train.dev]))
    params_nv = dict(params)
    for c in ("elementwise", "reduction"):
        params_nv[c] = fit_class(nv.subset(nv.cls == c), fixed=PINNED.get(c))
    split_res, _ = evaluate(params_nv, test)

    # conv: DeepBench per device (fit / held out), with the fitted kernel curve (t0 ~ 0, as DeepBench times
    # kernels) and as shipped (eager launch floor as t0); NeuSight's conv rows under both curves.
    conv_deepbench = {}
    for d in sorted(set(deepbench.dev)):
        held = deepbench.subset(deepbench.dev == d)
        role = "fit" if d in DEEPBENCH_CONV_FIT_DEVICES else "held out"
        for name, p in (("kernel_curve", deepbench_kernel_params), ("shipped", params["conv"]),
                        ("neusight_fit", neusight_conv_params)):
            pred = predict(p, held.F, held.B, held.P, held.W)
            conv_deepbench[f"{d} {name}"] = {**metrics(pred, held.t), "role": role,
                                             "median_pred_over_meas": float(np.median(pred / held.t))}
    conv = train.subset(train.cls == "conv")
    conv_neusight = {}
    for name, p in (("neusight_fit", neusight_conv_params), ("shipped", params["conv"])):
        pred = predict(p, conv.F, conv.B, conv.P, conv.W)
        conv_neusight[name] = {**metrics(pred, conv.t), "median_pred_over_meas": float(np.median(pred / conv.t))}

    ratio = test.t / test_pred
    low, high = (float(x) for x in np.percentile(ratio, [10, 90]))
    interval_per_class = {}
    for c in sorted(set(test.cls)):
        lo, hi = np.percentile(ratio[test.cls == c], [10, 90])
        interval_per_class[c] = {"low_factor": round(float(lo), 4), "high_factor": round(float(hi), 4)}

    # End-to-end per-node overhead + fp16 multiplier (timm, RTX 3090 pt240 rows).
    e2e = None
    rows_path = os.path.join(REPO, "data", "validation", "timm_rows.csv")
    nodes_path = os.path.join(REPO, "data", "validation", "timm_node_costs.csv")
    if os.path.exists(rows_path) and os.path.exists(nodes_path):
        mult, ovh, report, per_model, profile, mirror = fit_end_to_end(params, devices, rows_path, nodes_path)
        e2e = {"tensor_core_multiplier": {k: round(mult[k], 4) for k in MATRIX},
               "memory_multiplier": round(mult["memory"], 4), "conv_memory_multiplier": round(mult["conv_memory"], 4),
               "per_node_overhead_s": float(f"{ovh:.3g}"), "overhead_profile": profile,
               "report": report, "predicted_over_measured": per_model, "mirror": mirror}
    else:
        print(f"NOTE: {rows_path} or {nodes_path} missing: per-node overhead left at 0")

    print_metrics("Held-out test split (NeuSight nvidia/test), shared parameters", test_res)
    print_metrics("Before: gemm without the device scale (previous model), same split", unscaled_res)
    gemm_diagnostics(train, test, unscaled_pred)
    print("\ngemm device scale (training plateau rows, p%d of achieved fraction of peak / geometric mean):"
          % GEMM_SCALE_QUANTILE)
    for d, v in gemm_scale.items():
        print(f"  {d:30s} {v:.3f} (achieved {gemm_achieved[d]:.3f})")
    print("gemm, each scaled device left out (scale 1, fit without it), its test rows:")
    for d, v in gemm_lodo.items():
        print(f"  {d:30s} {v['n']:6d} {100 * v['mape']:6.1f}% {100 * v['acc10']:5.1f}%")
    print("\n  per class x device (MAPE / Acc10):")
    for k, v in test_res["per_class_device"].items():
        print(f"    {k:36s} {v['n']:6d} {100 * v['mape']:6.1f}% {100 * v['acc10']:5.1f}%")
    print_metrics("AMD GEMM (amd/test_collect; no AMD GEMM in training), fp32 matrix peak", amd_res)
    print_metrics("AMD GEMM, fp32 vector peak instead", amd_res_vec)
    print_metrics("Vendor split (elementwise/reduction fitted on NVIDIA only), NVIDIA test", split_res)
    print_metrics("Training fit (train_collect, both vendors)", train_res)
    print(f"\nconv, DeepBench fp32 forward (fit on {', '.join(DEEPBENCH_CONV_FIT_DEVICES)}): MAPE / Acc10 / "
          "median pred/meas")
    for k, v in conv_deepbench.items():
        print(f"  {k:40s} {v['role']:8s} {v['n']:5d} {100 * v['mape']:6.1f}% {100 * v['acc10']:5.1f}% "
              f"{v['median_pred_over_meas']:.3f}")
    print("conv, NeuSight train_collect rows (a diagnostic, no longer fitted on):")
    for k, v in conv_neusight.items():
        print(f"  {k:40s} {v['n']:6d} {100 * v['mape']:6.1f}% {100 * v['acc10']:5.1f}% {v['median_pred_over_meas']:.3f}")
    print("\nFitted parameters:")
    for c in CLASSES:
        print(f"  {c:12s} " + "  ".join(f"{k}={v:.4g}" for k, v in params[c].items()))
    print(f"operator test split, measured/predicted p10..p90: {low:.3f} .. {high:.3f}")
    if e2e:
        print(f"\nEnd-to-end timm (fit on rtx-3090 pt240): tensor-core multipliers {e2e['tensor_core_multiplier']}, "
              f"low-precision memory multiplier {e2e['memory_multiplier']} (conv {e2e['conv_memory_multiplier']}), "
              f"per-node overhead {e2e['per_node_overhead_s'] * 1e6:.2f} us")
        print("  Python mirror of the C++ predictor (e2e_predict on timm_node_costs.csv):")
        for k, v in e2e["report"].items():
            print(f"  {k:62s} {v['role']:4s} n={v['n']:3d} MAPE {100 * v['mape']:5.1f}%  Acc10 {100 * v['acc10']:5.1f}%")
        for k, v in e2e["overhead_profile"].items():
            print(f"  per-node overhead {k:>6s}: fit sum sq log error {v['sum_sq_log_error']:.4f} "
                  f"(gemm {v['gemm']}, conv {v['conv']}, memory {v['memory']}, conv memory {v['conv_memory']})")
        for k, v in e2e["predicted_over_measured"].items():
            print(f"  predicted/measured {k}: " + ", ".join(f"{m} {x:.2f}" for m, x in v.items()))

    def rel(p):
        return os.path.relpath(p, args.data).replace(os.sep, "/")

    out = {
        "schema_version": 1,
        "model": "t = max((F + f) / (P * a), (B + g) / (W * b)) + t0_s per operator class; "
                 "equivalently max(F / (P*a*F/(F+f)), B / (W*b*B/(B+g))) + t0_s",
        "fitted_on": "NeuSight per-operator latencies (fp32, TF32 off, mean of the 5 fastest of 25 runs): "
                     + ", ".join(rel(f) for f in train_files + amd_train_files)
                     + "; conv: DeepBench fp32 forward convolutions, deepbench/train/conv.csv, of "
                     + ", ".join(DEEPBENCH_CONV_FIT_DEVICES),
        "evaluated_on": "NeuSight held-out split: " + ", ".join(rel(f) for f in test_files + amd_test_files),
        "date": datetime.date.today().isoformat(),
        "provenance": {
            "neusight": {"repo": "https://github.com/sitar-lab/NeuSight", "commit": NEUSIGHT_COMMIT,
                         "license": "MIT", "path": "shared/data/neusight/operators"},
            "deepbench": {"repo": "https://github.com/baidu-research/DeepBench",
                          "commit": "da81ba7820739e2e506dc27f382d15be5479f98f", "license": "Apache-2.0",
                          "path": "shared/data/deepbench/train/conv.csv"},
            "timm": {"repo": "https://github.com/huggingface/pytorch-image-models", "commit": TIMM_COMMIT,
                     "license": "Apache-2.0", "path": "data/validation/timm_rows.csv"},
            "script": "scripts/calibrate_roofline.py",
        },
        "peaks": "P = compute.fp32_tflops (NVIDIA: TF32 off); AMD gemm/conv use compute.fp32_matrix_tflops "
                 "(MFMA kernels); W = memory.bandwidth_gb_s",
        "classes": {c: rounded(params[c]) for c in CLASSES},
        "gemm_wave_tile": GEMM_WAVE_TILE,
        "gemm_device_scale": {
            "values": {d: round(v, 4) for d, v in gemm_scale.items()},
            "by_chip": {c: round(v, 4) for c, v in chip_scale(gemm_scale, devices).items()},
            "achieved_fraction_of_peak": {d: round(v, 4) for d, v in gemm_achieved.items()},
            "note": f"multiplies a of gemm (capped at 1) at non-tensor precisions (fp32/fp64) on these devices; "
                    f"any other device: by_chip's value for the die its file names (chip), the geometric mean of the "
                    f"measured devices with that die, else 1. Per device, the {GEMM_SCALE_QUANTILE}th percentile of FLOPs x wave factor "
                    f"/ (time x fp32 peak) over its gemm rows of >= {GEMM_PLATEAU_FLOPS:.0e} FLOPs in "
                    "nvidia/train_collect/{bmm,linear}, over the geometric mean of all devices' (so 1 = the typical "
                    "device); classes.gemm is fitted with it. Why: the sustained fraction of the boost-clock peak "
                    "differs by device (power and clock limits: T4 at 70 W ~0.45, V100 ~0.95 on the test split), "
                    "the main gemm error of one shared curve. No test row is used"},
        "gemm_wave_tile_note": "gemm FLOP term x ceil(w)/w, w = output tiles of this size / SMs (roofline.h); "
                               "fitted jointly with classes.gemm on train_collect",
        "classes_note": {"conv": "a, f, b, g fitted on DeepBench fp32 forward convolutions of "
                                 + ", ".join(DEEPBENCH_CONV_FIT_DEVICES) + " (kernel curve: "
                                 + json.dumps(rounded(deepbench_kernel_params)) + "); t0_s = elementwise t0_s, the "
                                 "eager launch floor (DeepBench times cuDNN back to back: fitted t0 ~ 0). NeuSight's "
                                 "conv fit (" + json.dumps(rounded(neusight_conv_params)) + ") is a diagnostic only: "
                                 "DeepBench's convolutions ran 2-3x faster than it predicts",
                         "movement": "not fitted (no measurements): copy of elementwise",
                         "depthwise_conv": "not fitted (NeuSight has dense convs only): copy of elementwise, "
                                           "timed at the fp32 vector peak",
                         "elementwise/reduction": "a = 1, f = 0 pinned: their compute term is not identifiable "
                                                  "(<= 1 FLOP/byte on devices with >= 12 FLOP/byte)"},
        "per_node_overhead_s": e2e["per_node_overhead_s"] if e2e else 0.0,
        "per_node_overhead_note": "eager-framework time per launched kernel on top of t0_c. Not identifiable from "
                                  "timm (batch 1024: fit error changes 5% between 0 and 60 us, see "
                                  "metrics.end_to_end_timm.overhead_profile); 0 shipped because NeuSight's t0_c, "
                                  "timed per operator with CUDA events in eager PyTorch, already holds each "
                                  "operator's launch and dispatch gap (conv takes elementwise's t0_c: DeepBench "
                                  "times bare kernels)",
        "tensor_core_multiplier": {
            "gemm": e2e["tensor_core_multiplier"]["gemm"] if e2e else 1.0,
            "conv": e2e["tensor_core_multiplier"]["conv"] if e2e else 1.0,
            "note": "multiplies a of gemm/conv at tensor-core peaks (tf32/fp16/bf16/fp8/int8), a x multiplier "
                    "capped at 1: NeuSight is fp32 SIMT only. Fitted with low_precision_memory_multiplier on the "
                    "timm RTX 3090 PyTorch 2.4.0 AMP rows (data/validation/timm_rows.csv, split=fit); the gemm "
                    "value sits at its cap (a x multiplier = 1), fixed by the two transformer models only"},
        "low_precision_memory_multiplier": {
            "value": e2e["memory_multiplier"] if e2e else 1.0,
            "conv": e2e["conv_memory_multiplier"] if e2e else 1.0,
            "note": "multiplies b of every class (capped at 1) when data is stored in < 4 bytes per element "
                    "(fp16/bf16/fp8/int8); conv and grouped conv use 'conv' instead (their constants come from bare "
                    "cuDNN kernels; eager AMP NCHW convolutions also convert layouts). Fitted with the tensor-core "
                    "multipliers on the timm RTX 3090 rows"},
        "runtime_context_bytes": {
            "nvidia": 500 * 1024 ** 2, "amd": 500 * 1024 ** 2, "cpu": 0,
            "note": "CUDA/ROCm context, loaded kernels and library handles, not visible in the graph. "
                    "pytorch/pytorch#107667 (ptrblck, 2023): ~300 MiB with CUDA >= 11.7 lazy module loading, "
                    ">1000 MiB before; pytorch/pytorch#20532: 300-400 MiB per process. 500 MiB = the context plus "
                    "cuBLAS/cuDNN handles loaded on first use. AMD: same figure assumed (no source). CPU: 0"},
        "workspace": {"fraction_of_largest_operand": 1.0, "cap_bytes": 512 * 1024 ** 2,
                      "note": "cuBLAS/cuDNN workspace: the largest gemm/conv operand, capped"},
        "metrics": {
            "test": test_res,
            "gemm_test_without_device_scale": unscaled_res,
            "gemm_leave_one_device_out": gemm_lodo,
            "amd_gemm_test_matrix_peak": amd_res,
            "amd_gemm_test_vector_peak": amd_res_vec,
            "vendor_split_nvidia_only_test": split_res,
            "conv_deepbench": conv_deepbench,
            "conv_neusight_train_collect": conv_neusight,
            "train": {"all": train_res["all"], "per_class": train_res["per_class"]},
            "end_to_end_timm": ({"fit": "multipliers: rows with split=fit (RTX 3090, PyTorch 2.4.0 AMP, NCHW); "
                                        "band: see interval.fitted_on",
                                 "overhead_profile": e2e["overhead_profile"],
                                 "python_mirror_per_file": e2e["report"],
                                 "predicted_over_measured": e2e["predicted_over_measured"]} if e2e else None),
        },
        # The end-to-end band itself is written by refit_band() below, from the C++ predictions.
        "interval": {"low_factor": round(low, 4), "high_factor": round(high, 4),
                     "note": "placeholder until refit_band() runs: operator test split percentiles",
                     "operator_test_split": {"low_factor": round(low, 4), "high_factor": round(high, 4),
                                             "per_class": interval_per_class,
                                             "note": "10th/90th percentiles of measured/predicted per operator on "
                                                     "the NeuSight test split (not used by predict)"}},
    }
    # Keys this script does not write (training: scripts/calibrate_training.py; layout, grouped_conv, ...:
    # other scripts) are kept as they are, in their previous order after this script's keys.
    if os.path.exists(args.out):
        with open(args.out) as f:
            previous = json.load(f)
        for key, value in previous.items():
            if key not in out:
                out[key] = value
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        json.dump(out, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(args.out + ".tmp", args.out)
    print(f"\nwrote {args.out} in {time.time() - t_start:.1f} s")
    if e2e:
        refit_band(args, e2e["mirror"])


if __name__ == "__main__":
    main()
