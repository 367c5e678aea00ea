"""A multilingual cross-encoder reranker trained by the pipeline: the teacher of hard-negative mining and MarginMSE.

No pretrained multilingual cross-encoder can be loaded here, so the pipeline trains its own: a
sentence-transformers `CrossEncoder` (one logit, sigmoid at predict time) started from a local encoder
checkpoint (default: the packaged multilingual-e5-small) and trained with sentence-transformers'
`CrossEncoderTrainer` on the benchmarks' **train split only**. Its score comes from one of two heads:

- `head="mean"` (default): the mean of the encoder's token vectors over (query, document) and one new linear
  layer (modules Transformer, Pooling, Dense). e5 was trained with mean pooling, so the head starts on vectors that
  already mean something (20 MB experiment crawl, 150 steps, one seed each: its loss fell below 1.0 at step 50
  against step 70 for the CLS head, dev reranking -0.009 against -0.020; docs/hard-negatives.md#the-teacher);
- `head="cls"`: transformers' sequence-classification head (a new pooler over [CLS] and a new classifier), the
  usual cross-encoder; e5's checkpoint has no pooler, so both layers start random.

The rows (each query's own answer as the positive, never a document outside the train split or judged relevant as a
negative); with `cross_lingual` (default) also every bitext pair of two train QAs, both ways: the question in one
language against its partner's answer in the other, with the partner's mined negatives and random documents of the
answer's language. Without those rows the model never sees a question and an answer in different languages, which
is the real pages' task:

- pointwise (`loss="bce"`, BinaryCrossEntropyLoss): rows (query, document, label) with the query's own
  answer as 1 and, as 0, up to `mined_negatives` of its mined negatives (hard_negatives, best teacher
  score first) and `random_negatives` train documents of its language drawn with `seed`;
- listwise (`loss="listnet"`, ListNetLoss): one row per query, (query, [positive, negatives...], [1, 0, ...]).

It is measured as a reranker before it may act as a teacher (`rerank_evaluation`): on the dev split, the
bi-encoder's top `depth` (20) documents of the query's language are reranked, and nDCG@10 of the reranked
order is compared with the bi-encoder's own order, query by query (paired bootstrap interval of the mean
difference, faqmine.retrieval.bootstrap), per language, pooled, and for the languages it was trained on and
the zero-shot ones; and on the real pages of data/realfaq (`realfaq.aligned_items`): questions of one language
against the answers of another language, for the pages that translate each other. The card
(`faqmine_reranker.json` and README.md in the model folder) records data, steps and those numbers;
`use_as_teacher` is true only when the pooled dev difference's interval is above 0.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from faqmine.retrieval.bootstrap import DEFAULT_RESAMPLES, bootstrap_ci, paired_comparison
from faqmine.retrieval.datasets import (
    Benchmark,
    MissingDataset,
    read_benchmarks,
    read_bitext,
    read_hard_negatives,
)
from faqmine.retrieval.dense import search
from faqmine.retrieval.metrics import evaluate_run
from faqmine.retrieval.realfaq import aligned_items
from faqmine.retrieval.train import freeze_lower_layers, freeze_word_embeddings

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder, SentenceTransformer

CARD = "faqmine_reranker.json"
CHECKPOINTS = "checkpoints"
LOSSES = ("bce", "listnet")
HEADS = ("mean", "cls")
METRIC = "ndcg@10"


@dataclass(frozen=True)
class RerankerConfig:
    """Every knob of `train_reranker` (the command line mirrors them)."""

    data: str  # data root holding benchmarks/ (and hard_negatives/)
    output: str  # the CrossEncoder folder to write
    base_model: str | None = None  # local checkpoint to start from (default: the packaged multilingual-e5-small)
    encoder: str | None = None  # bi-encoder whose top-k is reranked on dev (default: the packaged e5)
    encoder_max_length: int | None = None  # its max_seq_length in the evaluation (None: the encoder's own)
    hard_negatives: str | None = None  # hard_negatives folder (default: <data>/hard_negatives; "none": random only)
    languages: tuple[str, ...] | None = None  # train on these languages only (dev: every language, others zero-shot)
    cross_lingual: bool = True  # also (question, partner's answer) rows from bitext pairs of two train QAs
    bitext: str | None = None  # bitext folder (default: <data>/bitext when there)
    loss: str = "bce"
    head: str = "mean"  # mean: mean-pooled tokens + a linear layer; cls: the sequence-classification head
    mined_negatives: int = 3
    random_negatives: int = 1
    max_steps: int = -1  # > 0: stop after this many steps (overrides epochs)
    epochs: float = 1.0
    batch_size: int = 16
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    max_length: int = 256
    freeze_embeddings: bool = True  # e5-small: 96M of 118M parameters; keeps zero-shot languages' embeddings
    freeze_layers: int = 0  # > 0: also the embedding layer and this many lowest transformer layers (cheaper steps)
    seed: int = 12
    save_steps: int = 200
    resume: str = "auto"  # auto (latest checkpoint in <output>/checkpoints), none, or a checkpoint folder
    keep_checkpoints: bool = True  # False: delete <output>/checkpoints once the model is saved
    device: str | None = None
    dev_split: str = "dev"
    depth: int = 20
    dev_queries: int | None = None  # cap per language (deterministic sample); None: every dev query
    realfaq: str | None = None  # data/realfaq folder; "none" skips it
    realfaq_queries: int | None = 400
    resamples: int = DEFAULT_RESAMPLES
    progress: bool = True
    skip_eval: bool = False

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {self.head!r}")
        if self.mined_negatives < 0 or self.random_negatives < 0 or self.mined_negatives + self.random_negatives < 1:
            raise ValueError("need at least one negative per query (mined_negatives + random_negatives >= 1)")
        if self.max_steps <= 0 and self.epochs <= 0:
            raise ValueError("set max_steps > 0 or epochs > 0")
        if self.freeze_layers < 0:
            raise ValueError("freeze_layers must be 0 or more")
        if self.depth < 1 or self.batch_size < 1:
            raise ValueError("depth and batch_size must be at least 1")


# -- training data -------------------------------------------------------------------------------------------------


@dataclass
class RerankerData:
    """Training rows in the loss' layout, their languages, and what was counted on the way."""

    rows: pd.DataFrame
    languages: list[str]
    counts: Counter = field(default_factory=Counter)


