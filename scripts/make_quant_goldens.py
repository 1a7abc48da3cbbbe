#!/usr/bin/env python3
"""Quantized checkpoints made by the reference tools, and transformers' outputs on them.

For each format: a tiny random Llama or Qwen2 (transformers), its linear layers quantized with
weights and scales chosen here and packed by the tool that defines the format:
  - GPTQ: AutoGPTQ 0.7.1's QuantLinear.pack (auto_gptq/nn_modules/qlinear/qlinear_cuda.py);
  - AWQ: AutoAWQ 0.2.9's WQLinear_GEMM.from_linear;
  - compressed-tensors 0.20.1 (what llm-compressor writes): its compressors and its config;
  - FP8 (quant_method fp8): PyTorch's float8_e4m3fn conversion, the layout vLLM and the
    Qwen3-FP8 / DeepSeek checkpoints use.
The reference then turns each folder's packed tensors back into floats with that same tool's code
(QuantLinear's torch forward, awq.utils.packing_utils.dequantize_gemm, compressed-tensors'
decompress, torch's fp8 → float) and transformers runs the forward in f32 on those weights:
golden.json holds its logits and greedy tokens, in the format of make_model_goldens.py. One more
golden, online-fp8, is vLLM's `--quantization fp8` on a float checkpoint (per-tensor e4m3, scale
amax / 448) done in torch. For the fp8 KV cache: fp8.json (PyPI torch's float8_e4m3fn / float8_e5m2 conversions:
every code's value, and codes of chosen floats saturated to the largest finite value as vLLM's kernels saturate),
and fp8-kv-<model>/golden.json: transformers on the llama and qwen2 goldens with every cached key and value rounded
through e4m3 before attention (an attention function registered with transformers' AttentionInterface).

Writes Tests/VLLMModelsTests/Goldens/quantized/<name>/. Run once and commit what it writes:
  pip install torch transformers safetensors accelerate compressed-tensors==0.20.1 loguru psutil
  pip download --no-deps auto-gptq==0.7.1 autoawq==0.2.9   (unpacked, not installed: see load_tools)
  python3 scripts/make_quant_goldens.py /path/to/unpacked/tools
"""
import importlib, json, math, os, shutil, sys, types
import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "VLLMModelsTests", "Goldens", "quantized")

SMALL = dict(vocab_size=128, hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2)
PROMPT_LENGTHS = [1, 9, 30]
NUM_NEW_TOKENS = 16
LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def load_tools(root):
    """AutoGPTQ and AutoAWQ, unpacked from their PyPI files, as bare packages: their __init__ imports whole
    model zoos (and CUDA extensions) that have nothing to do with packing; the modules used here do not."""
    awq = os.path.join(root, "autoawq-0.2.9", "awq")
    for name, path in [("auto_gptq", os.path.join(root, "auto_gptq")), ("awq", awq), ("awq.modules", os.path.join(awq, "modules")),
                       ("awq.modules.linear", os.path.join(awq, "modules", "linear"))]:
        package = types.ModuleType(name)
        package.__path__ = [path]
        sys.modules[name] = package
    gptq = importlib.import_module("auto_gptq.nn_modules.qlinear.qlinear_cuda")
    awq_gemm = importlib.import_module("awq.modules.linear.gemm")
    awq_packing = importlib.import_module("awq.utils.packing_utils")
    return gptq, awq_gemm, awq_packing


def make_model(kind, name, dtype):
    torch.manual_seed(sum(map(ord, name)))
    config_class = LlamaConfig if kind == "llama" else Qwen2Config
    extra = {} if kind == "llama" else dict(bos_token_id=None)
    config = config_class(**{**SMALL, **extra}, tie_word_embeddings=False)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3 if p.dim() > 1 else 1.0)
            p.copy_(p.to(dtype).float())  # what the checkpoint stores
    return config, model


