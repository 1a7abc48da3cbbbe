#!/usr/bin/env python3
"""Builds tiny random LoRA adapters with HF PEFT for the tiny llama and qwen2 models and records PEFT's outputs.

Writes Tests/VLLMModelsTests/Goldens/lora/:
  <model>-<adapter>/  an adapter folder exactly as PeftModel.save_pretrained writes it (adapter_config.json +
                      adapter_model.safetensors), base_model_name_or_path set to the base folder's name ("llama").
  golden.json         fixed token prompts and, for every (model, adapter or none, prompt): the logits at the
                      last prompt position, all-position logits of the longest prompt, and the greedy
                      continuation (model.generate, KV cache on). The oracle for an adapter is PEFT's merged
                      model (merge_and_unload); the script asserts the unmerged PeftModel agrees within 1e-4.
                      `bf16_error`: how far PEFT itself lands in bf16 (base and adapter loaded as bf16, the
                      unmerged PeftModel) from that f32 oracle at the last position, ‖bf16 − f32‖ / ‖f32‖ — the
                      yardstick of check-gpu's bf16 run on these small, rounding-sensitive models.
  broken/<defect>/    copies of llama-a with one defect each, for error tests (see BROKEN below).
  VERSIONS.txt        peft / transformers / torch versions.

Reads (does not modify) Goldens/llama and Goldens/qwen2, written by make_model_goldens.py.
Run once (pip install torch transformers safetensors peft); commit what it writes.
"""
import json, os, shutil
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, CompressedTensorsConfig
from peft import LoraConfig, PeftModel, get_peft_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDENS = os.path.join(ROOT, "Tests", "VLLMModelsTests", "Goldens")
OUT = os.path.join(GOLDENS, "lora")

ALL_SEVEN = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# adapter folder name → (base model folder, LoraConfig overrides)
ADAPTERS = {
    "llama-a": ("llama", dict(r=8, lora_alpha=16, target_modules=ALL_SEVEN)),
    "llama-b": ("llama", dict(r=4, lora_alpha=8, use_rslora=True, target_modules=["q_proj", "v_proj"])),
    "llama-c": ("llama", dict(r=16, lora_alpha=32, target_modules=["o_proj", "gate_proj", "up_proj", "down_proj"])),
    "qwen2-a": ("qwen2", dict(r=8, lora_alpha=16, target_modules=ALL_SEVEN)),
    "qwen2-b": ("qwen2", dict(r=2, lora_alpha=4, use_rslora=True, target_modules=["k_proj", "up_proj", "down_proj"])),
    # A 4-bit base (compressed-tensors W4A16, make_quant_goldens.py's): transformers decompresses it with
    # compressed-tensors, and PEFT adapts the decompressed model.
    "ct-w4a16-a": ("quantized/ct-w4a16-group-sym", dict(r=8, lora_alpha=16, target_modules=ALL_SEVEN)),
}
MODELS = ["llama", "qwen2", "quantized/ct-w4a16-group-sym"]

PROMPT_LENGTHS = [5, 19, 33]
NUM_NEW_TOKENS = 16
MERGE_TOLERANCE = 1e-4


def rounded(values):
    return [float(f"{v:.7g}") for v in values]


def load_base(model, dtype=torch.float32):
    """A base model; a compressed-tensors one decompressed to float weights by compressed-tensors itself."""
    quantized = {"quantization_config": CompressedTensorsConfig(dequantize=True)} if model.startswith("quantized/") else {}
    return AutoModelForCausalLM.from_pretrained(os.path.join(GOLDENS, model), dtype=dtype, **quantized).eval()


def greedy(model, prompt, n):
    ids = torch.tensor([prompt])
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n, do_sample=False,
                         eos_token_id=None, pad_token_id=0, use_cache=True)
    return out[0, len(prompt):].tolist()


def save_adapter(folder, base_name, overrides, seed):
    """PEFT adapter on the base model with every lora_A / lora_B drawn from N(0, 0.3), saved by PEFT."""
    torch.manual_seed(seed)
    config = LoraConfig(task_type="CAUSAL_LM", lora_dropout=0.0, init_lora_weights=False, **overrides)
    model = get_peft_model(load_base(base_name), config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".lora_A." in name or ".lora_B." in name:
                p.copy_(torch.normal(0.0, 0.3, p.shape, generator=gen))
    # Relative name of the base folder (PEFT would write the absolute path it was loaded from), and
    # target_modules as a sorted list (PEFT keeps a set, whose order changes from run to run).
    model.peft_config["default"].base_model_name_or_path = base_name
    model.peft_config["default"].target_modules = sorted(overrides["target_modules"])
    shutil.rmtree(folder, ignore_errors=True)
    # No embedding layer is targeted; False skips PEFT's Hub lookup of "<base_name>/config.json".
    model.save_pretrained(folder, save_embedding_layers=False)
    readme = os.path.join(folder, "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    with open(os.path.join(folder, "adapter_config.json")) as f:
        assert json.load(f)["base_model_name_or_path"] == base_name


def make_adapters():
    for name, (base_name, overrides) in ADAPTERS.items():
        save_adapter(os.path.join(OUT, name), base_name, overrides, sum(map(ord, name)))
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name, 'adapter_model.safetensors'))} bytes of weights")