def _own_answer(query_qa: str, texts: dict[str, str]) -> str | None:
    from faqmine.build_benchmarks.benchmark import doc_id

    own = doc_id(query_qa)
    return own if own in texts else None


def _mined(config: RerankerConfig, counts: Counter) -> dict[str, list[str]]:
    """query_id -> mined negative texts (best first), or {} without hard_negatives."""
    if config.mined_negatives == 0 or (config.hard_negatives or "").lower() == "none":
        return {}
    try:
        hn = read_hard_negatives(config.data, config.hard_negatives, config.languages)
    except MissingDataset:
        if config.hard_negatives:
            raise
        counts["no_hard_negatives"] += 1
        return {}
    counts["hard_negative_rows"] += len(hn)
    return {q: list(n) for q, n in zip(hn["query_id"], hn["negatives"], strict=True)}


def _bitext(config: RerankerConfig, counts: Counter) -> pd.DataFrame:
    """The bitext pairs (qa_id_a, qa_id_b) for cross-lingual rows, or an empty frame."""
    empty = pd.DataFrame(columns=["qa_id_a", "qa_id_b"])
    if not config.cross_lingual:
        return empty
    try:
        pairs = read_bitext(config.data, config.bitext)
    except MissingDataset:
        if config.bitext:
            raise
        counts["no_bitext"] += 1
        return empty
    counts["bitext_pairs"] += len(pairs)
    return pairs.sort_values(["qa_id_a", "qa_id_b"])


