#!/usr/bin/env python3
"""Writes Tests/VLLMTokenizersTests/Goldens: the oracle outputs of HF `tokenizers` (the Rust library, via
its Python binding) for every tokenizer in ../shared/tokenizers and ../shared/models/stories260K, and for
small synthetic tokenizers built here with the `tokenizers` API to cover components no shared file uses.

BOS/EOS are applied as transformers 5 (TokenizersBackend) applies tokenizer_config.json: with a
tokenizer.json present it drops add_bos_token / add_eos_token, so the file's post-processor decides (none:
nothing is added); decode applies clean_up_tokenization_spaces except for BPE models. The script also runs
transformers' AutoTokenizer on each folder and reports where it disagrees (a class that rebuilds its own
pipeline, e.g. LlamaTokenizer): the goldens follow the file.

Usage: python3 scripts/make_tokenizer_goldens.py   (needs: pip install tokenizers transformers)
"""
import json
import os
import shutil
import sys
import tempfile

import tokenizers
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
OUT = os.path.join(ROOT, "Tests", "VLLMTokenizersTests", "Goldens")

CORPUS = [
    "",
    " ",
    "Hello world",
    " Hello world",
    "Hello  world!",
    "The quick brown fox jumps over the lazy dog.",
    "It's a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
    "You should've done this. I'll go; they'd say we're fine, don't you think? He's here. I'M LOUD. THEY'RE 'S",
    "A\n'll !!to?'d''d of, can't.",
    "Mr. O'Neill's café costs $3.50 (≈ €3.20) — naïve résumé, Zürich, São Paulo, Ægir, ﬁnancial.",
    "def main():\n\tprint('hi')\n\treturn 0\n",
    "for (int i = 0; i < n; ++i) {\n    sum += a[i] * b[i];\n}\n",
    "    indented  code\n        more\n",
    "let a = obj.toString();\ntoString();",
    "import numpy as np\nx = np.arange(10_000).reshape(100, 100)  # comment\n",
    "<html><body class=\"x\">&amp; &lt;tag&gt;</body></html>",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
    "https://example.com/path?query=1&x=y#frag user@mail.org",
    "生活的真谛是爱。我们今天去北京，好吗？",
    "日本語のテキスト：東京は晴れです。カタカナとひらがな、漢字。",
    "한국어 텍스트입니다. 안녕하세요!",
    "Ελληνικά και Русский текст, Українська.",
    "مرحبا بالعالم! هذا نص عربي.",
    "שלום עולם, זה טקסט בעברית.",
    "Mixed RTL: abc مرحبا 123 שלום xyz",
    "हिन्दी पाठ, বাংলা লেখা, தமிழ்.",
    "ภาษาไทยไม่มีช่องว่าง",
    "Emoji: 😀😃😄 👍🏽 🇫🇷🇯🇵",
    "ZWJ: 👨‍👩‍👧‍👦 👩🏽‍💻 🏳️‍🌈 ❤️‍🔥",
    "New emoji: 🥰 🫠 🪿 🫨 🩷",
    "Combining: e\u0301 a\u0308 o\u0302\u0323 n\u0303 Z\u0335\u0321\u030b",
    "Precomposed vs decomposed: \u00e9 e\u0301 \u00c5 A\u030a \u212b",
    "Hangul jamo: \u1100\u1161\u11a8 vs \uac01",
    "Zero width: a\u200bb\u200cc\u200dd\ufeffe\u2060f",
    "Controls: a\x00b\x01c\x7fd\u0085e\u009ff",
    "Spaces: a\u00a0b\u2003c\u3000d\u202fe\u2009f\u1680g",
    "           many spaces",
    "trailing spaces     ",
    "   leading space",
    "a  b   c    d     e",
    "\n\n\nnewlines\n\n\n\n",
    "line1\r\nline2\rline3\n",
    " \n \n  \n",
    "\t\ttabs\tand\t\tmore\t",
    "mixed \t \n \r\n whitespace  \n  x",
    "0123456789 12345 1,234,567.89 3.14159 -42 1e10 0xFF",
    "٠١٢٣٤٥٦٧٨٩ ①②③ ½ ¾ Ⅻ ๑๒๓",
    "Digits in words: abc123def 4567xyz 8.9.10",
    "Punctuation!!! ??? ... --- ((())) [[x]] {y} <<z>> «quote» „Anführung“ “smart” ‘single’",
    "Symbols: © ® ™ ° ± × ÷ ∑ ∫ √ ∞ ≠ ≤ ≥ → ⇒ ♠ ♥ ★",
    "Math: ∀x∈ℝ, x² ≥ 0; ∃y: y³ = 27",
    "Rare: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕏 𝒜 🜁 𓀀 𐍈 \U0010fffd \ue000 \U000e0041",
    "Private use and nonchar: \ue000\uf8ff \ufdd0 \uffff",
    "Long s and kelvin: ſtrong 'ſ 'S 'T 'Re 'VE 'M 'LL 'D \u212a",
    "Title case: ǅ ǈ ǋ ǲ ΐ ẞ ß İstanbul ıi",
    "Σίσυφος ΟΔΟΣ",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    "<s>",
    "</s>",
    "<unk>",
    "<s> hello </s>",
    "Hello<s>world</s>again",
    "text <|endoftext|> more text<|endoftext|>",
    "<|endoftext|>",
    "a<|endoftext|>b <|endoftext|> c",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|><|im_end|><|im_start|>",
    "<think>\nreasoning\n</think>\n\nanswer",
    "<tool_call>{\"name\": \"f\"}</tool_call>",
    "<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n4<|end|>",
    "<|assistant|>   spaced  <|end|>  after",
    "[CLS] sentence one [SEP] sentence two [SEP]",
    "[MASK] is [MASK]. [UNK] [PAD]",
    "<mask> single <mask>word word<mask> <mask>",
    "special<|im_end|>\n\n",
    "<0x41> <0xFF> ▁ ▁▁x Ġ Ċ ##ing",
    "unfinished <|im_start",
    "JSON: {\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\"}}",
    "Markdown:\n# Title\n\n- item *bold* _it_ `code`\n\n```python\nprint(1)\n```\n",
    "CamelCaseIdentifierWithHTTPServer and snake_case_name and kebab-case-name",
    "email@example.com, +1 (555) 123-4567, 2024-01-15T10:30:00Z",
    "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ！ ｶﾀｶﾅ",
    "Ligatures: ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ",
    "Superscripts: x² y³ H₂O ¹²³",
    "Mixed scripts: hello世界مرحباПривет",
    "Vietnamese: Tiếng Việt có dấu, người, được.",
    "Devanagari conjuncts: क्षत्रिय श्री",
    "Repeated: the the the the the the the the the the",
    "Quotes 'single' \"double\" `back` ''two'' ",
    "Ellipsis… and dash – and — and ‑",
    "End with newline\n",
    "\r",
    "\u00a0",
    "🤗",
    "a",
    "?",
    "   ",
]

