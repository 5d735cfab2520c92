#!/usr/bin/env python3
"""Extract the LLM validation rows into data/validation/llm_*.csv (see data/validation/SOURCE.md).

Usage: python3 scripts/validate_llm.py [--shared /work/shared/data]
Rows are copied unchanged; columns `perfcast_model` and `device` (perfcast ids) are added, and for
LLM-Inference-Bench `perfcast_tp`, the tensor-parallel degree perfcast costs.

MI250: one MI250 module is two GCDs and ROCm/vLLM see each GCD as one GPU. LLM-Inference-Bench's
"Num of Hardware" counts modules: Llama-3-70B in fp16 (141 GB of weights) runs on "2 MI250", which
two 64 GB GCDs cannot hold. So N MI250 -> 2N x `mi250-gcd` with TP 2N. NeuSight's MI250 figures are
one GCD's (its device file is MI210's: 104 CUs, 64 GB) -> `mi250-gcd`.
"""
import argparse, csv, glob, os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "validation")

MLENERGY_MODELS = {
    "meta-llama/Meta-Llama-3.1-8B-Instruct": "llama-3.1-8b",
    "meta-llama/Meta-Llama-3.1-70B-Instruct": "llama-3.1-70b",
    "mistralai/Mixtral-8x7B-Instruct-v0.1": "mixtral-8x7b",
    "mistralai/Mixtral-8x22B-Instruct-v0.1": "mixtral-8x22b",
}
BENCH_MODELS = {"meta-llama/Meta-Llama-3-8B": "llama-3.1-8b", "meta-llama/Meta-Llama-3-70B": "llama-3.1-70b"}
BENCH_DEVICES = {"Nvidia A100 GPU": "a100-sxm4-40gb", "AMD MI250 GPU": "mi250-gcd", "AMD MI300X GPU": "mi300x"}
NEUSIGHT_MODELS = {"bert_large": "bert-large", "gpt2_large": "gpt2-large", "gpt3_27": "gpt3-2.7b", "gpt3_xl": "gpt3-xl",
                   "opt_13": "opt-1.3b", "switchxl4": "switch-xl4"}
NEUSIGHT_DEVICES = {"Tesla_P4": "p4", "Tesla_P100-PCIE-16GB": "p100-pcie-16gb", "Tesla_T4": "t4",
                    "Tesla_V100-PCIE-32GB": "v100-pcie-32gb", "AMD_Instinct_MI100": "mi100",
                    "AMD_Instinct_MI210": "mi210", "AMD_Instinct_MI250": "mi250-gcd"}


def extract(src, dst, keep):
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        extra = keep(r)
        if extra:
            out.append({**{k.strip(): v for k, v in r.items()}, **extra})
    with open(dst, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(out[0].keys()))
        w.writeheader()
        w.writerows(out)
    print(dst, len(out))


VIDUR_TOKENS = {2 ** i for i in range(16)}
VIDUR_OPS = ["input_layernorm", "attn_pre_proj", "attn_post_proj", "post_attention_layernorm", "mlp_up_proj",
             "mlp_act", "mlp_down_proj", "add"]
VIDUR_DEVICES = {"a100": "a100-sxm4-80gb", "a40": "a40"}


def extract_vidur(root, dst):
    """Vidur per-operator medians (ms) of the gated-MLP (Llama-layout) models at power-of-2 token counts."""
    out, seen = [], set()
    for dev in sorted(VIDUR_DEVICES):
        for path in sorted(glob.glob(os.path.join(root, "compute", dev, "*", "*", "mlp.csv"))):
            model = "/".join(path.split(os.sep)[-3:-1])
            for r in csv.DictReader(open(path)):
                key = (model, dev, r["num_tokens"], r["num_tensor_parallel_workers"])
                if r["use_gated_mlp"] != "True" or int(r["num_tokens"]) not in VIDUR_TOKENS or key in seen:
                    continue  # (some shapes were profiled twice: the first row is kept)
                seen.add(key)
                row = {"model": model, "device": VIDUR_DEVICES[dev], "num_tokens": r["num_tokens"],
                       "tp": r["num_tensor_parallel_workers"], "n_head": r["n_head"], "n_kv_head": r["n_kv_head"],
                       "n_embd": r["n_embd"], "n_expanded_embd": r["n_expanded_embd"], "vocab_size": r["vocab_size"]}
                for op in VIDUR_OPS:
                    row[op + "_ms"] = r[f"time_stats.{op}.median"]
                out.append(row)
    with open(dst, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(out[0].keys()))
        w.writeheader()
        w.writerows(out)
    print(dst, len(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="/work/shared/data")
    a = ap.parse_args()
    extract(os.path.join(a.shared, "mlenergy-v2", "llm_text_generation_A100.csv"), os.path.join(OUT, "llm_mlenergy.csv"),
            lambda r: {"perfcast_model": MLENERGY_MODELS[r["Model"]], "device": "a100-sxm4-40gb"}
            if r["Model"] in MLENERGY_MODELS and r["PP"] == "1" and r["category"] == "llm_text_generation" else None)
    gcds = lambda r: 2 if r["Hardware"] == "AMD MI250 GPU" else 1  # GPUs per counted "hardware"
    extract(os.path.join(a.shared, "llm-inference-bench", "All_results.csv"), os.path.join(OUT, "llm_inference_bench.csv"),
            lambda r: {"perfcast_model": BENCH_MODELS[r["Model"]], "device": BENCH_DEVICES[r["Hardware"]],
                       "perfcast_tp": gcds(r) * int(r["Num of Hardware"])}
            if r["Framework"] == "vLLM" and r["Model"] in BENCH_MODELS and r["Hardware"] in BENCH_DEVICES else None)
    extract(os.path.join(a.shared, "neusight", "labels_summary.csv"), os.path.join(OUT, "llm_neusight_e2e.csv"),
            lambda r: {"perfcast_model": NEUSIGHT_MODELS[r["model"]], "device": NEUSIGHT_DEVICES[r["gpu"]]}
            if r["model"] in NEUSIGHT_MODELS and r["gpu"] in NEUSIGHT_DEVICES else None)
    extract(os.path.join(a.shared, "llm-inference-bench", "Fig_21_all_results_TTFT.csv"),
            os.path.join(OUT, "llm_inference_bench_ttft.csv"),
            lambda r: {"perfcast_model": BENCH_MODELS[r["Model"]], "device": BENCH_DEVICES[r["Hardware"]],
                       "perfcast_tp": gcds(r) * int(r["Num of Hardware"])}
            if r["Framework"] == "vLLM" and r["Model"] in BENCH_MODELS and r["Hardware"] in BENCH_DEVICES else None)
    extract_vidur(os.path.join(a.shared, "vidur"), os.path.join(OUT, "llm_vidur_ops.csv"))


if __name__ == "__main__":
    main()