def training_rows(config: RerankerConfig, bench: Benchmark | None = None) -> RerankerData:
    """The reranker's training rows from the train split only: every train query with its own answer, its mined
    negatives and random train documents of its language (never dev or test documents); with `cross_lingual`, the
    same for a question against its bitext partner's answer."""
    counts: Counter = Counter()
    bench = bench or read_benchmarks(config.data, config.languages)
    in_train = bench.corpus["split"] == "train"
    asked = bench.queries["split"] == "train"
    if config.languages:
        in_train &= bench.corpus["language"].isin(config.languages)
        asked &= bench.queries["language"].isin(config.languages)
    corpus = bench.corpus[in_train]
    queries = bench.queries[asked].sort_values("query_id")
    texts = dict(zip(corpus["doc_id"], corpus["text"], strict=True))
    relevant = bench.qrels[bench.qrels["score"] > 0].groupby("query_id")["doc_id"].apply(set).to_dict()
    pool = {lang: sorted(group["doc_id"]) for lang, group in corpus.groupby("language")}
    mined = _mined(config, counts)
    train_texts = set(texts.values())  # a mined negative outside the train split's documents is never used
    rng = random.Random(config.seed)
    rows: list[dict] = []
    languages: set[str] = set()

    def judged_texts(*query_ids: str) -> set[str]:
        return {texts[d] for q in query_ids for d in relevant.get(q, ()) if d in texts}

    def negatives_for(answer_query, bad_texts: set[str]) -> list[str]:
        """Mined negatives of the query whose answer is the positive, then random documents of its language."""
        found = mined.get(answer_query.query_id, [])
        chosen = [t for t in found if t not in bad_texts and t in train_texts][:config.mined_negatives]
        counts["mined_not_train"] += sum(1 for t in found if t not in train_texts)
        counts["mined_negatives"] += len(chosen)
        candidates = pool.get(answer_query.language, [])
        wanted = config.random_negatives + (config.mined_negatives - len(chosen) if not mined else 0)
        tries = 0
        while wanted and candidates and tries < 20 * wanted:
            tries += 1
            text = texts[rng.choice(candidates)]
            if text in bad_texts or text in chosen:
                continue
            chosen.append(text)
            counts["random_negatives"] += 1
            wanted -= 1
        return chosen

    def add(query: str, positive: str, negatives: list[str], language: str) -> None:
        if config.loss == "listnet":
            rows.append({"query": query, "docs": [positive, *negatives],
                         "labels": [1.0] + [0.0] * len(negatives), "language": language})
        else:
            rows.append({"query": query, "document": positive, "label": 1.0, "language": language})
            rows.extend({"query": query, "document": t, "label": 0.0, "language": language} for t in negatives)

    by_qa = {}
    for q in queries.itertuples(index=False):
        positive = _own_answer(q.qa_id, texts)
        if positive is None:
            counts["dropped_no_positive"] += 1
            continue
        by_qa[q.qa_id] = (q, positive)
        negatives = negatives_for(q, judged_texts(q.query_id) | {texts[positive]})
        if not negatives:
            counts["dropped_no_negative"] += 1
            continue
        languages.add(q.language)
        counts["queries"] += 1
        add(q.text, texts[positive], negatives, q.language)
    for pair in _bitext(config, counts).itertuples(index=False):
        ends = by_qa.get(pair.qa_id_a), by_qa.get(pair.qa_id_b)
        if ends[0] is None or ends[1] is None:
            counts["bitext_not_train"] += 1  # a QA of another split or language, or without its own answer
            continue
        for (asker, _), (answerer, positive) in (ends, ends[::-1]):
            bad = judged_texts(asker.query_id, answerer.query_id) | {texts[positive]}
            negatives = negatives_for(answerer, bad)
            if not negatives:
                counts["dropped_no_negative"] += 1
                continue
            counts["cross_lingual_queries"] += 1
            add(asker.text, texts[positive], negatives, f"{asker.language}-{answerer.language}")
    counts["rows"] = len(rows)
    return RerankerData(pd.DataFrame(rows), sorted(languages), counts)


# -- training ------------------------------------------------------------------------------------------------------


def _latest_checkpoint(folder: Path) -> Path | None:
    found = [p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def _resume_from(config: RerankerConfig, checkpoints: Path) -> str | None:
    if config.resume == "none":
        return None
    if config.resume == "auto":
        latest = _latest_checkpoint(checkpoints)
        return str(latest) if latest else None
    if not Path(config.resume).is_dir():
        raise FileNotFoundError(f"no checkpoint folder at {config.resume}")
    return config.resume


def load_reranker(path: str | Path, device: str | None = None, max_length: int | None = None) -> CrossEncoder:
    """A CrossEncoder folder from disk (local files only)."""
    from sentence_transformers import CrossEncoder

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"no cross-encoder folder at {folder}")
    return CrossEncoder(str(folder), device=device, local_files_only=True, max_length=max_length)


