"""The training recipe behind training/train.py: data for a strategy, the loss, the trainer, the run record.

Three strategies, one code path (sentence-transformers' SentenceTransformerTrainer):

- inbatch: (anchor=question, positive=answer) with MultipleNegativesRankingLoss: every
  other answer of the batch is a negative; batches never hold the same text twice
  (BatchSamplers.NO_DUPLICATES). `cached: true` swaps in CachedMultipleNegativesRankingLoss
  for batches larger than memory allows.
- randneg: (anchor, positive, negative_1..negative_k), same loss, the k negatives drawn at
  random (with the run's seed) from the training split's corpus in the query's language,
  never the positive, a copy of it (the benchmark's qrels, the same text) or a translation
  of it (bitext): the random-negative baseline WebFAQ 2.0 compares hard negatives with.
- hardneg: (anchor, positive, negative_1..negative_k) from hard_negatives, same loss: the
  k mined negatives of each query are added to the in-batch ones.
- marginmse: (query, positive, negative_1..negative_k, label) with MarginMSELoss, label_i =
  teacher(query, positive) - teacher(query, negative_i): the student learns the teacher's
  score margins (Hofstätter et al. 2020) rather than a hard 0/1 target.

Queries get the model's query prompt and answers its passage prompt (e5: "query: ",
"passage: "), the prompts evaluation uses. Freezing the word-embedding matrix (96M of
e5-small's 118M parameters) keeps CPU steps cheap and leaves the embeddings of languages
absent from training untouched.
"""

from __future__ import annotations

import json
import math
import platform
import random
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from faqmine.build_benchmarks.benchmark import doc_id as make_doc_id
from faqmine.retrieval.config import TrainConfig
from faqmine.retrieval.datasets import MissingDataset, read_benchmarks, read_hard_negatives
from faqmine.retrieval.dense import prompt_text

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

FINAL_MODEL = "final"
RECORD = "faqmine_train.json"
LOSS_LOG = "train_log.jsonl"
CURVE_PREFIX = "curve-step-"


@dataclass
class TrainingData:
    """Rows in the column layout the strategy's loss reads, with what was kept and dropped."""

    rows: pd.DataFrame
    languages: list[str]
    counts: Counter = field(default_factory=Counter)


def _read_table(path: Path) -> pd.DataFrame:
    if path.is_dir():
        return pd.read_parquet(path)
    if path.suffix in (".jsonl", ".json"):
        return pd.read_json(path, lines=path.suffix == ".jsonl")
    return pd.read_parquet(path)


def _is_export(path: Path) -> bool:
    """True when `path` is one of hard_negatives' exports rather than the dataset itself."""
    if path.is_file():
        return True
    return path.is_dir() and not any(p.is_dir() and "=" in p.name for p in path.iterdir()) and any(
        p.suffix in (".parquet", ".jsonl") for p in path.iterdir())


def pairs_from_benchmarks(config: TrainConfig, counts: Counter) -> tuple[pd.DataFrame, list[str]]:
    """(anchor, positive) for every query of the training split: its question and its own answer."""
    bench = read_benchmarks(config.data, config.languages, folder=config.benchmarks_folder())
    queries = bench.queries[bench.queries["split"] == config.split]
    texts = dict(zip(bench.corpus["doc_id"], bench.corpus["text"], strict=True))
    relevant = bench.qrels[bench.qrels["score"] > 0].groupby("query_id")["doc_id"].apply(sorted).to_dict()
    rows, languages = [], set()
    for q in queries.sort_values("query_id").itertuples(index=False):
        own = make_doc_id(q.qa_id)
        positive = own if own in texts else next((d for d in relevant.get(q.query_id, []) if d in texts), None)
        if positive is None:
            counts["dropped_no_positive"] += 1
            continue
        rows.append({"anchor": q.text, "positive": texts[positive], "language": q.language})
        languages.add(q.language)
    counts["queries_in_split"] += len(queries)
    return pd.DataFrame(rows, columns=["anchor", "positive", "language"]), sorted(languages)


