#!/usr/bin/env python3
"""A folder of BAAI/bge-m3's shape for the embedding benchmarks (no network on the GPU machine): XLMRobertaModel with
bge-m3's config.json values (24 layers, hidden 1024, 16 heads, intermediate 4096, vocabulary 250002, 8194 positions),
random weights initialised by transformers (seed 0) and saved in bf16, sentence-transformers' CLS + Normalize modules
as bge-m3 ships them (max_seq_length 8192), and a tokenizer copied from TOKENIZER_DIR (bge-m3's own is not in
../shared; any tokenizer whose ids fall in the vocabulary does for timing: every engine gets the same ids).
Usage: python3 scripts/make_bge_m3_shape.py OUT TOKENIZER_DIR"""
import json
import os
import shutil
import sys

import torch
import transformers

out, tokenizer_dir = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
config = transformers.XLMRobertaConfig(vocab_size=250002, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                       intermediate_size=4096, max_position_embeddings=8194, type_vocab_size=1,
                                       pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
                                       hidden_act="gelu")
config.architectures = ["XLMRobertaModel"]
config.position_embedding_type = "absolute"  # in bge-m3's config.json; vLLM reads it (transformers 5 has no default)
torch.manual_seed(0)
model = transformers.XLMRobertaModel(config, add_pooling_layer=False).to(torch.bfloat16).eval()
model.save_pretrained(out, safe_serialization=True)
for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]:
    if os.path.exists(os.path.join(tokenizer_dir, name)):
        shutil.copy(os.path.join(tokenizer_dir, name), out)
json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
           {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
           {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
          open(os.path.join(out, "modules.json"), "w"), indent=2)
json.dump({"word_embedding_dimension": 1024, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False,
           "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_lasttoken": False},
          open(os.path.join(out, "1_Pooling", "config.json"), "w"), indent=2)
json.dump({"max_seq_length": 8192, "do_lower_case": False}, open(os.path.join(out, "sentence_bert_config.json"), "w"))
print("wrote", out, sum(p.numel() for p in model.parameters()), "parameters")