def new_cross_encoder(base: str, head: str, max_length: int, device: str | None = None) -> CrossEncoder:
    """A one-logit CrossEncoder on the local checkpoint `base` with a new `head` (see the module's docstring)."""
    from sentence_transformers import CrossEncoder

    if head == "cls":
        return CrossEncoder(base, num_labels=1, max_length=max_length, device=device, local_files_only=True)
    from sentence_transformers.base.modules import Dense, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    offline = {"local_files_only": True}
    encoder = Transformer(base, transformer_task="feature-extraction", max_seq_length=max_length,
                          model_kwargs=offline, processor_kwargs=offline, config_kwargs=offline)
    width = encoder.get_embedding_dimension()
    return CrossEncoder(modules=[encoder, Pooling(width, "mean"),
                                 Dense(width, 1, activation_function=None, module_output_name="scores")],
                        device=device)


def train_reranker(config: RerankerConfig, bench: Benchmark | None = None) -> dict:
    """Train the CrossEncoder, save it to `config.output`, measure it on dev (and data/realfaq), write the card.
    Returns the card."""
    import datasets
    import transformers
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss, ListNetLoss

    from faqmine.embedding.load import DEFAULT_ENCODER, ENV_VAR

    started = time.perf_counter()
    output = Path(config.output)
    checkpoints = output / CHECKPOINTS
    bench = bench or read_benchmarks(config.data)  # every language: those not trained on are the zero-shot ones
    data = training_rows(config, bench)
    if data.rows.empty:
        raise ValueError(f"no training rows from the train split of {config.data} ({dict(data.counts)})")
    base = str(Path(config.base_model or os.environ.get(ENV_VAR) or DEFAULT_ENCODER).expanduser())
    transformers.set_seed(config.seed)
    model = new_cross_encoder(base, config.head, config.max_length, config.device)
    frozen = freeze_word_embeddings(model) if config.freeze_embeddings else 0
    frozen += freeze_lower_layers(model, config.freeze_layers)
    if config.loss == "listnet":
        loss = ListNetLoss(model)
        columns = ["query", "docs", "labels"]
    else:
        import torch

        n_neg = max(1, config.mined_negatives + config.random_negatives)
        loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(float(n_neg)))
        columns = ["query", "document", "label"]
    train = datasets.Dataset.from_pandas(data.rows[columns], preserve_index=False).shuffle(seed=config.seed)
    args = CrossEncoderTrainingArguments(
        output_dir=str(checkpoints), max_steps=config.max_steps, num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size, learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio, seed=config.seed, data_seed=config.seed, save_strategy="steps",
        save_steps=config.save_steps, save_total_limit=2, logging_steps=max(1, min(50, config.save_steps)),
        report_to=[], disable_tqdm=not config.progress, use_cpu=(config.device or "cpu") == "cpu",
        dataloader_drop_last=False)
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=train, loss=loss)
    resume = _resume_from(config, checkpoints)
    result = trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.perf_counter() - started
    model.save_pretrained(str(output))
    if not config.keep_checkpoints:
        shutil.rmtree(checkpoints, ignore_errors=True)
    card = {
        "model": str(output), "base_model": base, "head": config.head, "loss": config.loss, "seed": config.seed,
        "data": {"root": str(config.data), "split": "train", "languages": data.languages,
                 "counts": dict(sorted(data.counts.items())),
                 "rows_by_language": {k: int(v) for k, v in data.rows["language"].value_counts().sort_index().items()},
                 "mined_negatives": config.mined_negatives, "random_negatives": config.random_negatives},
        "training": {"steps": int(result.global_step), "epochs": config.epochs, "max_steps": config.max_steps,
                     "batch_size": config.batch_size, "learning_rate": config.learning_rate,
                     "max_length": config.max_length, "freeze_layers": config.freeze_layers,
                     "frozen_parameters": frozen,
                     "resumed_from": resume, "train_loss": float(result.training_loss),
                     "seconds": round(train_seconds, 1)},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
    }
    if not config.skip_eval:
        reranker = load_reranker(output, device=config.device, max_length=config.max_length)
        card.update(evaluate_reranker(reranker, bench, config, data.languages))
    card["seconds"] = round(time.perf_counter() - started, 1)
    write_card(output, card)
    return card


# -- measured as a reranker ----------------------------------------------------------------------------------------


def _sample(ids: list[str], limit: int | None, seed: int) -> list[str]:
    if limit is None or len(ids) <= limit:
        return ids
    return sorted(random.Random(seed).sample(ids, limit))