def _train_query_ids(config: TrainConfig) -> set[str] | None:
    try:
        bench = read_benchmarks(config.data, config.languages, folder=config.benchmarks_folder())
    except MissingDataset:
        return None
    return set(bench.queries.loc[bench.queries["split"] == config.split, "query_id"])


def _teacher(scores: list[float], transform: str) -> list[float]:
    if transform == "sigmoid":
        return [1.0 / (1.0 + math.exp(-s)) for s in scores]
    return list(scores)


class RandomNegatives:
    """Draws k random negatives for a query from its language's training-split corpus.

    Excluded for a query: its positive, every document the benchmark's qrels judge relevant to it
    (copies of the answer), every document with the positive's text, and every answer bitext links to
    the positive's QA (its translations, which a multilingual corpus may hold in the same language when a
    page declares the wrong one). The draw depends only on the seed and the query id, so it does not
    change with the order or the number of other queries.
    """

    def __init__(self, config: TrainConfig) -> None:
        bench = read_benchmarks(config.data, config.languages, folder=config.benchmarks_folder())
        corpus = bench.corpus
        if "split" in corpus.columns:
            corpus = corpus[corpus["split"] == config.split]
        corpus = corpus.sort_values("doc_id")
        self.seed = config.seed
        self.by_language: dict[str, list[tuple[str, str, str]]] = {
            lang: list(zip(g["doc_id"], g["text"], g["qa_id"], strict=True))
            for lang, g in corpus.groupby("language", sort=True)}
        relevant = bench.qrels[bench.qrels["score"] > 0]
        self.relevant: dict[str, set[str]] = relevant.groupby("query_id")["doc_id"].apply(set).to_dict()
        self.qa_of_query = dict(zip(bench.queries["query_id"], bench.queries["qa_id"], strict=True))
        self.translations: dict[str, set[str]] = {}
        try:
            from faqmine.retrieval.datasets import read_bitext

            bitext = read_bitext(config.data)
        except MissingDataset:
            bitext = None
        if bitext is not None:
            for a, b in zip(bitext["qa_id_a"], bitext["qa_id_b"], strict=True):
                self.translations.setdefault(a, set()).add(b)
                self.translations.setdefault(b, set()).add(a)

    def draw(self, query_id: str, language: str, positive: str, k: int) -> list[str] | None:
        """k negative texts for the query, or None when its language has fewer than k allowed documents."""
        qa = self.qa_of_query.get(query_id)
        banned_docs = self.relevant.get(query_id, set()) | ({make_doc_id(qa)} if qa else set())
        banned_qas = self.translations.get(qa, set()) if qa else set()
        candidates = self.by_language.get(language, [])
        rng = random.Random(f"randneg|{self.seed}|{query_id}")
        chosen: list[str] = []
        seen: set[str] = {positive}
        for i in rng.sample(range(len(candidates)), len(candidates)):
            doc, text, doc_qa = candidates[i]
            if doc in banned_docs or doc_qa in banned_qas or text in seen:
                continue
            chosen.append(text)
            seen.add(text)
            if len(chosen) == k:
                return chosen
        return None


