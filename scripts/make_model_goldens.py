#!/usr/bin/env python3
"""Builds tiny random-weight HF models with transformers and records transformers' own outputs.

Writes Tests/VLLMModelsTests/Goldens/<name>/ (an HF model folder as save_pretrained writes it) with
golden.json: fixed token prompts, transformers' logits at the last prompt position, all-position
logits of the longest prompt (for chunked prefill), and the greedy continuation (model.generate,
KV cache on). Also stories260K.json: the greedy story of ../shared/models/stories260K from BOS.

Run once (pip install torch transformers safetensors); commit what it writes.
"""
import json, os, shutil, sys
import torch
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "VLLMModelsTests", "Goldens")
SHARED = os.path.join(os.path.dirname(ROOT), "shared")

SMALL = dict(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
             rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2)

# name → (config class, overrides, save dtype, save kwargs)
MODELS = {
    "llama": (LlamaConfig, {}, torch.float32, {}),
    "llama-mha-tied": (LlamaConfig, dict(num_key_value_heads=4, tie_word_embeddings=True), torch.float32, {}),
    "llama-bf16-sharded": (LlamaConfig, dict(num_key_value_heads=1), torch.bfloat16, dict(max_shard_size="20KB")),
    "llama-f16-bias": (LlamaConfig, dict(attention_bias=True, mlp_bias=True), torch.float16, {}),
    "llama-rope-linear": (LlamaConfig, dict(rope_scaling=dict(rope_type="linear", factor=4.0), rope_theta=500.0), torch.float32, {}),
    "llama-rope-dynamic": (LlamaConfig, dict(max_position_embeddings=32, rope_scaling=dict(rope_type="dynamic", factor=2.0)), torch.float32, {}),
    "llama-rope-llama3": (LlamaConfig, dict(rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                                              high_freq_factor=4.0, original_max_position_embeddings=32)), torch.float32, {}),
    "llama-rope-yarn": (LlamaConfig, dict(rope_scaling=dict(rope_type="yarn", factor=4.0, original_max_position_embeddings=32)), torch.float32, {}),
    "mistral": (MistralConfig, dict(sliding_window=None), torch.float32, {}),
    "qwen2": (Qwen2Config, dict(tie_word_embeddings=True, bos_token_id=None, eos_token_id=2), torch.float32, {}),
    "qwen3": (Qwen3Config, dict(head_dim=16, bos_token_id=None, eos_token_id=2), torch.float32, {}),
}

PROMPT_LENGTHS = [1, 7, 23, 41]
NUM_NEW_TOKENS = 24


def greedy(model, prompt, n):
    ids = torch.tensor([prompt])
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n, do_sample=False,
                         eos_token_id=None, pad_token_id=0, use_cache=True)
    return out[0, len(prompt):].tolist()


def rounded(values):
    return [float(f"{v:.7g}") for v in values]


def make(name, config_class, overrides, dtype, save_kwargs):
    kwargs = dict(SMALL)
    kwargs.update(overrides)
    torch.manual_seed(abs(hash(name)) % (2**31) if False else sum(map(ord, name)))
    config = config_class(**kwargs)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    # Spread the weights wider than the default init so logits are far from ties.
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3 if p.dim() > 1 else 1.0)
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    model.to(dtype).save_pretrained(folder, **save_kwargs)
    # Reload what was saved and compute in f32: the oracle sees exactly the stored weights.
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    gen = torch.Generator().manual_seed(7)
    max_len = 24 if "dynamic" in name else max(PROMPT_LENGTHS)
    prompts = [torch.randint(3, config.vocab_size, (n,), generator=gen).tolist() for n in PROMPT_LENGTHS if n <= max_len]
    record = {"prompts": [], "all_positions_prompt": len(prompts) - 1}
    with torch.no_grad():
        for i, prompt in enumerate(prompts):
            logits = model(torch.tensor([prompt])).logits[0]
            entry = {"prompt_token_ids": prompt, "last_logits": rounded(logits[-1].tolist()),
                     "greedy_token_ids": greedy(model, prompt, NUM_NEW_TOKENS)}
            if i == record["all_positions_prompt"]:
                entry["all_logits"] = [rounded(row) for row in logits.tolist()]
            record["prompts"].append(entry)
    with open(os.path.join(folder, "golden.json"), "w") as f:
        json.dump(record, f, separators=(",", ":"))
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, {len(prompts)} prompts")


def stories():
    folder = os.path.join(SHARED, "models", "stories260K")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids = greedy(model, [1], 250)
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(folder)
    # HF's text of the whole sequence (BOS skipped): what the completion's text must equal.
    text = tokenizer.decode([1] + ids, skip_special_tokens=True)
    with open(os.path.join(OUT, "stories260K.json"), "w") as f:
        json.dump({"prompt_token_ids": [1], "greedy_token_ids": ids, "hf_text": text}, f)
    print("stories260K:", ids[:16], "...")


def partial_configs():
    """transformers' resolved values for config.json files that leave most keys out."""
    from transformers import AutoConfig
    import tempfile
    cases = {
        "llama-minimal": {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64,
                          "num_attention_heads": 4},
        "qwen2-minimal": {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]},
        "qwen3-minimal": {"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"], "hidden_size": 256},
        "mistral-minimal": {"model_type": "mistral", "architectures": ["MistralForCausalLM"]},
    }
    out = {}
    for name, raw in cases.items():
        with tempfile.TemporaryDirectory() as d:
            json.dump(raw, open(os.path.join(d, "config.json"), "w"))
            c = AutoConfig.from_pretrained(d)
        rope = c.rope_parameters or {}
        out[name] = {"config": raw, "resolved": {
            "vocab_size": c.vocab_size, "hidden_size": c.hidden_size, "intermediate_size": c.intermediate_size,
            "num_hidden_layers": c.num_hidden_layers, "num_attention_heads": c.num_attention_heads,
            "num_key_value_heads": c.num_key_value_heads,
            "head_dim": getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads,
            "max_position_embeddings": c.max_position_embeddings, "rms_norm_eps": c.rms_norm_eps,
            "rope_theta": rope.get("rope_theta"), "tie_word_embeddings": c.tie_word_embeddings}}
    with open(os.path.join(OUT, "partial_configs.json"), "w") as f:
        json.dump(out, f, indent=1)
    print("partial configs:", ", ".join(out))


if __name__ == "__main__":
    # No argument: everything. --stories-only / --partial-configs: just that part.
    os.makedirs(OUT, exist_ok=True)
    if "--partial-configs" not in sys.argv:
        if "--stories-only" not in sys.argv:
            for name, spec in MODELS.items():
                make(name, *spec)
        stories()
    if "--stories-only" not in sys.argv:
        partial_configs()
    import transformers
    with open(os.path.join(OUT, "VERSIONS.txt"), "w") as f:
        f.write(f"transformers {transformers.__version__}\ntorch {torch.__version__}\n")