def _rerank_runs(reranker: CrossEncoder, runs: Sequence[tuple[RerankTask, dict[str, dict[str, float]]]],
                 batch_size: int, progress: bool) -> list[dict[str, dict[str, float]]]:
    """Each task's first-stage documents per query rescored by the cross-encoder: one `predict` over the pairs of
    every task, so that its length-sorted batches pad as little as they can."""
    keys = [(i, q, d) for i, (_, first) in enumerate(runs) for q in sorted(first) for d in sorted(first[q])]
    out: list[dict[str, dict[str, float]]] = [{q: {} for q in first} for _, first in runs]
    if not keys:
        return out
    pairs = [(runs[i][0].queries[q], runs[i][0].docs[d]) for i, q, d in keys]
    scores = reranker.predict(pairs, batch_size=batch_size, show_progress_bar=progress, convert_to_numpy=True)
    for (i, q, d), s in zip(keys, np.asarray(scores, dtype=np.float64).reshape(len(keys), -1)[:, -1], strict=True):
        out[i][q][d] = float(s)
    return out


def _summary(bi: Sequence[float], reranked: Sequence[float], resamples: int, seed: int) -> dict:
    b, r = bootstrap_ci(bi, resamples, seed=seed), bootstrap_ci(reranked, resamples, seed=seed)
    diff = paired_comparison(reranked, bi, resamples, seed=seed)
    return {"queries": diff.n, "bi_encoder": round(b.value, 4), "reranked": round(r.value, 4),
            "bi_encoder_ci": [round(b.ci_low, 4), round(b.ci_high, 4)],
            "reranked_ci": [round(r.ci_low, 4), round(r.ci_high, 4)], "delta": round(diff.delta, 4),
            "delta_ci": [round(diff.ci_low, 4), round(diff.ci_high, 4)], "p_value": round(diff.p_value, 4)}


@dataclass
class RerankTask:
    """Queries against one pool of documents with judgments: the unit reranked and scored."""

    name: str
    queries: dict[str, str]
    docs: dict[str, str]
    qrels: dict[str, dict[str, int]]