def rows_from_hard_negatives(config: TrainConfig, counts: Counter) -> tuple[pd.DataFrame, list[str]]:
    """Rows with k negatives (and teacher margins for marginmse) from the hard_negatives dataset; for inbatch
    (pairs_from: hard_negatives) the same queries and positives without the negatives."""
    k = config.k_negatives
    margin = config.strategy == "marginmse"
    hn = read_hard_negatives(config.data, config.hard_negatives_folder(), config.languages, need_scores=margin)
    counts["hard_negative_rows"] += len(hn)
    if "split" in hn.columns:
        keep = hn["split"] == config.split
    else:
        train_ids = _train_query_ids(config)
        keep = hn["query_id"].isin(train_ids) if train_ids is not None else pd.Series(True, index=hn.index)
    counts["dropped_not_in_split"] += int((~keep).sum())
    hn = hn[keep].sort_values("query_id")
    rows, languages = [], set()
    with_negatives = config.strategy != "inbatch"
    sampler = RandomNegatives(config) if config.strategy == "randneg" else None
    for r in hn.itertuples(index=False):
        negatives = list(r.negatives)
        if len(negatives) < k:
            counts["dropped_too_few_negatives"] += 1
            continue
        if sampler is not None:
            negatives = sampler.draw(r.query_id, r.language, r.positive, k)
            if negatives is None:
                counts["dropped_too_few_random_negatives"] += 1
                continue
        row = {"anchor": r.query, "positive": r.positive}
        if with_negatives:
            row.update({f"negative_{i + 1}": negatives[i] for i in range(k)})
        if margin:
            pos = _teacher([float(r.positive_score)], config.teacher_transform)[0]
            negs = _teacher([float(s) for s in list(r.negative_scores)[:k]], config.teacher_transform)
            row["label"] = [config.teacher_scale * (pos - s) for s in negs]
            counts[f"teacher={getattr(r, 'teacher', None) or 'unknown'}"] += 1  # whose margins these are
        row["language"] = r.language
        rows.append(row)
        languages.add(r.language)
    return pd.DataFrame(rows), sorted(languages)


def rows_from_export(config: TrainConfig, counts: Counter) -> tuple[pd.DataFrame, list[str]]:
    """Rows from an export of hard_negatives (its languages are unknown: reported as "?")."""
    if config.strategy == "randneg":
        raise ValueError("randneg draws its negatives from the benchmarks corpus by language: point hard_negatives "
                         "at the dataset, not at an export")
    table = _read_table(config.hard_negatives_folder())
    counts["export_rows"] += len(table)
    if config.strategy == "inbatch":
        rows = table[["anchor", "positive"]].copy() if "anchor" in table else table[["query", "positive"]].rename(
            columns={"query": "anchor"}).drop_duplicates()
    elif config.strategy == "marginmse":
        label = "label" if "label" in table.columns else "score"
        need = ["query", "positive", "negative", label]
        missing = [c for c in need if c not in table.columns]
        if missing:
            raise ValueError(f"{config.hard_negatives_folder()}: a MarginMSE export needs columns {need}, "
                             f"missing {missing}")
        rows = pd.DataFrame({"anchor": table["query"], "positive": table["positive"],
                             "negative_1": table["negative"],
                             "label": [[config.teacher_scale * float(s)] for s in table[label]]})
    else:
        negs = [f"negative_{i + 1}" for i in range(config.k_negatives)]
        missing = [c for c in ["anchor", "positive", *negs] if c not in table.columns]
        if missing:
            raise ValueError(f"{config.hard_negatives_folder()}: an MNRL export with k={config.k_negatives} needs "
                             f"columns anchor, positive, {', '.join(negs)}; missing {missing}")
        rows = table[["anchor", "positive", *negs]].copy()
    rows["language"] = "?"
    return rows, ["?"]


def load_training_data(config: TrainConfig) -> TrainingData:
    """The training rows of the configured strategy, shuffled with the seed and capped."""
    counts: Counter = Counter()
    if config.strategy == "inbatch" and config.pairs_from == "benchmarks":
        rows, languages = pairs_from_benchmarks(config, counts)
    elif _is_export(config.hard_negatives_folder()):
        rows, languages = rows_from_export(config, counts)
    else:
        rows, languages = rows_from_hard_negatives(config, counts)
    if rows.empty:
        raise ValueError(f"no training rows for {config.strategy} (languages {config.languages or 'all'}, split "
                         f"{config.split!r}): {dict(counts)}")
    order = list(range(len(rows)))
    random.Random(config.seed).shuffle(order)
    if config.max_train_examples is not None and len(order) > config.max_train_examples:
        counts["dropped_over_max_train_examples"] += len(order) - config.max_train_examples
        order = order[: config.max_train_examples]
    rows = rows.iloc[order].reset_index(drop=True)
    counts["rows"] = len(rows)
    counts.update({f"rows_{lang}": n for lang, n in rows["language"].value_counts().items()})
    return TrainingData(rows.drop(columns=["language"]), languages, counts)