# Enough for the incremental detokenizer test: real multi-byte splits across tokens.
DETOKENIZE_TEXTS = [
    "Hello, world! 生活的真谛是爱 😀👍🏽 naïve café\n\tdone",
    "👨‍👩‍👧‍👦 日本語 عربي e\u0301 <s> x",
]


def load_json(path):
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return None


def token_text(value):
    if isinstance(value, dict):
        return value.get("content")
    return value


class Oracle:
    """HF tokenizers with tokenizer_config.json applied as transformers applies it."""

    def __init__(self, directory):
        self.tok = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
        self.tok.no_truncation()
        self.tok.no_padding()
        cfg = load_json(os.path.join(directory, "tokenizer_config.json")) or {}
        stm = load_json(os.path.join(directory, "special_tokens_map.json")) or {}
        self.cfg = cfg
        vocab = self.tok.get_vocab(with_added_tokens=True)
        missing = []
        for key, entry in sorted((cfg.get("added_tokens_decoder") or {}).items(), key=lambda kv: int(kv[0])):
            if entry["content"] not in vocab:
                missing.append(AddedToken(entry["content"], single_word=entry.get("single_word", False),
                                          lstrip=entry.get("lstrip", False), rstrip=entry.get("rstrip", False),
                                          normalized=entry.get("normalized", not entry.get("special", False)),
                                          special=entry.get("special", False)))
        if missing:
            self.tok.add_tokens(missing)
        # transformers 5 drops add_bos_token / add_eos_token when a tokenizer.json exists, then builds
        # "[BOS] $A [EOS]" from the (now false) flags only when the file has no post-processor.
        if self.tok.post_processor is None:
            self.tok.post_processor = processors.TemplateProcessing(single="$A:0", special_tokens=[])
        model_type = json.loads(self.tok.to_str())["model"]["type"]
        self.cleanup = bool(cfg.get("clean_up_tokenization_spaces", False)) and model_type != "BPE"

    def encode(self, text, add_special_tokens):
        return self.tok.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, ids, skip_special_tokens):
        text = self.tok.decode(ids, skip_special_tokens=skip_special_tokens)
        if self.cleanup:
            for a, b in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                         (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]:
                text = text.replace(a, b)
        return text