def score_tasks(reranker: CrossEncoder, encoder: SentenceTransformer, tasks: Sequence[RerankTask], depth: int,
                batch_size: int = 32, progress: bool = False) -> pd.DataFrame:
    """Per query of every task: nDCG@10 of the bi-encoder's top `depth` in its own order and reranked."""
    from faqmine.retrieval.dense import EmbeddingCache

    cache = EmbeddingCache(encoder)  # a pool shared by several tasks (realfaq: one per language pair) is encoded once
    runs: list[tuple[RerankTask, dict[str, dict[str, float]]]] = []
    for task in tasks:
        qids = sorted(q for q in task.queries if task.qrels.get(q))
        dids = sorted(task.docs)
        if not qids or not dids:
            continue
        qv = cache.get([task.queries[q] for q in qids], "query")
        dv = cache.get([task.docs[d] for d in dids], "document")
        runs.append((task, search(qids, qv, dids, dv, k=depth)))
    frames = []
    for (task, first), reranked in zip(runs, _rerank_runs(reranker, runs, batch_size, progress), strict=True):
        qids = sorted(first)
        qrels = {q: task.qrels[q] for q in qids}
        bi = evaluate_run(qrels, first, [METRIC])
        ce = evaluate_run(qrels, reranked, [METRIC])
        frames.append(pd.DataFrame({"task": task.name, "query_id": qids,
                                    "bi_encoder": [bi[q][METRIC] for q in qids],
                                    "reranked": [ce[q][METRIC] for q in qids]}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["task", "query_id", "bi_encoder", "reranked"])


def dev_tasks(bench: Benchmark, split: str = "dev", max_queries: int | None = None, seed: int = 0
              ) -> list[RerankTask]:
    """One task per language: the split's queries against the split's documents of that language."""
    tasks = []
    qrels = bench.qrels[(bench.qrels["split"] == split) & (bench.qrels["score"] > 0)]
    for language in bench.languages:
        q = bench.queries[(bench.queries["split"] == split) & (bench.queries["language"] == language)]
        c = bench.corpus[(bench.corpus["split"] == split) & (bench.corpus["language"] == language)]
        judged: dict[str, dict[str, int]] = defaultdict(dict)
        for r in qrels[qrels["language"] == language].itertuples(index=False):
            judged[r.query_id][r.doc_id] = int(r.score)
        ids = _sample(sorted(set(q["query_id"]) & set(judged)), max_queries, seed)
        text = dict(zip(q["query_id"], q["text"], strict=True))
        tasks.append(RerankTask(language, {i: text[i] for i in ids}, dict(zip(c["doc_id"], c["text"], strict=True)),
                                {i: judged[i] for i in ids}))
    return tasks


def realfaq_tasks(folder: str | Path, max_queries: int | None = None, seed: int = 0) -> list[RerankTask]:
    """Cross-lingual tasks on the real pages: questions in X against every answer in Y (X != Y) of data/realfaq;
    relevant: the answer of the same translation key. One task per language pair; queries capped in all."""
    items, _ = aligned_items(folder)
    answers: dict[str, dict[str, str]] = defaultdict(dict)
    by_key: dict[str, dict[str, str]] = defaultdict(dict)  # key -> language -> doc
    for i, (language, key, _, answer) in enumerate(items):
        answers[language][f"a{i}"] = answer
        if key is not None:
            by_key[key].setdefault(language, f"a{i}")
    queries: list[tuple[str, str, str, str]] = []  # (pair, query id, question, relevant doc)
    for i, (language, key, question, _) in enumerate(items):
        if key is None:
            continue
        for other, doc in sorted(by_key[key].items()):
            if other != language:
                queries.append((f"{language}-{other}", f"q{i}-{other}", question, doc))
    chosen = set(_sample([q[1] for q in queries], max_queries, seed))
    tasks: dict[str, RerankTask] = {}
    for pair, qid, question, doc in queries:
        if qid not in chosen:
            continue
        target = pair.split("-", 1)[1]
        task = tasks.setdefault(pair, RerankTask(pair, {}, answers[target], {}))
        task.queries[qid] = question
        task.qrels[qid] = {doc: 1}
    return [tasks[p] for p in sorted(tasks)]


def evaluate_reranker(reranker: CrossEncoder, bench: Benchmark, config: RerankerConfig,
                      train_languages: Sequence[str]) -> dict:
    """The card's `dev` (per language, pooled, trained and zero-shot languages), `realfaq` (cross-lingual pairs of
    the real pages, pooled and per language pair) and `use_as_teacher` entries."""
    from faqmine.embedding.load import load_encoder

    encoder = load_encoder(config.encoder, device=config.device)
    if config.encoder_max_length:
        encoder.max_seq_length = config.encoder_max_length
    trained = set(train_languages)
    seed = config.seed
    per_query = score_tasks(reranker, encoder, dev_tasks(bench, config.dev_split, config.dev_queries, seed),
                            config.depth, progress=config.progress)
    out: dict = {"dev": {"split": config.dev_split, "depth": config.depth, "metric": METRIC,
                         "encoder": str(config.encoder or "default"), "encoder_max_length": encoder.max_seq_length}}
    dev = out["dev"]
    if not per_query.empty:
        dev["pooled"] = _summary(per_query["bi_encoder"], per_query["reranked"], config.resamples, seed)
        dev["by_language"] = {lang: {**_summary(g["bi_encoder"], g["reranked"], config.resamples, seed),
                                     "zero_shot": lang not in trained}
                              for lang, g in per_query.groupby("task")}
        for group, mask in (("trained", per_query["task"].isin(trained)),
                            ("zero_shot", ~per_query["task"].isin(trained))):
            if mask.any():
                dev[group] = _summary(per_query.loc[mask, "bi_encoder"], per_query.loc[mask, "reranked"],
                                      config.resamples, seed)
    folder = _realfaq_folder(config.realfaq)
    if folder is not None:
        real = score_tasks(reranker, encoder, realfaq_tasks(folder, config.realfaq_queries, seed), config.depth,
                           progress=config.progress)
        entry: dict = {"folder": str(folder), "depth": config.depth, "metric": METRIC}
        if not real.empty:
            entry["pooled"] = _summary(real["bi_encoder"], real["reranked"], config.resamples, seed)
            entry["by_pair"] = {pair: _summary(g["bi_encoder"], g["reranked"], config.resamples, seed)
                                for pair, g in real.groupby("task")}
        out["realfaq"] = entry
    pooled = dev.get("pooled")
    out["use_as_teacher"] = bool(pooled and pooled["delta_ci"][0] > 0)
    return out


def _realfaq_folder(value: str | None) -> Path | None:
    from faqmine.embedding.load import REPO_ROOT

    if value is not None and value.lower() == "none":
        return None
    folder = Path(value) if value else REPO_ROOT / "data" / "realfaq"
    return folder if (folder / "gold.jsonl").is_file() and (folder / "manifest.jsonl").is_file() else None


# -- the card ------------------------------------------------------------------------------------------------------


def _fmt(entry: dict) -> str:
    lo, hi = entry["delta_ci"]
    return (f"| {entry['queries']} | {entry['bi_encoder']:.3f} | {entry['reranked']:.3f} | "
            f"{entry['delta']:+.3f} [{lo:+.3f}, {hi:+.3f}] |")


def card_markdown(card: dict) -> str:
    """README.md of the model folder: what it was trained on, how long, and how it reranks."""
    t, d = card["training"], card["data"]
    lines = [
        "---", "library_name: sentence-transformers", "pipeline_tag: text-ranking", "tags: [cross-encoder, faqmine]",
        "---", "", f"# faqmine reranker ({Path(card['model']).name})", "",
        f"A sentence-transformers CrossEncoder trained by `faqmine models train-reranker` from `{card['base_model']}`",
        f"on the **train split** of `{d['root']}` ({', '.join(d['languages'])}): {d['counts'].get('queries', 0)} "
        f"queries ({d['counts'].get('cross_lingual_queries', 0)} more asked across languages: a bitext pair's "
        f"question against its partner's answer), {d['counts'].get('rows', 0)} rows, "
        f"head `{card.get('head', 'cls')}`, loss `{card['loss']}`, "
        f"{d['mined_negatives']} mined + "
        f"{d['random_negatives']} random negatives per query.",
        f"Training: {t['steps']} steps of batch {t['batch_size']}, lr {t['learning_rate']}, max length "
        f"{t['max_length']}, seed {card['seed']}, {t['seconds']} s; train loss {t['train_loss']:.4f}.", ""]
    dev = card.get("dev")
    if dev and "pooled" in dev:
        lines += [f"## Dev reranking ({dev['split']} split, bi-encoder top {dev['depth']}, {dev['metric']})", "",
                  "| languages | queries | bi-encoder | reranked | reranked − bi-encoder [95% CI] |",
                  "| --- | ---: | ---: | ---: | --- |", f"| pooled {_fmt(dev['pooled'])}"]
        for group in ("trained", "zero_shot"):
            if group in dev:
                lines.append(f"| {group.replace('_', '-')} {_fmt(dev[group])}")
        for lang, entry in dev["by_language"].items():
            lines.append(f"| {lang}{' (zero-shot)' if entry['zero_shot'] else ''} {_fmt(entry)}")
        lines.append("")
    real = card.get("realfaq")
    if real and "pooled" in real:
        lines += ["## Real pages (data/realfaq, cross-lingual: question in X, answers in Y)", "",
                  "| pairs | queries | bi-encoder | reranked | reranked − bi-encoder [95% CI] |",
                  "| --- | ---: | ---: | ---: | --- |", f"| pooled {_fmt(real['pooled'])}", ""]
    if "use_as_teacher" in card:
        verdict = ("beats the bi-encoder's order on dev (interval above 0): usable as the mining teacher"
                   if card["use_as_teacher"] else
                   "does NOT beat the bi-encoder's order on dev by an interval above 0: margins from it are no "
                   "better than the encoder's own (self-distillation)")
        lines += [f"Verdict: {verdict}.", ""]
    return "\n".join(lines)


def write_card(folder: str | Path, card: dict) -> None:
    folder = Path(folder)
    (folder / CARD).write_text(json.dumps(card, indent=2, default=str) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(card_markdown(card), encoding="utf-8")


def read_card(folder: str | Path) -> dict | None:
    path = Path(folder) / CARD
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def card_summary(folder: str | Path | None) -> dict | None:
    """What a cross-encoder's card says of it as a reranker: pooled dev and realfaq nDCG@10 against the bi-encoder's
    order, whether it beat it, its steps; None without a folder or a card (mine_negatives' stats, the evaluation's
    run record)."""
    card = read_card(folder) if folder else None
    if card is None:
        return None
    return {"dev": (card.get("dev") or {}).get("pooled"), "realfaq": (card.get("realfaq") or {}).get("pooled"),
            "use_as_teacher": card.get("use_as_teacher"), "steps": (card.get("training") or {}).get("steps")}
