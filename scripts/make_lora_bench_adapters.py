#!/usr/bin/env python3
"""Writes the LoRA benchmark's adapters with PEFT: `--count` rank-`--rank` adapters on every linear of a decoder
layer (q/k/v/o, gate/up/down) of the model whose config.json is in MODEL_DIR, random values (seeded per adapter),
bf16, as PEFT's save_pretrained writes them, to OUT/lora0 … OUT/lora{count-1}.

The base model is built from the config alone (random weights, on the GPU when there is one): only the shapes of
its linears matter to an adapter. Used on the GPU machine (which has torch, transformers and peft) for the
multi-LoRA W2 benchmark of docs/benchmarks.md; runs on the CPU for a small config.

usage: python3 make_lora_bench_adapters.py MODEL_DIR OUT [--count 8] [--rank 16]
"""
import argparse, json, os, time
import torch
from transformers import AutoConfig, AutoModelForCausalLM
from peft import LoraConfig, get_peft_model

MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model"); p.add_argument("out")
    p.add_argument("--count", type=int, default=8); p.add_argument("--rank", type=int, default=16)
    a = p.parse_args()
    start = time.perf_counter()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    config = AutoConfig.from_pretrained(a.model)
    with torch.device(device):
        base = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model = get_peft_model(base, LoraConfig(r=a.rank, lora_alpha=2 * a.rank, target_modules=MODULES,
                                            init_lora_weights=False, base_model_name_or_path=os.path.abspath(a.model)))
    for i in range(a.count):
        generator = torch.Generator(device=device).manual_seed(1000 + i)
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if "lora_A" in name:
                    parameter.normal_(0.0, parameter.shape[1] ** -0.5, generator=generator)
                elif "lora_B" in name:
                    parameter.normal_(0.0, 0.02, generator=generator)
        folder = os.path.join(a.out, f"lora{i}")
        model.save_pretrained(folder, save_embedding_layers=False)
        readme = os.path.join(folder, "README.md")
        if os.path.exists(readme):
            os.remove(readme)
    sizes = [os.path.getsize(os.path.join(a.out, f"lora{i}", "adapter_model.safetensors")) for i in range(a.count)]
    print(json.dumps({"what": "lora-adapters", "count": a.count, "rank": a.rank, "modules": MODULES,
                      "bytes_each": sizes[0], "seconds": round(time.perf_counter() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