def int_scales(w, bits, group, symmetric, scale_dtype):
    """Per-row, per-group min/max scales and integer zero points (unsigned range), scales exact in scale_dtype."""
    n, k = w.shape
    g = w.reshape(n, k // group, group)
    maxq = 2 ** bits - 1
    if symmetric:
        amax = g.abs().amax(-1).clamp(min=1e-5)
        scale = (2 * amax / maxq).to(scale_dtype).float()
        zero = torch.full_like(scale, (maxq + 1) // 2)
    else:
        lo, hi = g.amin(-1).clamp(max=0), g.amax(-1).clamp(min=0)
        scale = ((hi - lo).clamp(min=1e-5) / maxq).to(scale_dtype).float()
        zero = torch.round(-lo / scale).clamp(1, maxq)  # ≥ 1: AutoGPTQ's format stores zero − 1
    return scale, zero  # [N, G]


def fake_quantize(w, scale, zero, bits, g_idx):
    """The float weight GPTQ hands to pack: every element already on its grid."""
    s, z = scale[:, g_idx], zero[:, g_idx]
    q = torch.clamp(torch.round(w / s) + z, 0, 2 ** bits - 1)
    return (q - z) * s


def gptq_layer(tool, linear, bits, group_size, symmetric, act_order, generator):
    n, k = linear.weight.shape
    group = k if group_size == -1 else group_size
    if act_order:  # a permutation of the groups over the columns, as desc_act leaves them
        g_idx = (torch.randperm(k, generator=generator) // group).to(torch.int32)
    else:
        g_idx = (torch.arange(k) // group).to(torch.int32)
    order = torch.argsort(g_idx, stable=True)
    grouped = linear.weight.data[:, order]
    scale, zero = int_scales(grouped, bits, group, symmetric, torch.float16)
    weight = fake_quantize(linear.weight.data, scale, zero, bits, g_idx.long())
    # Biases stay float tensors of the checkpoint (prefix.bias), as GPTQ checkpoints store them.
    source = torch.nn.Linear(k, n, bias=False).half()
    source.weight.data = weight.half()
    q = tool.QuantLinear(bits, group_size, k, n, False, weight_dtype=torch.float16)
    q.pack(source, scale.half(), zero.half(), g_idx=g_idx)
    tensors = {"qweight": q.qweight, "qzeros": q.qzeros, "scales": q.scales, "g_idx": q.g_idx.to(torch.int32)}
    # The reference dequantization: QuantLinear's own (CPU) forward on the identity.
    with torch.no_grad():
        dense = q(torch.eye(k, dtype=torch.float16)).float()
    return tensors, dense.t().contiguous()


def awq_layer(gemm, packing, linear, group_size):
    n, k = linear.weight.shape
    scale, zero = int_scales(linear.weight.data, 4, group_size, False, torch.float16)
    weight = fake_quantize(linear.weight.data, scale, zero, 4, (torch.arange(k) // group_size))
    source = torch.nn.Linear(k, n, bias=False)
    source.weight.data = weight
    q = gemm.WQLinear_GEMM.from_linear(source, 4, group_size, scales=scale.t().contiguous().half(),
                                       zeros=zero.t().contiguous())
    tensors = {"qweight": q.qweight, "qzeros": q.qzeros, "scales": q.scales}
    dense = packing.dequantize_gemm(q.qweight, q.qzeros, q.scales, 4, group_size).float()  # [K, N]
    return tensors, dense.t().contiguous()


def ct_layer(scheme, fmt, linear, bits, group_size, symmetric, block=None):
    """compressed-tensors: weight_scale (and zero point) chosen here, quantized and packed by the compressor."""
    from compressed_tensors.compressors import BaseCompressor
    w = linear.weight.data.to(torch.bfloat16)
    n, k = w.shape
    wf = w.float()
    if scheme.weights.type == "float":
        if block is not None:
            bn, bk = block
            blocks = wf.reshape(n // bn, bn, k // bk, bk).abs().amax(dim=(1, 3))
            scale = (blocks / 448).to(torch.bfloat16)
        else:
            scale = (wf.abs().amax(-1, keepdim=True) / 448).to(torch.bfloat16)
        state = {"weight": w, "weight_scale": scale}
    else:
        group = k if group_size is None else group_size
        s, z = int_scales(wf, bits, group, symmetric, torch.bfloat16)
        offset = 2 ** (bits - 1)
        state = {"weight": w, "weight_scale": s.to(torch.bfloat16)}
        if not symmetric:
            state["weight_zero_point"] = (z - offset).to(torch.int8)  # signed range, as compressed-tensors keeps it
    compressor = BaseCompressor.load_from_registry(fmt)
    compressed = compressor.compress(state, scheme)
    compressed = {key: value for key, value in compressed.items()}
    dense = compressor.decompress(dict(compressed), scheme)["weight"].float()
    return compressed, dense


def fp8_layer(linear, block):
    w = linear.weight.data
    n, k = w.shape
    if block is None:
        scale = (w.abs().amax() / 448).float().reshape(())
        q = (w / scale).clamp(-448, 448).to(torch.float8_e4m3fn)
        dense = q.float() * scale
        return {"weight": q, "weight_scale": scale}, dense
    bn, bk = block
    scale = (w.reshape(n // bn, bn, k // bk, bk).abs().amax(dim=(1, 3)) / 448).float()
    expanded = scale.repeat_interleave(bn, 0).repeat_interleave(bk, 1)
    q = (w / expanded).clamp(-448, 448).to(torch.float8_e4m3fn)
    dense = q.float() * expanded
    return {"weight": q, "weight_scale_inv": scale}, dense


def rounded(values):
    return [float(f"{v:.7g}") for v in values]


def record_golden(path, reference, prompts, tool):
    """Writes `path`: transformers' (`reference`) logits and greedy tokens for each prompt, in
    make_model_goldens.py's format (all positions' logits for the last prompt)."""
    record = {"tool": tool, "prompts": [], "all_positions_prompt": len(prompts) - 1}
    with torch.no_grad():
        for i, prompt in enumerate(prompts):
            ids = torch.tensor([prompt])
            logits = reference(ids).logits[0]
            out = reference.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=NUM_NEW_TOKENS,
                                     min_new_tokens=NUM_NEW_TOKENS, do_sample=False, eos_token_id=None, pad_token_id=0)
            entry = {"prompt_token_ids": prompt, "last_logits": rounded(logits[-1].tolist()),
                     "greedy_token_ids": out[0, len(prompt):].tolist()}
            if i == record["all_positions_prompt"]:
                entry["all_logits"] = [rounded(row) for row in logits.tolist()]
            record["prompts"].append(entry)
    with open(path, "w") as f:
        json.dump(record, f)


def build(name, kind, dtype, quantize_layer, quantization_config, tool, extra_tensors=None):
    """quantize_layer(module_name, linear) → (tensors to store under module_name, dequantized weight [N, K])."""
    config, model = make_model(kind, name, dtype)
    state = {}
    reference = {}
    for key, value in model.state_dict().items():
        state[key] = value.to(dtype).contiguous()
        reference[key] = value.float()
    for i, layer in enumerate(model.model.layers):
        for linear_name in LINEARS:
            prefix = f"model.layers.{i}.{linear_name}"
            linear = layer.get_submodule(linear_name)
            tensors, dense = quantize_layer(prefix, linear)
            del state[prefix + ".weight"]
            for key, value in tensors.items():
                state[f"{prefix}.{key}"] = value.contiguous()
            reference[prefix + ".weight"] = dense
    if extra_tensors:
        state.update(extra_tensors(model))
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    save_file(state, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    config_dict = config.to_dict()
    config_dict["torch_dtype"] = str(dtype).replace("torch.", "")
    config_dict.pop("dtype", None)
    if quantization_config is not None:
        config_dict["quantization_config"] = quantization_config
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config_dict, f, indent=2, sort_keys=True)
    # The oracle: transformers in f32 on the tool's dequantized weights.
    ref_model = AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    missing = ref_model.load_state_dict(reference, strict=False)
    assert not missing.missing_keys or missing.missing_keys == ["lm_head.weight"], missing
    gen = torch.Generator().manual_seed(7)
    prompts = [torch.randint(3, config.vocab_size, (n,), generator=gen).tolist() for n in PROMPT_LENGTHS]
    record_golden(os.path.join(folder, "golden.json"), ref_model, prompts, tool)
    print("wrote", folder)


def ct_config(scheme_dict, fmt):
    from compressed_tensors.quantization import QuantizationConfig, QuantizationScheme
    from compressed_tensors.compressors import ModelCompressor
    scheme = QuantizationScheme(targets=["Linear"], **scheme_dict)
    qc = QuantizationConfig(config_groups={"group_0": scheme}, format=fmt, quantization_status="compressed",
                            ignore=["lm_head"])
    return scheme, qc


def ct_quantization_config(qc, folder_tmp):
    """The quantization_config ModelCompressor.update_config writes into config.json."""
    from compressed_tensors.compressors import ModelCompressor
    os.makedirs(folder_tmp, exist_ok=True)
    path = os.path.join(folder_tmp, "config.json")
    with open(path, "w") as f:
        json.dump({}, f)
    ModelCompressor(quantization_config=qc).update_config(folder_tmp)
    with open(path) as f:
        result = json.load(f)["quantization_config"]
    shutil.rmtree(folder_tmp)
    return result


def main():
    gptq, awq_gemm, awq_packing = load_tools(sys.argv[1])
    from compressed_tensors.quantization import QuantizationArgs
    import compressed_tensors
    gen = torch.Generator().manual_seed(11)
    gptq_tool = "AutoGPTQ 0.7.1 QuantLinear.pack / forward (qlinear_cuda.py, CPU path)"

    def gptq_config(bits, group, desc_act, sym):
        return {"quant_method": "gptq", "bits": bits, "group_size": group, "desc_act": desc_act, "sym": sym,
                "damp_percent": 0.01, "true_sequential": True, "checkpoint_format": "gptq"}

    for name, kind, bits, group, sym, act in [("gptq-4bit-g32-sym", "llama", 4, 32, True, False),
                                             ("gptq-4bit-g64-actorder-asym", "qwen2", 4, 64, False, True),
                                             ("gptq-8bit-channel-sym", "llama", 8, -1, True, False)]:
        build(name, kind, torch.float16,
              lambda prefix, linear, b=bits, g=group, s=sym, a=act: gptq_layer(gptq, linear, b, g, s, a, gen),
              gptq_config(bits, group, act, sym), gptq_tool)

    awq_config = {"quant_method": "awq", "bits": 4, "group_size": 64, "zero_point": True, "version": "gemm",
                  "modules_to_not_convert": None}
    build("awq-4bit-g64", "qwen2", torch.float16, lambda prefix, linear: awq_layer(awq_gemm, awq_packing, linear, 64),
          awq_config, "AutoAWQ 0.2.9 WQLinear_GEMM.from_linear / packing_utils.dequantize_gemm")

    ct_tool = f"compressed-tensors {compressed_tensors.__version__} compressors (compress / decompress)"
    ct_cases = [
        ("ct-w4a16-group-sym", "llama", "pack-quantized", dict(weights=QuantizationArgs(num_bits=4, type="int", symmetric=True, strategy="group", group_size=32)), 4, 32, True, None),
        ("ct-w4a16-group-asym", "qwen2", "pack-quantized", dict(weights=QuantizationArgs(num_bits=4, type="int", symmetric=False, strategy="group", group_size=64)), 4, 64, False, None),
        ("ct-w8a16-channel", "llama", "pack-quantized", dict(weights=QuantizationArgs(num_bits=8, type="int", symmetric=True, strategy="channel")), 8, None, True, None),
        ("ct-w8a8-int8", "qwen2", "int-quantized", dict(weights=QuantizationArgs(num_bits=8, type="int", symmetric=True, strategy="channel"),
                                                          input_activations=QuantizationArgs(num_bits=8, type="int", symmetric=True, strategy="token", dynamic=True)), 8, None, True, None),
        ("ct-fp8-dynamic", "llama", "float-quantized", dict(weights=QuantizationArgs(num_bits=8, type="float", symmetric=True, strategy="channel"),
                                                              input_activations=QuantizationArgs(num_bits=8, type="float", symmetric=True, strategy="token", dynamic=True)), 8, None, True, None),
        ("ct-fp8-block", "qwen2", "float-quantized", dict(weights=QuantizationArgs(num_bits=8, type="float", symmetric=True, strategy="block", block_structure=[64, 64]),
                                                            input_activations=QuantizationArgs(num_bits=8, type="float", symmetric=True, strategy="group", group_size=64, dynamic=True)), 8, None, True, [64, 64]),
    ]
    for name, kind, fmt, scheme_dict, bits, group, sym, block in ct_cases:
        scheme, qc = ct_config(scheme_dict, fmt)
        build(name, kind, torch.bfloat16,
              lambda prefix, linear, sc=scheme, f=fmt, b=bits, g=group, s=sym, bl=block: ct_layer(sc, f, linear, b, g, s, bl),
              ct_quantization_config(qc, os.path.join(OUT, ".tmp")), ct_tool)

    fp8_tool = "torch float8_e4m3fn conversion (weight / scale → e4m3 → float · scale)"
    build("fp8-tensor-static", "llama", torch.bfloat16, lambda prefix, linear: fp8_layer(linear, None),
          {"quant_method": "fp8", "activation_scheme": "static"}, fp8_tool,
          extra_tensors=lambda model: {f"model.layers.{i}.{n}.input_scale": torch.tensor(0.02, dtype=torch.float32)
                                       for i in range(len(model.model.layers)) for n in LINEARS})
    build("fp8-block", "qwen2", torch.bfloat16, lambda prefix, linear: fp8_layer(linear, (64, 64)),
          {"quant_method": "fp8", "activation_scheme": "dynamic", "fmt": "e4m3", "weight_block_size": [64, 64]}, fp8_tool)

    # --quantization fp8 on a float checkpoint: vLLM's online FP8, one scale per linear weight.
    def online(prefix, linear):
        w = linear.weight.data.to(torch.bfloat16).float()
        scale = w.abs().amax() / 448
        dense = (w / scale).clamp(-448, 448).to(torch.float8_e4m3fn).float() * scale
        return {"weight": linear.weight.data.to(torch.bfloat16)}, dense
    build("online-fp8", "llama", torch.bfloat16, online, None,
          "torch float8_e4m3fn conversion of each linear weight at one scale (amax / 448), as vLLM's --quantization fp8")


def fp8_goldens():
    gen = torch.Generator().manual_seed(3)
    specials = [0.0, -0.0, 1.0, -1.0, 0.5, 448.0, 464.0, 480.0, 500.0, -1e6, 57344.0, 61440.0, 1e9, 2.0 ** -6, 2.0 ** -9,
                2.0 ** -10, 3 * 2.0 ** -11, 2.0 ** -14, 2.0 ** -16, 2.0 ** -17, 3 * 2.0 ** -18, 1.0625, 1.1875, 1.125 + 2 ** -5,
                0.1, -0.3, 7.5, 15.5, 240.0, 232.0]
    values = specials + (torch.randn(400, generator=gen) * torch.exp(torch.randn(400, generator=gen) * 4)).tolist()
    x = torch.tensor(values, dtype=torch.float32)
    record = {"inputs": values}
    for name, dtype, limit in [("e4m3fn", torch.float8_e4m3fn, 448.0), ("e5m2", torch.float8_e5m2, 57344.0)]:
        codes = torch.arange(256, dtype=torch.uint8).view(dtype).float()
        record[name] = [v if math.isfinite(v) else None for v in codes.tolist()]  # JSON has no NaN / infinity
        record[name + "_infinities"] = {str(i): (1 if v > 0 else -1) for i, v in enumerate(codes.tolist()) if math.isinf(v)}
        record[name + "_codes"] = x.clamp(-limit, limit).to(dtype).view(torch.uint8).tolist()
    with open(os.path.join(OUT, "fp8.json"), "w") as f:
        json.dump(record, f)
    print("wrote fp8.json")

    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    def fp8_kv(module, query, key, value, *args, **kwargs):
        key = key.clamp(-448, 448).to(torch.float8_e4m3fn).float()
        value = value.clamp(-448, 448).to(torch.float8_e4m3fn).float()
        return sdpa_attention_forward(module, query, key, value, *args, **kwargs)

    AttentionInterface.register("fp8_kv", fp8_kv)
    goldens = os.path.dirname(OUT)
    for name in ["llama", "qwen2"]:
        folder = os.path.join(goldens, name)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="fp8_kv").eval()
        prompts = [p["prompt_token_ids"] for p in json.load(open(os.path.join(folder, "golden.json")))["prompts"]]
        os.makedirs(os.path.join(OUT, f"fp8-kv-{name}"), exist_ok=True)
        record_golden(os.path.join(OUT, f"fp8-kv-{name}", "golden.json"), model, prompts,
                      "transformers with K/V rounded through torch float8_e4m3fn before attention")
        print("wrote", f"fp8-kv-{name}/golden.json (the model: Goldens/{name})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fp8-only"]:
        fp8_goldens()
    else:
        main()
        fp8_goldens()