class TransformersOracle:
    """transformers' AutoTokenizer: the oracle for the legacy vocab.json + merges.txt pair."""

    def __init__(self, directory):
        from transformers import AutoTokenizer
        self.tok = AutoTokenizer.from_pretrained(directory)

    def encode(self, text, add_special_tokens):
        return self.tok(text, add_special_tokens=add_special_tokens)["input_ids"]

    def decode(self, ids, skip_special_tokens):
        return self.tok.decode(ids, skip_special_tokens=skip_special_tokens)


def cases_for(oracle):
    cases = []
    for text in CORPUS:
        ids = oracle.encode(text, True)
        plain = oracle.encode(text, False)
        decoded = oracle.decode(ids, True)
        with_special = oracle.decode(ids, False)
        # null means "same as the field before" (for "decoded": same as "text"), to keep the goldens small.
        cases.append({
            "text": text,
            "ids_no_special": plain,
            "ids": None if ids == plain else ids,
            "decoded": None if decoded == text else decoded,
            "decoded_with_special": None if with_special == decoded else with_special,
        })
    return cases


def random_decode_cases(oracle, vocab_size, count=40):
    """Random id sequences (fixed seed): decoding arbitrary ids exercises partial UTF-8, byte tokens and
    special tokens in odd places."""
    import random
    rng = random.Random(7)
    cases = []
    for _ in range(count):
        ids = [rng.randrange(vocab_size) for _ in range(rng.randrange(1, 12))]
        cases.append({"ids": ids, "decoded": oracle.decode(ids, True), "decoded_with_special": oracle.decode(ids, False)})
    return cases


def compare_with_transformers(name, directory, oracle):
    try:
        from transformers import AutoTokenizer
        auto = AutoTokenizer.from_pretrained(directory)
    except Exception as error:  # noqa: BLE001 - report and go on
        return f"transformers could not load it: {error}"
    disagreements = 0
    for text in CORPUS:
        ids = oracle.encode(text, True)
        if auto(text)["input_ids"] != ids or auto.decode(ids, skip_special_tokens=True) != oracle.decode(ids, True):
            disagreements += 1
    return f"{type(auto).__name__}: {disagreements} of {len(CORPUS)} corpus strings differ from the file's pipeline"


def train_corpus():
    return CORPUS * 3 + [
        "the of and to in is was for on that with as by at from his her it be are this an which or had",
        "tokenization models split words into subword units such as prefixes suffixes and stems",
    ] * 20