def bf16_error(model_name, adapter, prompt, oracle):
    model = load_base(model_name, dtype=torch.bfloat16)
    if adapter is not None:
        model = PeftModel.from_pretrained(model, os.path.join(OUT, adapter)).eval()
    with torch.no_grad():
        last = model(torch.tensor([prompt])).logits[0, -1].float()
    return ((last - oracle).norm() / oracle.norm()).item()


def goldens():
    gen = torch.Generator().manual_seed(7)
    prompts = [torch.randint(3, 96, (n,), generator=gen).tolist() for n in PROMPT_LENGTHS]
    longest = PROMPT_LENGTHS.index(max(PROMPT_LENGTHS))
    cases, worst = [], 0.0
    for model_name in MODELS:
        base_last = None
        for adapter in [None] + [a for a, (m, _) in ADAPTERS.items() if m == model_name]:
            model = load_base(model_name)
            if adapter is not None:
                model = PeftModel.from_pretrained(model, os.path.join(OUT, adapter)).eval()
                with torch.no_grad():
                    unmerged = [model(torch.tensor([p])).logits[0, -1] for p in prompts]
                model = model.merge_and_unload().eval()
            last = []
            with torch.no_grad():
                for i, prompt in enumerate(prompts):
                    logits = model(torch.tensor([prompt])).logits[0]
                    last.append(logits[-1])
                    case = {"model": model_name, "adapter": adapter, "prompt_index": i,
                            "last_logits": rounded(logits[-1].tolist())}
                    if i == longest:
                        case["all_logits"] = [rounded(row) for row in logits.tolist()]
                    case["greedy_token_ids"] = greedy(model, prompt, NUM_NEW_TOKENS)
                    case["bf16_error"] = float(f"{bf16_error(model_name, adapter, prompt, logits[-1]):.4g}")
                    cases.append(case)
            if adapter is None:
                base_last = last
                continue
            diff = max((a - b).abs().max().item() for a, b in zip(last, unmerged))
            change = min((a - b).abs().max().item() for a, b in zip(last, base_last))
            worst = max(worst, diff)
            print(f"{adapter}: merged vs unmerged max |diff| {diff:.3g}; smallest max |logit change| vs base {change:.3g}")
            assert diff <= MERGE_TOLERANCE, f"{adapter}: merged and unmerged differ by {diff}"
            assert change >= 0.1, f"{adapter}: changes the logits by only {change}"
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump({"prompts": prompts, "cases": cases}, f, separators=(",", ":"))
    print(f"golden.json: {len(cases)} cases; worst merged vs unmerged |diff| {worst:.3g}")


# broken/<name>: llama-a with one defect each.
BROKEN = ["dora", "modules-to-save", "bad-shape", "unknown-module", "rank-too-big", "no-weights"]


def broken():
    src = os.path.join(OUT, "llama-a")
    root = os.path.join(OUT, "broken")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    config = json.load(open(os.path.join(src, "adapter_config.json")))
    tensors = load_file(os.path.join(src, "adapter_model.safetensors"))

    def write(name, config_changes=None, weights=tensors):
        folder = os.path.join(root, name)
        os.makedirs(folder)
        with open(os.path.join(folder, "adapter_config.json"), "w") as f:
            json.dump({**config, **(config_changes or {})}, f, indent=2, sort_keys=True)
        if weights is not None:
            save_file(weights, os.path.join(folder, "adapter_model.safetensors"), metadata={"format": "pt"})

    write("dora", {"use_dora": True})
    write("modules-to-save", {"modules_to_save": ["lm_head"]})
    key = "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"
    out_dim, r = tensors[key].shape  # [16, 8]: v_proj's out is 2 kv heads × 8
    write("bad-shape", weights={**tensors, key: torch.zeros(out_dim + 4, r)})
    gen = torch.Generator().manual_seed(9)
    write("unknown-module", weights={**tensors,
        "base_model.model.model.layers.0.mlp.fc9.lora_A.weight": torch.normal(0.0, 0.3, (r, 32), generator=gen),
        "base_model.model.model.layers.0.mlp.fc9.lora_B.weight": torch.normal(0.0, 0.3, (32, r), generator=gen)})
    write("no-weights", weights=None)
    # A real PEFT adapter, rank 64, for the --max-lora-rank check.
    save_adapter(os.path.join(root, "rank-too-big"), "llama",
                 dict(r=64, lora_alpha=128, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]), 64)
    assert sorted(os.listdir(root)) == sorted(BROKEN)
    print("broken:", ", ".join(BROKEN))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_adapters()
    goldens()
    broken()
    import peft, transformers
    with open(os.path.join(OUT, "VERSIONS.txt"), "w") as f:
        f.write(f"peft {peft.__version__}\ntransformers {transformers.__version__}\ntorch {torch.__version__}\n")
