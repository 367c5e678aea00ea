"""jobs/dedup.py on local[2]: exact and near duplicates found, representatives by rule, nothing lost,
oversized buckets handled, scope respected, stats balanced, reruns identical."""

from __future__ import annotations

import importlib.util
import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers.xquad_qas import table_of, write_table, xquad_pairs

from faqmine.core.schemas import load_schema
from faqmine.core.stats import check_balance
from faqmine.dedup.features import DedupConfig, features_batch
from faqmine.dedup.shingles import jaccard, qa_shingle_sets, qa_shingles

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2024, 4, 1, tzinfo=UTC)
SCRIPTS = {"en": "Latn", "de": "Latn", "zh": "Hani", "th": "Thai"}


def _job():
    spec = importlib.util.spec_from_file_location("dedup_job", REPO / "jobs" / "dedup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _distinct(language: str, n: int) -> list[tuple[str, str]]:
    """n XQuAD QAs no two of which overlap (answers from one paragraph can share most of their text)."""
    chosen, sets = [], []
    for _, q, a in xquad_pairs(language):
        shingled = qa_shingles(q, a)
        if len(a) >= 60 and all(jaccard(shingled, s) < 0.3 for s in sets):
            chosen.append((q, a))
            sets.append(shingled)
            if len(chosen) == n:
                break
    return chosen


def _build() -> tuple[list[dict], dict]:
    """QAs with planted exact groups, near-duplicate groups, a template family and a cross-language copy."""
    rng = random.Random(11)
    rows: list[dict] = []
    truth = {"exact": [], "near": [], "template": []}

    def add(language: str, q: str, a: str, url: str, fetch: datetime = T0) -> str:
        rows.append({"question": q, "answer": a, "url": url, "language": language, "script": SCRIPTS[language],
                     "fetch_time": fetch})
        return url

    for language, n in (("en", 40), ("de", 20), ("zh", 30), ("th", 20)):
        base = _distinct(language, n)
        urls = [add(language, q, a, f"https://{language}.base{i}.example.com/faq") for i, (q, a) in enumerate(base)]
        for i in range(0, n, 5):  # exact copies: case and punctuation changed; some fetched earlier
            q, a = base[i]
            earlier = T0 - timedelta(days=1) if i % 10 == 0 else T0
            copy = add(language, q.upper() + "!", a.replace(",", " ,"), f"https://{language}.copy{i}.example.com/x",
                       earlier)
            truth["exact"].append((urls[i], copy, earlier < T0))
        for i in range(2, n, 5):  # near copies: a brand appended, or one word or character changed
            q, a = base[i]
            if rng.random() < 0.5:
                a = a + " — Acme Shop"
            elif language in ("zh", "th"):
                k = rng.randrange(len(a))
                a = a[:k] + "的" + a[k + 1:]
            else:
                words = a.split()
                words[rng.randrange(len(words))] = "whatever"
                a = " ".join(words)
            truth["near"].append((urls[i], add(language, q, a, f"https://{language}.near{i}.example.com/y")))
    template = ("We are open Monday to Friday from 9 am to 6 pm and on Saturday from 10 am to 4 pm. "
                "On public holidays the store is closed, and orders placed online ship the next working day.")
    for k in range(25):  # a template family: one LSH bucket far above --max-bucket-size
        truth["template"].append(add("en", f"What are the opening hours and holiday closing days of our store "
                                           f"number {k}?", template,
                                     f"https://stores.example.com/store-{k:02d}"))
    q, a = _distinct("en", 1)[0]
    truth["cross_language"] = add("de", q, a, "https://mislabelled.example.com/de/faq")  # same text, other language
    return rows, truth


@pytest.fixture(scope="module")
def qa_input(spark, tmp_path_factory):
    rows, truth = _build()
    path = tmp_path_factory.mktemp("dedup") / "qa"
    write_table(spark, table_of("qa", rows), path, "qa")
    by_url = {r["url"]: r for r in table_of("qa", rows).to_pylist()}
    return path, truth, by_url


def _run(spark, monkeypatch, qa_path: Path, out: Path, *extra: str) -> tuple[dict, dict, list[dict], list[dict]]:
    monkeypatch.setattr(type(spark), "stop", lambda self: None)  # the job must not stop the shared session
    args = ["--input", str(qa_path), "--output", str(out / "qa_dedup"), "--duplicates-output",
            str(out / "duplicates"), "--max-bucket-size", "8", *extra]
    assert _job().main(args) == 0
    stats = json.loads((out / "qa_dedup" / "_stats.json").read_text())
    dup_stats = json.loads((out / "duplicates" / "_stats.json").read_text())
    kept = sorted(pq.read_table(out / "qa_dedup").to_pylist(), key=lambda r: r["qa_id"])
    dups = sorted(pq.read_table(out / "duplicates").to_pylist(), key=lambda r: r["qa_id"])
    return stats, dup_stats, kept, dups


def test_dedup_job(spark, monkeypatch, qa_input, tmp_path):
    qa_path, truth, by_url = qa_input
    stats, dup_stats, kept, dups = _run(spark, monkeypatch, qa_path, tmp_path / "a")
    check_balance(stats)
    check_balance(dup_stats)
    n = len(by_url)
    assert stats["in"] == n and stats["out"] == len(kept)
    assert stats["dropped"] == {"exact_duplicate": sum(d["kind"] == "exact" for d in dups),
                                "near_duplicate": sum(d["kind"] == "near" for d in dups)}
    assert dup_stats["in"] == dup_stats["out"] == len(dups)
    assert set(kept[0]) == set(load_schema("qa_dedup").names)
    assert set(dups[0]) == set(load_schema("duplicates").names)

    # nothing deleted silently: every input QA is kept or listed as a duplicate of a kept QA
    kept_ids = {r["qa_id"] for r in kept}
    dup_ids = {d["qa_id"] for d in dups}
    assert kept_ids | dup_ids == {r["qa_id"] for r in by_url.values()} and not kept_ids & dup_ids
    assert {d["representative_qa_id"] for d in dups} <= kept_ids
    rep_of = {d["qa_id"]: d["representative_qa_id"] for d in dups}
    rep = {r["qa_id"]: rep_of.get(r["qa_id"], r["qa_id"]) for r in by_url.values()}
    qid = {url: r["qa_id"] for url, r in by_url.items()}

    # exact groups: the earliest fetch, then the smallest URL, represents the group
    for base, copy, copy_earlier in truth["exact"]:
        assert rep[qid[base]] == rep[qid[copy]]
        expected = copy if copy_earlier else min(base, copy)
        assert rep[qid[base]] == qid[expected], (base, copy)
        assert rep_of[qid[base] if expected == copy else qid[copy]] == qid[expected]
    kinds = {d["qa_id"]: d for d in dups}
    assert all(kinds[qid[c]]["kind"] == "exact" and kinds[qid[c]]["similarity"] == 1.0
               for b, c, early in truth["exact"] if not early)

    # near duplicates, Latin and CJK/Thai alike: every planted pair whose exact Jaccard clears the threshold
    # by a margin the estimate's noise cannot cross (3 sigma at 128 permutations) is found
    clear = 0
    for base, copy in truth["near"]:
        base_sets = qa_shingle_sets(by_url[base]["question"], by_url[base]["answer"])
        copy_sets = qa_shingle_sets(by_url[copy]["question"], by_url[copy]["answer"])
        similarity = min(jaccard(base_sets[0], copy_sets[0]), jaccard(base_sets[1], copy_sets[1]))
        if similarity >= 0.82:
            clear += 1
            assert rep[qid[base]] == rep[qid[copy]], (base, copy, similarity)
            assert kinds[qid[copy]]["kind"] == "near" and kinds[qid[copy]]["similarity"] >= 0.7
    assert clear >= 15
    # the template family is one cluster although its buckets were cut into blocks
    assert len({rep[qid[u]] for u in truth["template"]}) == 1
    assert stats["oversized_buckets"] > 0
    # precision: apart from the planted groups, every QA stands alone
    planted = {u for g in truth["exact"] for u in g[:2]} | {u for g in truth["near"] for u in g}
    planted |= set(truth["template"])
    clusters = defaultdict(set)
    for url, r in by_url.items():
        clusters[rep[r["qa_id"]]].add(url)
    for members in clusters.values():
        assert len(members) == 1 or members <= planted, members

    # cluster_id is the smallest qa_id of the cluster, cluster_size its number of rows
    for r in kept:
        members = [x for x, y in rep.items() if y == r["qa_id"]]
        assert r["cluster_id"] == min(members) and r["cluster_size"] == len(members)
    # scope "language" (default): the same text under another language is not a duplicate
    assert qid[truth["cross_language"]] in kept_ids
    assert stats["by_language"] == {lang: sum(r["language"] == lang for r in kept)
                                    for lang in stats["by_language"]}

    # rerun: identical outputs and stats
    again = _run(spark, monkeypatch, qa_path, tmp_path / "b")
    assert again == (stats, dup_stats, kept, dups)


def test_scope_decides_which_rows_are_compared():
    """Every grouping of the stage keys on _scope: the language, or one value for the whole crawl."""
    rows = [{"question": "How do I pay for my order?", "answer": "You can pay by card or by bank transfer.",
             "language": language} for language in ("en", "de")]
    batch = table_of("qa", rows).to_batches()[0]
    by_language = features_batch(batch, DedupConfig()).to_pydict()
    assert by_language["_scope"] == ["en", "de"]
    assert by_language["_exact_key"][0] == by_language["_exact_key"][1]
    whole_crawl = features_batch(batch, DedupConfig(scope="global")).to_pydict()
    assert whole_crawl["_scope"][0] == whole_crawl["_scope"][1]
    with pytest.raises(ValueError):
        DedupConfig(scope="site")
