"""Leak-free splits on local[2] with real e5 vectors: translations and near copies on other domains share a unit,
a syndicated FAQ's giant component goes to train, a planted leak is dropped as `contaminated`, and splitting by
site alone, which puts a translation in another split than its original, does not come back."""

from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from helpers.embeddings import write_embeddings
from helpers.xquad_qas import table_of, write_table, xquad_pairs

from faqmine.build_benchmarks.splits import SplitConfig, split_of
from faqmine.build_benchmarks.units import UnitConfig, best_per_language, truth_leaks, unit_split
from faqmine.core.ids import qa_id
from faqmine.core.schemas import load_schema
from faqmine.core.stats import read_stats
from faqmine.run.check import check_data_root

REPO = Path(__file__).resolve().parents[1]
SEED = 0


def _job():
    spec = importlib.util.spec_from_file_location("build_benchmarks_job", REPO / "jobs" / "build_benchmarks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _domain(prefix: str, split: str, start: int = 0) -> str:
    """The first `<prefix>N.com` (N >= start) that splitting by site alone would put in `split`."""
    n = start
    while split_of(f"{prefix}{n}.com", SplitConfig(seed=SEED)) != split:
        n += 1
    return f"{prefix}{n}.com"


def _near_copy(question: str) -> str:
    return question.rstrip("?") + " exactly?"


def _crawl() -> tuple[list[dict], list[dict], dict]:
    """qa_dedup rows, duplicates rows, and the domains that matter (see the module doc)."""
    en, de = xquad_pairs("en"), xquad_pairs("de")
    # an original that splitting by site puts in test, its German translation on a domain it puts in train:
    # the unit id is the smaller domain, so the pair lands in the original's split (test) only if they are joined
    original = _domain("a-original", "test")
    translation = _domain("b-translation", "train")
    copy = _domain("c-copy", "train")
    rows, duplicates = [], []

    def add(domain: str, language: str, question: str, answer: str, i: int) -> dict:
        row = {"url": f"https://{domain}/faq#{i}", "question": question, "answer": answer, "language": language,
               "cluster_size": 1}
        row["qa_id"] = qa_id(row["url"], question, answer)
        row["cluster_id"] = row["qa_id"]
        rows.append(row)
        return row

    for i in range(8):  # XQuAD's first article: the original, its translation, its near copy
        add(original, "en", en[i][1], en[i][2], i)
        add(translation, "de", de[i][1], de[i][2], i)
        add(copy, "en", _near_copy(en[i][1]), en[i][2], i)
    # a syndicated FAQ on 30 sites: dedup kept one copy and listed 29 in duplicates; each site has an FAQ of its own
    syndicated = add("s-syndicated0.com", "en", en[100][1], en[100][2], 100)
    for s in range(30):
        domain = f"s-syndicated{s}.com"
        add(domain, "en" if s % 2 else "de", *(en if s % 2 else de)[200 + 3 * s][1:], 200 + s)
        if s:
            duplicates.append({"qa_id": qa_id(f"https://{domain}/faq#100", en[100][1], en[100][2]),
                               "representative_qa_id": syndicated["qa_id"], "kind": "exact", "similarity": 1.0,
                               "cluster_id": syndicated["qa_id"], "url": f"https://{domain}/faq#100",
                               "language": "en"})
    # the planted leak: a QA kept on a test-split domain whose exact copy, removed by dedup, sat on a train domain
    leak_test, leak_train = _domain("d-leak", "test"), _domain("e-leak", "train")
    leaked = add(leak_test, "en", en[500][1], en[500][2], 500)
    add(leak_train, "en", en[900][1], en[900][2], 900)  # another article: nothing else links the two sites
    duplicates.append({"qa_id": qa_id(f"https://{leak_train}/faq#500", en[500][1], en[500][2]),
                       "representative_qa_id": leaked["qa_id"], "kind": "exact", "similarity": 1.0,
                       "cluster_id": leaked["qa_id"], "url": f"https://{leak_train}/faq#500", "language": "en"})
    # unrelated sites, one QA each from the rest of XQuAD
    for i in range(40):
        add(f"f-filler{i}.com", ("en", "de", "es")[i % 3], *xquad_pairs(("en", "de", "es")[i % 3])[700 + i][1:],
            700 + i)
    return rows, duplicates, {"original": original, "translation": translation, "copy": copy,
                              "leak_test": leak_test, "leak_train": leak_train, "leaked_qa": leaked["qa_id"]}


@pytest.fixture(scope="module")
def crawl(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("units")
    rows, duplicates, names = _crawl()
    table = table_of("qa_dedup", rows)
    write_table(spark, table, root / "qa_dedup", "qa_dedup")
    schema = load_schema("duplicates").arrow()
    write_table(spark, pa.Table.from_pylist(duplicates, schema=schema), root / "duplicates", "duplicates")
    write_embeddings(spark, table.select(["qa_id", "question", "answer", "language"]).to_pylist(),
                     root / "qa_embeddings")
    return root, names


def _run(spark, monkeypatch, root: Path, out: Path, *extra: str) -> dict:
    monkeypatch.setattr(type(spark), "stop", lambda self: None)  # the job must not stop the shared session
    assert _job().main(["--input", str(root / "qa_dedup"), "--embeddings", str(root / "qa_embeddings"),
                        "--duplicates", str(root / "duplicates"), "--output", str(out), "--min-qas", "1",
                        "--seed", str(SEED), "--max-unit-share", "0.3", *extra]) == 0
    return read_stats(out)


def _placed(out: Path) -> dict[str, dict]:
    rows = ds.dataset(out / "corpus", format="parquet", partitioning="hive").to_table().to_pylist()
    return {r["qa_id"]: r for r in rows}


def _by_domain(placed: dict[str, dict]) -> dict[str, set[tuple[str, str]]]:
    out = defaultdict(set)
    for r in placed.values():
        out[r["domain"]].add((r["unit"], r["split"]))
    return out


@pytest.mark.spark
def test_translations_copies_and_syndication_form_units(spark, monkeypatch, crawl, tmp_path):
    root, names = crawl
    out = root / "benchmarks"
    stats = _run(spark, monkeypatch, root, out)
    placed = _placed(out)
    by_domain = _by_domain(placed)
    assert all(len(v) == 1 for v in by_domain.values())  # every domain in one unit and one split

    # the translation (another domain, another language) and the near copy (a third domain) join the original
    (unit, split), = by_domain[names["original"]]
    assert by_domain[names["translation"]] == {(unit, split)} == by_domain[names["copy"]]
    # ... which splitting by site alone would not do: the original's site goes to test, its translation's to train
    assert split_of(names["original"], SplitConfig(seed=SEED)) == "test" == split
    assert split_of(names["translation"], SplitConfig(seed=SEED)) == "train"

    # the 30 syndicating sites are one unit above --max-unit-share (31 of 97 QAs): train, whole
    syndicated = {by_domain[f"s-syndicated{s}.com"].pop() for s in range(30)}
    assert len(syndicated) == 1 and next(iter(syndicated))[1] == "train"
    report = json.loads((out / "_contamination.json").read_text())
    assert report["largest_units"][0]["domains"] == 30 and report["largest_units"][0]["split"] == "train"
    assert report["oversized_units"]["units"] == 1 and report["oversized_units"]["qas"] == 31

    # with duplicate clusters linked, the planted copy's two sites are one unit in one split: nothing is contaminated
    assert names["leaked_qa"] in placed
    assert by_domain[names["leak_test"]] == by_domain[names["leak_train"]]
    assert "contaminated" not in stats["dropped"]
    assert stats["in"] == stats["out"] + sum(stats["dropped"].values())

    # every unit is in one split; `faqmine check` agrees on the written datasets
    splits_of_unit = defaultdict(set)
    for r in placed.values():
        splits_of_unit[r["unit"]].add(r["split"])
    assert all(len(s) == 1 for s in splits_of_unit.values())
    checked, problems = check_data_root(root)
    assert "benchmarks_corpus" in checked and problems == []
    # the dataset card says how the splits were made, from _contamination.json
    from faqmine.run.card import write_card

    card = write_card(root, tmp_path / "card").read_text()
    assert "## Benchmark splits and contamination" in card and "went to train whole" in card
    assert "| s-syndicated0.com | 30 | 31 |" in card


@pytest.mark.spark
def test_a_planted_leak_is_dropped_as_contaminated(spark, monkeypatch, crawl, tmp_path):
    root, names = crawl
    out = tmp_path / "benchmarks"
    # without the duplicate links the leaked QA's site and the site of its removed copy are two units, in test and
    # in train: decontamination is what catches it
    stats = _run(spark, monkeypatch, root, out, "--no-link-duplicates")
    placed = _placed(out)
    by_domain = _by_domain(placed)
    assert {s for _, s in by_domain[names["leak_train"]]} == {"train"}
    assert names["leaked_qa"] not in placed
    assert not by_domain.get(names["leak_test"])  # its only QA was the leak
    # the syndicated FAQ's kept copy is a leak of the same kind unless its site happens to be in train
    syndicated_rep = next(r["qa_id"] for r in _crawl()[0] if r["url"] == "https://s-syndicated0.com/faq#100")
    expected = 1 + (syndicated_rep not in placed)
    assert syndicated_rep not in placed or placed[syndicated_rep]["split"] == "train"
    assert stats["dropped"]["contaminated"] == expected
    assert stats["in"] == stats["out"] + sum(stats["dropped"].values())
    report = json.loads((out / "_contamination.json").read_text())
    assert report["duplicate_cluster_leaks"] == expected == report["contaminated"]
    # without the links the syndicating sites are units of their own: no oversized unit
    assert report["oversized_units"]["units"] == 0


def test_best_per_language_skips_the_own_domain_and_searches_each_language():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(6, 8)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    domains = ["a", "a", "b", "b", "c", "c"]
    languages = ["en", "de", "en", "de", "en", "de"]
    rows, cols, scores = best_per_language(base, domains, base, domains, languages)
    hits = {(int(r), languages[int(c)]): (int(c), float(s)) for r, c, s in zip(rows, cols, scores, strict=True)}
    assert len(hits) == 12  # every query has a hit of another domain in each of the two languages
    similarity = base @ base.T
    for (r, language), (c, score) in hits.items():
        candidates = [j for j in range(6) if domains[j] != domains[r] and languages[j] == language]
        assert c == max(candidates, key=lambda j: similarity[r, j]) and score == pytest.approx(similarity[r, c])


def test_oversized_units_go_to_train_and_others_by_hash():
    config = UnitConfig(max_unit_share=0.1)
    assert unit_split("x.example.com", 11, 100, SplitConfig(), config) == "train"
    assert unit_split("x.example.com", 10, 100, SplitConfig(), config) == split_of("x.example.com", SplitConfig())


def test_truth_leaks_count_questions_seen_in_train_in_any_language():
    truth = {"t1": "q1", "t2": "q2", "d1": "q1", "d2": "q3", "z1": "q2", "z2": "q4"}
    placed = [("t1", "en", "train"), ("t2", "el", "train"), ("d1", "de", "test"), ("d2", "en", "test"),
              ("z1", "th", "test"), ("z2", "th", "test")]
    leaks = truth_leaks(placed, truth, trained_languages=("en", "de"))
    test = leaks["by_split"]["test"]
    assert test["qas"] == 4 and test["leaked"] == 2  # d1 (q1 in train in en), z1 (q2 in train in el)
    # zero-shot th: z1's question is in train, but only in el, which is not a training language
    assert test["zero_shot_qas"] == 2 and test["zero_shot_leaked_to_trained_languages"] == 0


def test_check_names_a_unit_in_two_splits(tmp_path):
    import pyarrow.parquet as pq

    from faqmine.run.check import check_split_units

    def write(dataset: str, rows: list[dict]) -> None:
        schema = load_schema(dataset)
        table = pa.Table.from_pylist([{n: r.get(n) for n in schema.arrow().names} for r in rows],
                                     schema=schema.arrow())
        pq.write_to_dataset(table, str(tmp_path / schema.folder), partition_cols=list(schema.partition_by))

    rows = [{"qa_id": "a", "domain": "a.com", "unit": "a.com", "split": "train", "language": "en"},
            {"qa_id": "b", "domain": "b.com", "unit": "a.com", "split": "test", "language": "de"}]
    write("benchmarks_corpus", [{**r, "doc_id": "d_" + r["qa_id"], "title": "", "text": "x"} for r in rows])
    write("benchmarks_queries", [{**r, "query_id": "q_" + r["qa_id"], "text": "x"} for r in rows])
    problems = [str(p) for p in check_split_units(tmp_path)]
    assert problems == ["benchmarks: 1 split unit(s) in two splits, e.g. a.com"]
    # an empty duplicates dataset (no Parquet file, as dedup writes it when nothing is duplicated) is no problem
    (tmp_path / "duplicates").mkdir()
    (tmp_path / "duplicates" / "_SUCCESS").touch()
    assert [str(p) for p in check_split_units(tmp_path)] == problems