def synthetic_tokenizers(workdir):
    """Small tokenizers covering components no shared file uses; saved next to the goldens."""
    built = {}
    data = train_corpus()

    # BPE with continuing_subword_prefix and end_of_word_suffix, NFD+StripAccents+Lowercase+Strip,
    # Whitespace+Digits+Punctuation pre-tokenizers, BPEDecoder, BertProcessing, single_word/lstrip tokens.
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase(),
                                           normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.Punctuation(behavior="isolated")])
    tok.train_from_iterator(data, trainers.BpeTrainer(vocab_size=400, special_tokens=["[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                                      continuing_subword_prefix="##", end_of_word_suffix="</w>",
                                                      show_progress=False))
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    tok.add_tokens([AddedToken("<mask>", single_word=True, lstrip=True, rstrip=False, normalized=False)])
    tok.add_tokens([AddedToken("World", normalized=True)])
    built["syn-bpe-affixes"] = tok

    # Unigram with NFKC, Replace(regex), Metaspace(prepend always), Metaspace decoder, template with EOS.
    # Trained on part of the corpus only, so that other strings meet unknown characters.
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(tokenizers.Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.train_from_iterator(CORPUS[:20] * 5 + data[-40:], trainers.UnigramTrainer(
        vocab_size=400, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>", show_progress=False))
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    built["syn-unigram"] = tok

    # The same Unigram with byte_fallback and the 256 byte pieces (the trainer has no such option).
    model = json.loads(tok.to_str())
    model["model"]["byte_fallback"] = True
    model["model"]["vocab"] += [[f"<0x{b:02X}>", -20.0] for b in range(256)]
    built["syn-unigram-bytefallback"] = Tokenizer.from_str(json.dumps(model))

    # DeepSeek-V3's pre-tokenizer: three Splits (digits, CJK/kana, then a \p{P}\p{S}\p{M} word regex) and
    # ByteLevel without its regex.
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(tokenizers.Regex(r"\p{N}{1,3}"), behavior="isolated"),
        pre_tokenizers.Split(tokenizers.Regex("[一-龥\u3040-ゟ゠-ヿ]+"), behavior="isolated"),
        pre_tokenizers.Split(tokenizers.Regex(
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
            "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.train_from_iterator(data, trainers.BpeTrainer(vocab_size=450, show_progress=False,
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.decoder = decoders.ByteLevel()
    built["syn-deepseek-v3"] = tok

    # WordPiece with BertNormalizer (accents kept), WhitespaceSplit + contiguous Punctuation, Roberta.
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=20))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(behavior="contiguous")])
    tok.train_from_iterator(data, trainers.WordPieceTrainer(vocab_size=400, special_tokens=["[UNK]", "<s>", "</s>", "[PAD]"],
                                                            show_progress=False))
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    built["syn-wordpiece"] = tok

    # Byte-level BPE behind DeepSeek-style Splits (several behaviors, invert, '$'), the Llama-3 pattern,
    # NFKD, ignore_merges, ByteLevel decoder, a Sequence post-processor, rstrip/lstrip added tokens.
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.normalizer = normalizers.NFKD()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(tokenizers.Regex(r"[\r\n]"), behavior="isolated"),
        pre_tokenizers.Split(tokenizers.Regex(r"\s+$"), behavior="isolated"),
        pre_tokenizers.Split(tokenizers.Regex(r"\s?[!-/:-~！-／：-～‘-‟　-。]+"), behavior="merged_with_next"),
        pre_tokenizers.Split(tokenizers.Regex(r"[一-龥ࠀ-一가-퟿]+"), behavior="contiguous"),
        pre_tokenizers.Split(tokenizers.Regex(r"\p{N}{1,3}"), behavior="merged_with_previous"),
        pre_tokenizers.Split(tokenizers.Regex(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
                             behavior="isolated"),
        pre_tokenizers.Split("x", behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.train_from_iterator(data, trainers.BpeTrainer(vocab_size=500, show_progress=False,
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                      special_tokens=["<|begin|>", "<|end|>"]))
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=False),
                                              processors.TemplateProcessing(single="<|begin|> $A", special_tokens=[("<|begin|>", 0)])])
    tok.add_tokens([AddedToken("<|end|>", lstrip=True, rstrip=True, special=True, normalized=False)])
    tok.add_tokens([AddedToken("[x]", rstrip=True, normalized=False)])
    built["syn-split-bytelevel"] = tok

    # SentencePiece-style BPE with byte_fallback behind Metaspace(prepend first, no split), decoders
    # ByteFallback + Metaspace + Replace(regex) + Strip + Fuse; Lowercase normalizer.
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    tok.train_from_iterator(data, trainers.BpeTrainer(vocab_size=500, show_progress=False,
                                                      special_tokens=["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]))
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(replacement="▁", prepend_scheme="first"),
                                     decoders.Replace(tokenizers.Regex(r"\d+"), "#"), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    built["syn-metaspace-bytefallback"] = tok

    # RoBERTa-like: contiguous Digits then ByteLevel with add_prefix_space and its own regex, Roberta
    # post-processor, a lstrip "<mask>".
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=False),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)])
    tok.train_from_iterator(data, trainers.BpeTrainer(vocab_size=450, show_progress=False,
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                      special_tokens=["<s>", "<pad>", "</s>", "<unk>"]))
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=True)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    built["syn-roberta"] = tok

    # WordLevel with Whitespace pre-tokenizer and the CTC decoder.
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(data, trainers.WordLevelTrainer(vocab_size=300, special_tokens=["<unk>", "<pad>", "|"],
                                                            show_progress=False))
    tok.decoder = decoders.CTC(pad_token="<pad>", word_delimiter_token="|", cleanup=True)
    built["syn-wordlevel-ctc"] = tok

    # A tokenizer_config.json that makes transformers replace the post-processor (BOS and EOS) and clean up
    # tokenization spaces on decode (a non-BPE model).
    configs = {"syn-unigram": {"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": True, "add_eos_token": True,
                               "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                               "clean_up_tokenization_spaces": True, "model_max_length": 1024}}
    directories = {}
    for name, tok in built.items():
        directory = os.path.join(OUT, "synthetic", name)
        os.makedirs(directory, exist_ok=True)
        tok.save(os.path.join(directory, "tokenizer.json"), pretty=False)
        if name in configs:
            with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
                json.dump(configs[name], f, indent=1)
        directories[name] = directory
    return directories


def write(name, payload):
    with open(os.path.join(OUT, f"{name}.json"), "w", encoding="utf-8") as f:
        json.dump(payload, f, ensure_ascii=False, separators=(",", ":"))


def detokenize_cases(oracle):
    """Id sequences for the incremental detokenizer: HF's decode of each, and the deltas of HF's
    DecodeStream (what vLLM streams for tokenizer.json tokenizers), one per appended id."""
    cases = []
    for text in DETOKENIZE_TEXTS:
        ids = oracle.encode(text, False)
        case = {"ids": ids, "decoded": oracle.decode(ids, True), "decoded_with_special": oracle.decode(ids, False)}
        if isinstance(oracle, Oracle):
            stream = decoders.DecodeStream(skip_special_tokens=True)
            case["stream"] = [stream.step(oracle.tok, i) or "" for i in ids]
        cases.append(case)
    return cases


def expectations(oracles):
    """Which recorded HF outputs under ../shared/tokenizers/expectations our shared files reproduce."""
    base = os.path.join(SHARED, "tokenizers", "expectations", "swift-transformers")
    mapping = {"bert-base-uncased": "all-MiniLM-L6-v2", "google-bert/bert-base-uncased": "all-MiniLM-L6-v2",
               "distilgpt2": "gpt2", "coreml-projects/Llama-2-7b-chat-coreml": "phi-3-mini"}
    # Llama-2's tokenizer adds BOS itself; Phi-3's config turns that off, so the case prepends it.
    prefix = {"phi-3-mini": [1]}
    tests = load_json(os.path.join(base, "tokenizer_tests.json"))
    checks = []
    for model, folder in mapping.items():
        oracle = oracles[folder]
        for index, case in enumerate(tests[model]):
            ids = prefix.get(folder, []) + oracle.encode(case["input"], True)
            fields = []
            if ids == case["encoded"]["input_ids"]:
                fields.append("input_ids")
            if oracle.decode(case["encoded"]["input_ids"], False) == case["decoded_with_special"]:
                fields.append("decoded_with_special")
            if oracle.decode(case["encoded"]["input_ids"], True) == case["decoded_without_special"]:
                fields.append("decoded_without_special")
            checks.append({"file": "tokenizer_tests.json", "model": model, "index": index, "tokenizer": folder,
                           "prepend_ids": prefix.get(folder, []), "fields": fields})
    for file, folder in [("gpt2_encoded_tokens.json", "gpt2"), ("llama_encoded.json", "phi-3-mini"),
                         ("bert_uncased_encoded.json", "all-MiniLM-L6-v2")]:
        data = load_json(os.path.join(base, file))
        oracle = oracles[folder]
        ids = prefix.get(folder, []) + oracle.encode(data["text"], True)
        fields = []
        if ids == data["token_ids"]:
            fields.append("token_ids")
        if oracle.decode(data["token_ids"], False) == data["decoded_text"]:
            fields.append("decoded_text")
        checks.append({"file": file, "tokenizer": folder, "prepend_ids": prefix.get(folder, []), "fields": fields})
    return checks


def main():
    os.makedirs(OUT, exist_ok=True)
    folders = {
        "gpt2": os.path.join(SHARED, "tokenizers", "gpt2"),
        "phi-3-mini": os.path.join(SHARED, "tokenizers", "phi-3-mini"),
        "qwen2.5": os.path.join(SHARED, "tokenizers", "qwen2.5"),
        "all-MiniLM-L6-v2": os.path.join(SHARED, "tokenizers", "all-MiniLM-L6-v2"),
        "stories260K": os.path.join(SHARED, "models", "stories260K"),
    }
    with tempfile.TemporaryDirectory() as workdir:
        synthetic = synthetic_tokenizers(workdir)
        oracles = {}
        index = []
        for name, directory in list(folders.items()) + list(synthetic.items()):
            oracle = Oracle(directory)
            oracles[name] = oracle
            has_config = os.path.exists(os.path.join(directory, "tokenizer_config.json"))
            note = compare_with_transformers(name, directory, oracle) if has_config else "synthetic, no tokenizer_config.json"
            print(f"{name}: {note}", file=sys.stderr)
            relative = os.path.relpath(directory, os.path.dirname(ROOT)) if name in folders else None
            write(name, {"tokenizer": name, "shared_path": relative, "transformers": note,
                         "cases": cases_for(oracle), "detokenize": detokenize_cases(oracle),
                         "random_decode": random_decode_cases(oracle, oracle.tok.get_vocab_size(with_added_tokens=True))})
            index.append(name)

        # The legacy pair: transformers' GPT2Tokenizer over vocab.json + merges.txt alone.
        legacy = os.path.join(workdir, "gpt2-legacy")
        os.makedirs(legacy)
        for file in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]:
            shutil.copy(os.path.join(folders["gpt2"], file), legacy)
        oracle = TransformersOracle(legacy)
        write("gpt2-legacy", {"tokenizer": "gpt2-legacy", "shared_path": "shared/tokenizers/gpt2",
                              "transformers": type(oracle.tok).__name__, "cases": cases_for(oracle),
                              "detokenize": detokenize_cases(oracle)})
        index.append("gpt2-legacy")

        checks = expectations(oracles)
        write("expectations", {"checks": checks})
        reproduced = sum(len(c["fields"]) for c in checks)
        print(f"expectations: {reproduced} fields reproduced over {len(checks)} cases", file=sys.stderr)
        write("index", {"tokenizers": index, "hf_tokenizers_version": tokenizers.__version__})


if __name__ == "__main__":
    main()