def freeze_word_embeddings(model: SentenceTransformer) -> int:
    """Stop gradients to every word-embedding matrix of the model; returns the parameters frozen."""
    frozen = 0
    for name, parameter in model.named_parameters():
        if "word_embeddings" in name or name.endswith("embed_tokens.weight"):
            parameter.requires_grad_(False)
            frozen += parameter.numel()
    return frozen


_LAYER = re.compile(r"(?:^|\.)(?:layer|layers|block|h)\.(\d+)\.")


def freeze_lower_layers(model: SentenceTransformer, n: int) -> int:
    """Stop gradients to the embedding layer and the lowest `n` transformer layers; returns the parameters frozen.
    Layers are found by their index in the parameter name (encoder.layer.3., layers.3., ...)."""
    if n <= 0:
        return 0
    indices = {int(m.group(1)) for name, _ in model.named_parameters() if (m := _LAYER.search(name))}
    if n > len(indices):
        raise ValueError(f"freeze_layers={n}, but the model has {len(indices)} transformer layers")
    frozen = 0
    for name, parameter in model.named_parameters():
        m = _LAYER.search(name)
        if ".embeddings." in f".{name}" or (m and int(m.group(1)) < n):
            if parameter.requires_grad:
                frozen += parameter.numel()
            parameter.requires_grad_(False)
    return frozen


def cap_tokens(model: SentenceTransformer, texts: list[str], max_tokens: int, prompt: str | None) -> list[str]:
    """Cut every text after the token that fills `max_tokens` (counting the prompt and the special tokens), at a
    character offset, so the text stays a prefix of the original."""
    tokenizer = model.tokenizer
    room = max(1, max_tokens - len(tokenizer(prompt or "", add_special_tokens=True)["input_ids"]))
    encoded = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=room,
                        return_offsets_mapping=True)
    out = []
    for text, offsets in zip(texts, encoded["offset_mapping"], strict=True):
        out.append(text[: offsets[-1][1]] if offsets else text)
    return out


def cap_lengths(model: SentenceTransformer, rows: pd.DataFrame, config: TrainConfig) -> Counter:
    """Apply max_question_length to the anchor column and max_answer_length to the answer columns, in place;
    returns how many texts were cut per column kind."""
    cut: Counter = Counter()
    query, passage = prompt_text(model, "query"), prompt_text(model, "document")
    for column in [c for c in rows.columns if c not in ("label", "language")]:
        question = column == "anchor"
        limit = config.max_question_length if question else config.max_answer_length
        if limit is None or limit >= config.max_seq_length:
            continue
        before = list(rows[column])
        rows[column] = cap_tokens(model, before, int(limit), query if question else passage)
        cut["questions_cut" if question else "answers_cut"] += sum(a != b for a, b in zip(before, rows[column],
                                                                                            strict=True))
    return cut


def _prompts(model: SentenceTransformer, columns: list[str]) -> dict[str, str] | None:
    query, passage = prompt_text(model, "query"), prompt_text(model, "document")
    prompts = {}
    for column in columns:
        prompt = query if column == "anchor" else passage
        if prompt:
            prompts[column] = prompt
    return prompts or None


