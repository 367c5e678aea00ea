"""The CPU encoder backends (`--encoder-backend onnx|onnx-int8|openvino`) against torch on real texts.

The ONNX files are exported into the packaged encoder folder by `make setup` (`faqmine models build-onnx`,
a no-op when both files are there) and loaded from disk like every stage loads them, through `get_encoder`.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from helpers.xquad_qas import xquad_pairs

from faqmine.commands.models import export_onnx_files
from faqmine.embedding.encode import EncodeConfig, encode_texts, get_encoder
from faqmine.embedding.load import DEFAULT_ENCODER, load_encoder
from faqmine.embedding.runtimes import ONNX_FILES

# float32 graphs compute what torch computes up to summation order (measured minimum cosine 1.0000, and OpenVINO's
# bfloat16 too); int8 weights and per-batch activation scales move a vector more: minimum 0.9860 over the 7,956
# XQuAD and realfaq texts of bench/reports/encode.md (per-tensor weights measured 0.972 on XQuAD), so 0.97 leaves
# room and still fails a broken graph, whose vectors are near-orthogonal
MIN_COSINE = {"onnx": 0.999, "openvino": 0.99, "onnx-int8": 0.97}


@pytest.fixture(scope="module")
def texts() -> list[str]:
    out = []
    for language in ("en", "de", "ru", "zh", "ar", "hi"):
        for _, question, answer in xquad_pairs(language)[:4]:
            out += [question, answer]
    return out


@pytest.fixture(scope="module")
def torch_vectors(texts) -> np.ndarray:
    export_onnx_files(DEFAULT_ENCODER)
    return encode_texts(get_encoder(device="cpu"), texts)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnx", "onnx-int8", "openvino"])
def test_backend_embeddings_agree_with_torch(backend, texts, torch_vectors):
    model = get_encoder(device="cpu", backend=backend)
    assert get_encoder(device="cpu", backend=backend) is model  # cached per (path, device, backend)
    assert model is not get_encoder(device="cpu")
    vectors = encode_texts(model, texts, EncodeConfig(backend=backend))
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosine = (vectors * torch_vectors).sum(axis=1)
    assert cosine.min() > MIN_COSINE[backend], (backend, float(cosine.min()))
    # the same text alone gives the vector it got among others (int8: activations share one scale per batch,
    # so a text's vector moves a little with its batch)
    alone = encode_texts(model, texts[:1], EncodeConfig(backend=backend))
    assert float(alone[0] @ vectors[0]) > (0.99 if backend == "onnx-int8" else 0.999)


def test_a_missing_onnx_file_names_the_file_and_the_make_target(tmp_path):
    folder = tmp_path / "encoder"
    folder.mkdir()
    with pytest.raises(FileNotFoundError) as raised:
        load_encoder(str(folder), backend="onnx-int8")
    message = str(raised.value)
    assert str(folder / ONNX_FILES["onnx-int8"]) in message and "make models" in message
    assert "faqmine models build-onnx" in message


def test_onnx_backends_refuse_a_gpu(tmp_path):
    from faqmine.embedding.runtimes import use_backend

    (tmp_path / "onnx").mkdir()
    (tmp_path / ONNX_FILES["onnx"]).write_bytes(b"")
    with pytest.raises(ValueError, match="CPU only"):
        use_backend(None, tmp_path, "onnx", device="cuda")


STAGE_FLAGS = {  # stage -> (its class, the config field behind --encoder-backend, its required flags)
    "embed": ("Embed", "backend", ["--input", "qa_dedup", "--output", "qa_embeddings"]),  # the one stage that encodes
}


@pytest.mark.parametrize("name", sorted(STAGE_FLAGS))
def test_encoder_backend_flag_parses_on_the_stages(name):
    stage_class, field, required = STAGE_FLAGS[name]
    parser = getattr(importlib.import_module(f"faqmine.spark.{name}"), stage_class)().parser()
    assert getattr(parser.parse_args(required), field) == "torch"
    assert getattr(parser.parse_args(["--encoder-backend", "onnx-int8", *required]), field) == "onnx-int8"
    with pytest.raises(SystemExit):
        parser.parse_args(["--encoder-backend", "tensorrt", *required])
