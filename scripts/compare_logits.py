#!/usr/bin/env python3
"""Distance between two references written by scripts/gpu_reference.py (same model, same tokens), in the
metric `swift-vllm check-gpu --model` uses: per position ‖a − b‖ / ‖b‖ over the vocabulary (worst and mean),
and whether the argmax agrees wherever B's top-two margin exceeds 0.05.

usage: python3 compare_logits.py A_DIR B_DIR     (B is the reference, e.g. transformers in f32)
"""
import json, os, sys
import numpy as np

def load(folder):
    meta = json.load(open(os.path.join(folder, "reference.json")))
    logits = np.fromfile(os.path.join(folder, meta["logits_file"]), dtype="<f4")
    return meta, logits.reshape(len(meta["tokens"]), meta["vocab"]).astype(np.float64)

(ma, a), (mb, b) = load(sys.argv[1]), load(sys.argv[2])
assert ma["tokens"] == mb["tokens"], "the references hold different tokens"
errors = np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)
top2 = np.sort(b, axis=1)[:, -2:]
checked = (top2[:, 1] - top2[:, 0]) > 0.05
equal = (a.argmax(axis=1) == b.argmax(axis=1))
print(json.dumps({"a": sys.argv[1], "b": sys.argv[2], "worst": float(errors.max()), "mean": float(errors.mean()),
                  "positions_over_2e-2": int((errors > 2e-2).sum()), "argmax_equal_where_margin": int(equal[checked].sum()),
                  "margin_positions": int(checked.sum())}))
