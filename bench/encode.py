"""Encoding speed per core and retrieval quality of each encoder backend against torch fp32, same texts, same run.

    .venv/bin/python bench/encode.py                          # the defaults below, report bench/reports/encode.md
    .venv/bin/python bench/encode.py --backends torch onnx-int8 --xquad-qas 200 --speed-texts 200

Speed: `SentenceTransformer.encode` (through `encode_texts`, e5's `query: ` prompt, batch 64, 256 tokens) of
the same XQuAD questions and answers by every backend, each pinned to one thread (torch intra-op threads, the
ONNX Runtime / OpenVINO session's threads), so texts/s is per core. Backends take turns for `--rounds`
rounds and the median round counts, because other work on the machine moves all of them; the ratio to
torch is taken in each round and its median printed.

Quality: cross-lingual question -> answer retrieval, encoded with all cores: a question (`query: `) searches
the answers (`passage: `) of every other language; the relevant answers are its translations.
(a) XQuAD: `--xquad-qas` questions of each of `--languages`, the answer being the sentence around the gold
span (tests/helpers/xquad_qas.py). (b) data/realfaq: the pages of a translation group that hold as many gold
pairs as most of its pages (so position i is the same QA on each), in distinct languages; every gold answer
of another language is in the corpus. nDCG@10 per query with trec_eval (faqmine.retrieval.metrics), each
backend's difference from torch with a paired bootstrap 95% interval (faqmine.retrieval.bootstrap), and the
cosine of each backend's vectors to torch's.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import common
import numpy as np

from faqmine.core.machine import cpu_description
from faqmine.retrieval.realfaq import aligned_items

REPO = Path(__file__).resolve().parents[1]
DEPTH = 100


def xquad_items(languages: list[str], n: int) -> list[tuple[str, str, str, str]]:
    """(language, translation key, question, answer) for the first n XQuAD questions of each language."""
    from helpers.xquad_qas import xquad_pairs

    return [(language, qid, question, answer) for language in languages
            for qid, question, answer in xquad_pairs(language)[:n]]


def per_query_ndcg(items, questions: np.ndarray, answers: np.ndarray) -> list[float]:
    """nDCG@10 of every question that has a translation among the answers of other languages."""
    from faqmine.retrieval.metrics import evaluate_run

    languages = np.array([item[0] for item in items])
    keys = [item[1] for item in items]
    qrels, run = {}, {}
    scores = questions @ answers.T
    for i, (language, key, _, _) in enumerate(items):
        relevant = {str(j): 1 for j, other in enumerate(keys) if key is not None and other == key
                    and languages[j] != language}
        if not relevant:
            continue
        row = np.where(languages != language, scores[i], -np.inf)
        top = np.argsort(-row, kind="stable")[:DEPTH]
        qrels[str(i)] = relevant
        run[str(i)] = {str(j): float(row[j]) for j in top if np.isfinite(row[j])}
    per_query = evaluate_run(qrels, run, ("ndcg@10",))
    return [per_query[q]["ndcg@10"] for q in sorted(qrels, key=int)]


def _load(backend: str, threads: int):
    import torch

    from faqmine.embedding.load import load_encoder

    torch.set_num_threads(threads)
    return load_encoder(None, device="cpu", backend=backend, threads=threads)


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx", "onnx-int8", "openvino"])
    parser.add_argument("--languages", nargs="+", default=["ar", "de", "en", "hi", "ru", "zh"])
    parser.add_argument("--xquad-qas", type=int, default=600, help="XQuAD questions per language for quality")
    parser.add_argument("--speed-texts", type=int, default=600, help="texts per speed round (questions and answers)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--report", default=str(REPO / "bench" / "reports" / "encode.md"))
    args = parser.parse_args(argv)
    if args.backends[0] != "torch":
        parser.error("the first backend must be torch (the baseline)")

    import torch

    from faqmine.embedding.encode import EncodeConfig, encode_texts
    from faqmine.retrieval.bootstrap import paired_comparison

    cores = os.cpu_count() or 1
    query, passage = EncodeConfig(prompt_name="query"), EncodeConfig(prompt_name="passage")
    xquad = xquad_items(args.languages, args.xquad_qas)
    realfaq, groups = aligned_items()
    speed_texts = [text for item in xquad_items(args.languages, args.speed_texts) for text in item[2:]]
    speed_texts = speed_texts[::max(1, len(speed_texts) // args.speed_texts)][:args.speed_texts]

    # speed: one thread each, backends taking turns
    models = {b: _load(b, 1) for b in args.backends}
    rates: dict[str, list[float]] = defaultdict(list)
    for b in args.backends:  # warm up (first-call allocations, OpenVINO's shape compilation)
        encode_texts(models[b], speed_texts[:64], query)
    for _ in range(args.rounds):
        for b in args.backends:
            torch.set_num_threads(1)
            started = time.perf_counter()
            encode_texts(models[b], speed_texts, query)
            rates[b].append(len(speed_texts) / (time.perf_counter() - started))
            print(f"speed {b}: {rates[b][-1]:.1f} texts/s/core", flush=True)
    del models

    # quality: all cores
    vectors: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = defaultdict(dict)
    for b in args.backends:
        model = _load(b, cores)
        for name, items in (("xquad", xquad), ("realfaq", realfaq)):
            started = time.perf_counter()
            vectors[b][name] = (encode_texts(model, [i[2] for i in items], query),
                                encode_texts(model, [i[3] for i in items], passage))
            print(f"quality {b} {name}: {2 * len(items)} texts in {time.perf_counter() - started:.0f} s", flush=True)
        del model

    ndcg = {b: {name: per_query_ndcg(items, *vectors[b][name]) for name, items in (("xquad", xquad),
                                                                                    ("realfaq", realfaq))}
            for b in args.backends}
    base = args.backends[0]
    lines = [
        "# Encoder backends: speed per core and retrieval quality against torch fp32",
        "",
        f"Generated by `python bench/encode.py --backends {' '.join(args.backends)} --languages "
        f"{' '.join(args.languages)} --xquad-qas {args.xquad_qas} --speed-texts {args.speed_texts} --rounds "
        f"{args.rounds}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {cpu_description()}, shared with "
        "other work; torch "
        f"{torch.__version__}. Encoder: the packaged multilingual-e5-small (models/), its ONNX files exported by "
        "`make setup`.",
        "",
        f"## Speed (one thread per backend, {len(speed_texts)} XQuAD questions and answers of "
        f"{', '.join(args.languages)}, median of {args.rounds} rounds)",
        "",
        "| backend | texts/s per core | × torch fp32 (median of per-round ratios) | rounds |",
        "| --- | ---: | ---: | --- |",
    ]
    for b in args.backends:
        ratio = statistics.median(r / t for r, t in zip(rates[b], rates[base], strict=True))
        lines.append(f"| {b} | {statistics.median(rates[b]):.1f} | {ratio:.2f}× | "
                     f"{', '.join(f'{r:.1f}' for r in rates[b])} |")
    lines += [
        "",
        "## Quality (cross-lingual question → answer retrieval, nDCG@10)",
        "",
        f"(a) XQuAD: {args.xquad_qas} questions × {len(args.languages)} languages, each searching the "
        f"{args.xquad_qas * (len(args.languages) - 1)} answers of the other languages "
        f"({len(ndcg[base]['xquad'])} queries). (b) data/realfaq: {len(ndcg[base]['realfaq'])} questions of "
        f"{len(groups)} translation groups ({', '.join(f'{g}: {n} pages' for g, n in sorted(groups.items()))}), "
        f"each searching every gold answer of another language ({len(realfaq)} answers in all).",
        "",
        "| backend | XQuAD nDCG@10 | Δ vs torch [95% CI] | realfaq nDCG@10 | Δ vs torch [95% CI] | "
        "cosine to torch (min / mean) |",
        "| --- | ---: | --- | ---: | --- | --- |",
    ]
    for b in args.backends:
        cells = []
        for name in ("xquad", "realfaq"):
            values = ndcg[b][name]
            if b == base:
                cells += [f"{np.mean(values):.4f}", "—"]
            else:
                c = paired_comparison(values, ndcg[base][name])
                cells += [f"{np.mean(values):.4f}", f"{c.delta:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}]"]
        cosines = np.concatenate([(vectors[b][n][k] * vectors[base][n][k]).sum(axis=1)
                                  for n in ("xquad", "realfaq") for k in (0, 1)])
        lines.append(f"| {b} | " + " | ".join(cells) + f" | {cosines.min():.4f} / {cosines.mean():.5f} |")
    lines.append("")
    return common.write_report(args.report, lines)


if __name__ == "__main__":
    raise SystemExit(main())