def _latest_checkpoint(output_dir: Path) -> Path | None:
    found = [p for p in output_dir.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def _delete_checkpoints(output_dir: Path) -> list[str]:
    """Deletes the trainer's checkpoint-<N> folders (the curve-step-<N> models stay); returns their names."""
    found = sorted(p for p in output_dir.glob("checkpoint-*") if p.is_dir())
    for folder in found:
        shutil.rmtree(folder)
    return [p.name for p in found]


def build_loss(model: SentenceTransformer, config: TrainConfig):
    from sentence_transformers.sentence_transformer import losses

    if config.strategy == "marginmse":
        return losses.MarginMSELoss(model)
    if config.cached:
        return losses.CachedMultipleNegativesRankingLoss(model, scale=config.scale,
                                                         mini_batch_size=config.mini_batch_size)
    return losses.MultipleNegativesRankingLoss(model, scale=config.scale)


def curve_steps(max_steps: int, fractions: list[float]) -> list[int]:
    """The steps where a learning-curve point is saved: round(fraction x steps), at least 1, before the end."""
    return sorted({min(max_steps - 1, max(1, round(float(f) * max_steps))) for f in fractions} - {0})


def _curve_saver(output_dir: Path, fractions: list[float]):
    from transformers import TrainerCallback

    class CurveSaver(TrainerCallback):
        """Saves the model at fixed fractions of the run as <output_dir>/curve-step-<N>."""

        def __init__(self) -> None:
            self.steps: list[int] = []
            self.saved: list[str] = []

        def on_train_begin(self, args, state, control, **kwargs):
            self.steps = curve_steps(int(state.max_steps), fractions)

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step in self.steps and model is not None:
                folder = output_dir / f"{CURVE_PREFIX}{state.global_step}"
                model.save(str(folder))
                self.saved.append(folder.name)

    return CurveSaver()


def _step_logger(path: Path):
    from transformers import TrainerCallback

    class StepLogger(TrainerCallback):
        """Appends every log (loss, learning rate, epoch) to train_log.jsonl and times the steps."""

        def __init__(self) -> None:
            self.step_seconds: list[float] = []
            self._started = 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self._started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.step_seconds.append(time.perf_counter() - self._started)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs:
                with path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"step": state.global_step, **logs}) + "\n")

    return StepLogger()


def _trainer_class():
    from sentence_transformers import SentenceTransformerTrainer

    class Trainer(SentenceTransformerTrainer):
        """SentenceTransformerTrainer whose checkpoint reload tolerates extra weights in the checkpoint.

        A checkpoint's sentence_bert_config.json does not keep the model_kwargs of the packaged encoder
        (add_pooling_layer: false), so the reloaded copy grows an unused BERT pooler and the stock strict
        load_state_dict fails on resume. Here the checkpoint's weights are copied where the model has them;
        a weight of the model missing from the checkpoint is still an error.
        """

        def _load_from_checkpoint(self, checkpoint_path: str) -> None:
            from faqmine.embedding.load import load_encoder

            model = getattr(self.model, "_orig_mod", self.model)
            loaded = load_encoder(checkpoint_path, device="cpu").state_dict()
            own = model.state_dict()
            missing = sorted(k for k in own if k not in loaded)
            if missing:
                raise RuntimeError(f"checkpoint {checkpoint_path} lacks weights {missing[:5]}")
            model.load_state_dict({k: loaded[k] for k in own})

    return Trainer


def mining_teacher_card(config: TrainConfig) -> dict | None:
    """What the hard_negatives folder's _stats.json says of the cross-encoder that scored it (its dev and realfaq
    reranking against the bi-encoder, whether it beat it); None for the cosine teacher or without stats."""
    stats = config.hard_negatives_folder() / "_stats.json"
    if not stats.is_file():
        return None
    written = json.loads(stats.read_text(encoding="utf-8"))
    card = written.get("teacher_card")
    return {"teacher": written.get("teacher"), **card} if card else None


