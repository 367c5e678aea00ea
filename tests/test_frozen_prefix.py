"""FrozenPrefix: models that kept the base's lowest layers are encoded from the stored hidden states, with the
vectors their own `encode` gives; a model whose lower weights differ is refused (encoded in full by the caller)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from faqmine.embedding.encode import EncodeConfig, encode_texts
from faqmine.embedding.frozen_prefix import FrozenPrefix, frozen_depth
from faqmine.embedding.load import DEFAULT_ENCODER, load_encoder
from tests.helpers.paths import need_model

TEXTS = ["Wie kann ich meine Bestellung stornieren?", "How long does shipping take to Canada?",
         "Доставка занимает от трёх до пяти рабочих дней.", "退货需要在30天内完成。", "Ok",
         "How long does shipping take?"]


def _changed_above(model, depth: int, seed: int):
    """A copy of `model` whose layers from `depth` up are perturbed, as training with freeze_layers=depth leaves it."""
    out = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in out[0].auto_model.encoder.layer[depth:]:
            for p in layer.parameters():
                p.add_(torch.randn(p.shape, generator=generator) * 0.02)
    return out


@pytest.fixture(scope="module")
def base():
    need_model(DEFAULT_ENCODER / "modules.json", "encoder")
    model = load_encoder(str(DEFAULT_ENCODER), device="cpu")
    model.max_seq_length = 64
    return model


@pytest.mark.parametrize("prompt", ["query", "passage"])
def test_vectors_equal_the_models_own(base, prompt: str) -> None:
    prefix = FrozenPrefix(base)
    config = EncodeConfig(prompt_name=prompt, batch_size=4, max_seq_length=None)
    for seed in (1, 2):  # two models share one prefix: the second reuses the first's hidden states
        tuned = _changed_above(base, 9, seed)
        assert frozen_depth(tuned, base) == 9
        expected = encode_texts(tuned, TEXTS, config)
        got = prefix.encode(tuned, TEXTS, config)
        assert got is not None and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=2e-5)
        assert not np.allclose(expected, encode_texts(base, TEXTS, config), atol=1e-3)  # the upper layers count
    assert prefix.depth == 9 and prefix.reused == 2 * len(TEXTS)
    # with the depth known, the base runs its own upper layers on the stored states
    np.testing.assert_allclose(prefix.encode(copy.deepcopy(base), TEXTS, config), encode_texts(base, TEXTS, config),
                               atol=2e-5)


def test_the_base_waits_for_a_fine_tuned_model(base) -> None:
    prefix = FrozenPrefix(base)
    config = EncodeConfig(prompt_name="query", batch_size=4, max_seq_length=None)
    assert prefix.encode(copy.deepcopy(base), TEXTS[:2], config) is None and prefix.depth is None


def test_models_without_the_shared_layers_are_refused(base) -> None:
    prefix = FrozenPrefix(base)
    config = EncodeConfig(prompt_name="query", batch_size=4, max_seq_length=None)
    assert prefix.encode(_changed_above(base, 9, 1), TEXTS[:2], config) is not None
    shallower = _changed_above(base, 6, 3)
    assert frozen_depth(shallower, base) == 6 and prefix.encode(shallower, TEXTS[:2], config) is None
    moved = copy.deepcopy(base)
    with torch.no_grad():
        moved[0].auto_model.embeddings.word_embeddings.weight[5] += 1.0
    assert frozen_depth(moved, base) == 0 and prefix.encode(moved, TEXTS[:2], config) is None
