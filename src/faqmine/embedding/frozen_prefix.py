"""Encode with fine-tuned models that kept their base encoder's lowest layers, running those layers once.

A model trained with `freeze_layers: N` (training/train.py) keeps the embedding layer and the lowest N
transformer layers of its base bit for bit. Every text's hidden states after layer N are then the same
for the base and for every such model, and an evaluation of strategies x seeds would compute them again
for each. `FrozenPrefix` computes them once per text (the base encoder cut after the shared layers) and
runs only each model's upper layers, its pooling and normalisation: with N = 9 of 12, twelve models
cost about 0.75 + 12 x 0.25 = 3.75 encoder passes instead of 12.

Nothing is trusted: `frozen_depth` compares the model's embedding and layer weights with the base's,
tensor by tensor, and a model that shares fewer layers than the prefix holds (or none) is encoded in
full. The vectors equal the model's own `encode` to float rounding (tests/test_frozen_prefix.py). The base itself
goes through it once a fine-tuned model has set the depth (its own upper layers run on the stored states, so its
lower layers are not run a second time), and is refused before. Tokenisation, prompts, truncation and pooling are
the model's own, because its `encode` runs with the lower layers replaced by a lookup of the stored hidden states,
keyed by each row's token ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from faqmine.embedding.encode import EncodeConfig, encode_texts

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def _bert(model: SentenceTransformer):
    """The transformer (a BERT-like model with `embeddings` and `encoder.layer`) of a sentence-transformers model,
    or None when its first module is something else."""
    inner = getattr(model[0], "auto_model", None) or getattr(model[0], "model", None)
    if inner is None or not hasattr(inner, "embeddings") or not hasattr(getattr(inner, "encoder", None), "layer"):
        return None
    return inner


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(sa[k].shape == sb[k].shape and torch.equal(sa[k], sb[k]) for k in sa)


def frozen_depth(model: SentenceTransformer, base: SentenceTransformer) -> int:
    """How many of the lowest transformer layers `model` shares with `base`, weight for weight (0 when the embedding
    layer differs or the models are not BERT-like)."""
    m, b = _bert(model), _bert(base)
    if m is None or b is None or not _same_weights(m.embeddings, b.embeddings):
        return 0
    depth = 0
    for layer_m, layer_b in zip(m.encoder.layer, b.encoder.layer, strict=False):
        if not _same_weights(layer_m, layer_b):
            break
        depth += 1
    return depth


def _key(ids: torch.Tensor, mask: torch.Tensor) -> bytes:
    return ids[mask.bool()].cpu().numpy().astype(np.int64).tobytes()


class _Replay(torch.nn.Module):
    """Stands in for the embedding layer and the shared layers: returns the stored hidden states of the batch."""

    def __init__(self, states: dict[bytes, np.ndarray], batch: dict) -> None:
        super().__init__()
        self.states, self.batch = states, batch

    def forward(self, input_ids: torch.Tensor, **_: object) -> torch.Tensor:
        mask = self.batch["attention_mask"]
        rows = [self.states[_key(ids, m)] for ids, m in zip(input_ids, mask, strict=True)]
        out = torch.zeros((*input_ids.shape, rows[0].shape[-1]), dtype=torch.float32, device=input_ids.device)
        for i, (row, m) in enumerate(zip(rows, mask, strict=True)):
            out[i, m.bool()] = torch.from_numpy(row).to(out.device)
        return out


def _remember_batch(model: SentenceTransformer, batch: dict):
    """A pre-hook on the transformer module that keeps the current batch's input ids and attention mask."""
    def hook(_module, args, kwargs):
        features = args[0] if args else kwargs.get("features")
        batch["attention_mask"] = features["attention_mask"]
        batch["input_ids"] = features["input_ids"]
    return model[0].register_forward_pre_hook(hook, with_kwargs=True)


class FrozenPrefix:
    """The base encoder's hidden states after its lowest `depth` layers, per tokenised text; `depth` is set by the
    first model encoded through it (its shared layers with the base)."""

    def __init__(self, base: SentenceTransformer) -> None:
        self.base = base
        self.depth: int | None = None
        self._states: dict[bytes, np.ndarray] = {}
        self._done: set[tuple[str | None, str]] = set()
        self.reused = 0  # texts whose shared layers were not run again

    def _fill(self, texts: Sequence[str], config: EncodeConfig) -> None:
        todo = [t for t in dict.fromkeys(texts) if (config.prompt_name, t) not in self._done]
        if not todo:
            return
        bert, batch = _bert(self.base), {}
        layers = bert.encoder.layer
        captured = self._states

        def capture(_module, _inputs, output):
            hidden = output[0] if isinstance(output, tuple) else output
            for ids, m, h in zip(batch["input_ids"], batch["attention_mask"], hidden, strict=True):
                captured[_key(ids, m)] = h[m.bool()].detach().cpu().numpy().copy()

        handles = [_remember_batch(self.base, batch), layers[self.depth - 1].register_forward_hook(capture)]
        bert.encoder.layer = torch.nn.ModuleList(list(layers)[: self.depth])  # nothing above the shared layers
        try:
            encode_texts(self.base, todo, config)
        finally:
            bert.encoder.layer = layers
            for h in handles:
                h.remove()
        self._done.update((config.prompt_name, t) for t in todo)

    def encode(self, model: SentenceTransformer, texts: Sequence[str], config: EncodeConfig) -> np.ndarray | None:
        """Unit vectors of `texts` by `model` (as encode_texts gives them), or None when the model does not share
        the prefix's layers with the base (encode it in full)."""
        depth = frozen_depth(model, self.base)
        if self.depth is None and depth >= len(_bert(self.base).encoder.layer):
            return None  # the base itself, before a fine-tuned model has said how many layers are shared
        if self.depth is None:
            self.depth = depth or None
        if not self.depth or depth < self.depth:
            return None
        if self.base.max_seq_length != model.max_seq_length:
            self.base.max_seq_length = model.max_seq_length
            self._states.clear()
            self._done.clear()
        self._fill(texts, config)
        bert, batch = _bert(model), {}
        embeddings, layers = bert.embeddings, bert.encoder.layer
        handle = _remember_batch(model, batch)
        bert.embeddings = _Replay(self._states, batch)
        bert.encoder.layer = torch.nn.ModuleList(list(layers)[self.depth:])
        try:
            vectors = encode_texts(model, texts, config)
        finally:
            bert.embeddings, bert.encoder.layer = embeddings, layers
            handle.remove()
        self.reused += len(texts)
        return vectors
