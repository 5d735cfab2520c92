#!/usr/bin/env python3
"""Extract the LLM validation rows into data/validation/llm_*.csv (see data/validation/SOURCE.md).

Usage: python3 scripts/validate_llm.py [--shared /work/shared/data]
Rows are copied unchanged; columns `perfcast_model` and `device` (perfcast ids) are added.
"""
import argparse, csv, os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "validation")

MLENERGY_MODELS = {
    "meta-llama/Meta-Llama-3.1-8B-Instruct": "llama-3.1-8b",
    "meta-llama/Meta-Llama-3.1-70B-Instruct": "llama-3.1-70b",
    "mistralai/Mixtral-8x7B-Instruct-v0.1": "mixtral-8x7b",
    "mistralai/Mixtral-8x22B-Instruct-v0.1": "mixtral-8x22b",
}
BENCH_MODELS = {"meta-llama/Meta-Llama-3-8B": "llama-3.1-8b", "meta-llama/Meta-Llama-3-70B": "llama-3.1-70b"}
BENCH_DEVICES = {"Nvidia A100 GPU": "a100-sxm4-40gb", "AMD MI250 GPU": "mi250", "AMD MI300X GPU": "mi300x"}
NEUSIGHT_MODELS = {"bert_large": "bert-large", "gpt2_large": "gpt2-large", "gpt3_27": "gpt3-2.7b", "gpt3_xl": "gpt3-xl",
                   "opt_13": "opt-1.3b", "switchxl4": "switch-xl4"}
NEUSIGHT_DEVICES = {"Tesla_P4": "p4", "Tesla_P100-PCIE-16GB": "p100-pcie-16gb", "Tesla_T4": "t4",
                    "Tesla_V100-PCIE-32GB": "v100-pcie-32gb", "AMD_Instinct_MI100": "mi100",
                    "AMD_Instinct_MI210": "mi210", "AMD_Instinct_MI250": "mi250"}


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="/work/shared/data")
    a = ap.parse_args()
    extract(os.path.join(a.shared, "mlenergy-v2", "llm_text_generation_A100.csv"), os.path.join(OUT, "llm_mlenergy.csv"),
            lambda r: {"perfcast_model": MLENERGY_MODELS[r["Model"]], "device": "a100-sxm4-40gb"}
            if r["Model"] in MLENERGY_MODELS and r["PP"] == "1" and r["category"] == "llm_text_generation" else None)
    extract(os.path.join(a.shared, "llm-inference-bench", "All_results.csv"), os.path.join(OUT, "llm_inference_bench.csv"),
            lambda r: {"perfcast_model": BENCH_MODELS[r["Model"]], "device": BENCH_DEVICES[r["Hardware"]]}
            if r["Framework"] == "vLLM" and r["Model"] in BENCH_MODELS and r["Hardware"] in BENCH_DEVICES else None)
    extract(os.path.join(a.shared, "neusight", "labels_summary.csv"), os.path.join(OUT, "llm_neusight_e2e.csv"),
            lambda r: {"perfcast_model": NEUSIGHT_MODELS[r["model"]], "device": NEUSIGHT_DEVICES[r["gpu"]]}
            if r["model"] in NEUSIGHT_MODELS and r["gpu"] in NEUSIGHT_DEVICES else None)


if __name__ == "__main__":
    main()
