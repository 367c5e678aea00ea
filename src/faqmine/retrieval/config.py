"""Run configuration for training: one YAML or JSON file per run, every key documented here.

A file names the strategy and everything that decides the result (data, languages, model,
optimisation, seed), so a run is reproduced from its file alone; `training/train.py`
copies the resolved configuration into the output folder. Keys not listed below are an
error (a typo must not silently fall back to a default). Command-line flags override the
file, and `--set key=value` overrides any key (the value is read as YAML: 3, 2e-5, true,
[en, de]).
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

STRATEGIES = ("inbatch", "randneg", "hardneg", "marginmse")
TEACHER_TRANSFORMS = ("none", "sigmoid")


def _f(default: Any, help: str, **kw: Any) -> Any:  # noqa: A002 - mirrors argparse's word
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class TrainConfig:
    """Everything one training run needs."""

    strategy: str = _f("inbatch", "inbatch: (question, answer) pairs with MultipleNegativesRankingLoss (in-batch "
                       "negatives only); randneg: the same with k random negatives per query from its language's "
                       "training corpus (the WebFAQ 2.0 baseline); hardneg: the same with k mined hard negatives "
                       "per query; marginmse: "
                       "MarginMSELoss on the teacher's score margins of (query, positive, negative_i)")
    run_name: str | None = _f(None, "name of the run in logs and reports (default: the strategy)")
    data: str = _f("data/demo", "data root holding benchmarks/ and hard_negatives/")
    benchmarks: str | None = _f(None, "benchmarks folder (default: <data>/benchmarks)")
    hard_negatives: str | None = _f(
        None, "hard_negatives dataset folder (default: <data>/hard_negatives), or one of jobs/mine_negatives.py's "
        "exports (<hard_negatives>_export/triplets: anchor, positive, negative_1..n, for hardneg; "
        "<hard_negatives>_export/marginmse: query, positive, negative, label, for marginmse), or a Parquet/JSONL "
        "file with those columns")
    languages: list[str] | None = _f(None, "languages to train on (default: every language of the data); the others "
                                     "are zero-shot at evaluation")
    pairs_from: str = _f("benchmarks", "where inbatch takes its (question, answer) pairs: benchmarks (every query "
                         "of the split) or hard_negatives (the same queries and positives hardneg and marginmse train "
                         "on, those with at least k_negatives negatives: a comparison that differs only in the "
                         "negatives)")
    split: str = _f("train", "benchmark split the training pairs come from")
    base: str | None = _f(None, "sentence-transformers folder to start from (default: $FAQMINE_ENCODER, else the "
                          "packaged multilingual-e5-small under models/)")
    output_dir: str = _f("runs/inbatch", "folder for checkpoints, the final model (<output_dir>/final), the loss log "
                         "and faqmine_train.json")
    k_negatives: int = _f(3, "negatives per query (randneg, hardneg, marginmse); queries with fewer mined negatives "
                          "are dropped (randneg too, so that every strategy trains on the same queries)")
    batch_size: int = _f(16, "queries per optimisation step (per device)")
    cached: bool = _f(False, "use CachedMultipleNegativesRankingLoss (GradCache): large batches in bounded memory "
                      "(inbatch, hardneg)")
    mini_batch_size: int = _f(32, "texts per forward pass of the cached loss")
    scale: float = _f(20.0, "inverse temperature of the ranking losses (MultipleNegativesRankingLoss's scale)")
    teacher_transform: str = _f("none", "applied to teacher scores before margins are taken: none (scores already "
                                "in [0, 1], e.g. a cross-encoder's sigmoid output) or sigmoid (raw logits)")
    teacher_scale: float = _f(1.0, "margins are multiplied by this (match the teacher's range to cosine margins)")
    max_seq_length: int = _f(128, "tokens per text; longer texts are cut")
    max_question_length: int | None = _f(None, "tokens per question (the anchor column), prompt included; longer "
                                         "questions are cut before training (default: max_seq_length). FAQ "
                                         "questions are short: a lower cap costs little and shortens no batch "
                                         "whose questions fit")
    max_answer_length: int | None = _f(None, "tokens per answer (positive and negative columns), prompt included "
                                       "(default: max_seq_length)")
    freeze_layers: int = _f(0, "freeze the embedding layer (every embedding matrix, not only the words') and the "
                            "lowest N transformer layers: backpropagation stops above them, so a step costs the "
                            "forward pass plus the backward pass of the top layers only")
    freeze_embeddings: bool = _f(True, "freeze the word-embedding matrix (~96M of e5-small's 118M parameters): far "
                                 "less optimiser work and memory, and no drift of tokens unseen in training")
    epochs: float = _f(1.0, "passes over the training pairs (ignored when max_steps > 0)")
    max_steps: int = _f(-1, "optimisation steps; > 0 overrides epochs")
    max_train_examples: int | None = _f(None, "use at most this many training rows (sampled with the seed)")
    lr: float = _f(2e-5, "peak learning rate (linear decay)")
    warmup_ratio: float = _f(0.1, "share of the steps with linear warm-up")
    weight_decay: float = _f(0.01, "AdamW weight decay")
    seed: int = _f(12, "seed of everything random in a run: the order of the training rows, the data loader's "
                   "order, randneg's negatives, dropout and any newly initialised weights")
    device: str = _f("cpu", "torch device: cpu, cuda, cuda:1, mps")
    precision: str = _f("fp32", "fp32, fp16 or bf16 (mixed precision; GPU only)")
    threads: int | None = _f(None, "torch CPU threads (default: torch's choice)")
    logging_steps: int = _f(10, "log the loss every this many steps (to the progress bar and train_log.jsonl)")
    save_steps: int = _f(100, "write a checkpoint every this many steps")
    save_total_limit: int = _f(2, "checkpoints kept (the oldest are deleted)")
    keep_checkpoints: bool = _f(True, "keep the checkpoint-<N> folders once the final model is saved (to go on "
                                "training later: --force with more max_steps); false deletes them, ~0.5 GB each "
                                "for e5-small (scripts/experiment.sh never goes on, so its configs say false)")
    curve_fractions: list[float] = _f([], "save the model at these fractions of the run's steps as "
                                      "<output_dir>/curve-step-<N> (a sentence-transformers folder, never deleted): "
                                      "the points of a learning curve; the final model is the last point")
    resume: str = _f("auto", "auto: continue from the newest checkpoint in output_dir if there is one, and skip "
                     "a run whose final model exists; never: start over; or a checkpoint folder")
    dataloader_workers: int = _f(0, "DataLoader worker processes")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.teacher_transform not in TEACHER_TRANSFORMS:
            raise ValueError(f"teacher_transform must be one of {TEACHER_TRANSFORMS}")
        if self.pairs_from not in ("benchmarks", "hard_negatives"):
            raise ValueError(f"pairs_from must be benchmarks or hard_negatives, got {self.pairs_from!r}")
        if self.precision not in ("fp32", "fp16", "bf16"):
            raise ValueError(f"precision must be fp32, fp16 or bf16, got {self.precision!r}")
        for name in ("batch_size", "max_seq_length", "logging_steps", "save_steps", "mini_batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("max_question_length", "max_answer_length"):
            value = getattr(self, name)
            if value is not None and not 4 <= int(value) <= int(self.max_seq_length):
                raise ValueError(f"{name} must be between 4 and max_seq_length ({self.max_seq_length})")
        if any(not 0 < float(x) < 1 for x in self.curve_fractions or []):
            raise ValueError("curve_fractions must lie strictly between 0 and 1")
        if self.freeze_layers < 0:
            raise ValueError("freeze_layers must be 0 or more")
        if self.strategy != "inbatch" and self.k_negatives < 1:
            raise ValueError(f"{self.strategy} needs k_negatives >= 1")
        if self.max_steps <= 0 and self.epochs <= 0:
            raise ValueError("set epochs > 0 or max_steps > 0")
        if isinstance(self.languages, str):
            self.languages = [x for x in self.languages.replace(",", " ").split() if x]

    @property
    def name(self) -> str:
        return self.run_name or self.strategy

    def benchmarks_folder(self) -> Path:
        return Path(self.benchmarks) if self.benchmarks else Path(self.data) / "benchmarks"

    def hard_negatives_folder(self) -> Path:
        return Path(self.hard_negatives) if self.hard_negatives else Path(self.data) / "hard_negatives"

    def to_dict(self) -> dict:
        return asdict(self)


def config_keys_help() -> str:
    """Every key with its default and meaning (for --help)."""
    lines = []
    for f in fields(TrainConfig):
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        lines.append(f"  {f.name} (default {default!r}): {f.metadata.get('help', '')}")
    return "\n".join(lines)


def read_config_file(path: str | Path) -> dict:
    text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config file holds a mapping of keys to values")
    return data


def parse_assignments(pairs: list[str] | None) -> dict:
    """["k=v", ...] -> {k: yaml(v)}."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects key=value, got {pair!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def make_config(file: str | Path | None = None, overrides: dict | None = None) -> TrainConfig:
    """A TrainConfig from a file (optional) and overrides (None values are ignored). Unknown keys fail."""
    data = read_config_file(file) if file else {}
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown config keys {unknown}; known keys: {sorted(known)}")
    config = TrainConfig()
    return replace(config, **data)