def run_training(config: TrainConfig, force: bool = False) -> dict:
    """Train one model as configured; returns the run record (also written to <output_dir>/faqmine_train.json)."""
    import sentence_transformers
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers

    from faqmine.embedding.load import load_encoder

    output_dir = Path(config.output_dir)
    final = output_dir / FINAL_MODEL
    if config.resume == "auto" and final.is_dir() and (output_dir / RECORD).exists() and not force:
        record = json.loads((output_dir / RECORD).read_text(encoding="utf-8"))
        record["skipped"] = f"final model already in {final} (resume=auto); pass --force to train again"
        return record
    output_dir.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    started = time.time()
    data = load_training_data(config)
    model = load_encoder(config.base, device=config.device)
    model.max_seq_length = config.max_seq_length
    total = sum(p.numel() for p in model.parameters())
    frozen = freeze_word_embeddings(model) if config.freeze_embeddings else 0
    frozen += freeze_lower_layers(model, config.freeze_layers)
    data.counts.update(cap_lengths(model, data.rows, config))
    loss = build_loss(model, config)
    columns = list(data.rows.columns)
    text_columns = [c for c in columns if c != "label"]
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=config.batch_size,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps > 0 else -1,
        learning_rate=config.lr,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        seed=config.seed,
        data_seed=config.seed,
        fp16=config.precision == "fp16",
        bf16=config.precision == "bf16",
        use_cpu=config.device == "cpu",
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        report_to="none",
        disable_tqdm=False,
        dataloader_num_workers=config.dataloader_workers,
        prompts=_prompts(model, text_columns),
        batch_sampler=BatchSamplers.BATCH_SAMPLER if config.strategy == "marginmse" else BatchSamplers.NO_DUPLICATES,
        run_name=config.name,
    )
    logger = _step_logger(output_dir / LOSS_LOG)
    callbacks = [logger]
    if config.curve_fractions:
        callbacks.append(_curve_saver(output_dir, list(config.curve_fractions)))
    trainer = _trainer_class()(model=model, args=args, train_dataset=Dataset.from_pandas(data.rows),
                               loss=loss, callbacks=callbacks)
    resume_from = None
    if config.resume == "auto":
        checkpoint = _latest_checkpoint(output_dir)
        resume_from = str(checkpoint) if checkpoint else None
    elif config.resume not in ("never", "", None):
        resume_from = config.resume
    result = trainer.train(resume_from_checkpoint=resume_from)
    model.save(str(final))
    deleted = [] if config.keep_checkpoints else _delete_checkpoints(output_dir)
    steps = logger.step_seconds
    losses = [json.loads(line) for line in (output_dir / LOSS_LOG).read_text(encoding="utf-8").splitlines()
              if '"loss"' in line]
    record = {
        "run_name": config.name,
        "strategy": config.strategy,
        "config": config.to_dict(),
        "model": str(final),
        "train_languages": data.languages,
        "counts": dict(data.counts),
        "teacher_card": mining_teacher_card(config) if config.strategy == "marginmse" else None,
        "parameters": total,
        "parameters_frozen": frozen,
        "resumed_from": resume_from,
        "checkpoints_deleted": deleted,
        "global_step": int(trainer.state.global_step),
        "train_loss": float(result.training_loss),
        "first_logged_loss": losses[0]["loss"] if losses else None,
        "last_logged_loss": losses[-1]["loss"] if losses else None,
        "seconds": round(time.time() - started, 1),
        "curve_checkpoints": sorted((p.name for p in output_dir.glob(f"{CURVE_PREFIX}*") if p.is_dir()),
                                    key=lambda n: int(n[len(CURVE_PREFIX):])),
        "seconds_per_step": round(sum(steps[1:]) / max(1, len(steps) - 1), 3) if len(steps) > 1 else None,
        "device": config.device,
        "torch_threads": torch.get_num_threads(),
        "versions": {"torch": torch.__version__, "sentence_transformers": sentence_transformers.__version__,
                     "python": platform.python_version()},
    }
    (output_dir / RECORD).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return record
