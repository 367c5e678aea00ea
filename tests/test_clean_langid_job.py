"""jobs/clean_langid.py on local[2]: drops counted by reason, languages right, stats balanced, reruns identical."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers.paths import need_model
from helpers.xquad_qas import LANGUAGES, table_of, write_table, xquad_pairs

from faqmine.clean_langid.cleaning import clean_qa
from faqmine.clean_langid.langid import default_model_path
from faqmine.core.schemas import load_schema
from faqmine.core.stats import check_balance

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parents[1]
PER_LANGUAGE = 12


def _job():
    spec = importlib.util.spec_from_file_location("clean_langid_job", REPO / "jobs" / "clean_langid.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows() -> tuple[list[dict], dict[str, str], Counter]:
    rows, truth, expected = [], {}, Counter()
    for language in LANGUAGES:
        for k, (xid, question, answer) in enumerate(xquad_pairs(language)[5:5 + PER_LANGUAGE * 7:7]):
            reason = clean_qa(question, answer).drop_reason  # short Chinese questions fail the 10-character rule
            if reason:
                expected[reason] += 1
            page_language = (None, language, f"{language}-XX", "en")[k % 4]  # some pages declare wrongly
            url = f"https://{language}.example.org/{language if k % 3 == 0 else 'help'}/faq-{xid}"
            rows.append({"question": question, "answer": answer, "url": url, "page_language": page_language,
                         "page_title": "FAQ"})
            truth[url] = language
    base_q, base_a = xquad_pairs("en")[0][1:]
    planted = {
        "question_too_short": {"question": "Price?", "answer": base_a},
        "answer_too_short": {"question": base_q, "answer": "Yes."},
        "answer_is_question": {"question": base_q, "answer": "Did you read the manual of the device first?"},
        "question_equals_answer": {"question": base_a, "answer": base_a},
        "answer_too_many_lines": {"question": base_q, "answer": "\n".join(["- item on a list"] * 12)},
        "language_uncertain": {"question": "1234567890 ???", "answer": "12 34 56 78 90 12 34 56 78 90 12 34 56"},
    }
    for reason, row in planted.items():
        rows.append({**row, "url": f"https://bad.example.com/{reason}"})
        expected[reason] += 1
    rows.append({"question": "Q: 🚚 " + base_q, "answer": "A: " + base_a, "url": "https://x.example.com/en/faq"})
    truth["https://x.example.com/en/faq"] = "en"
    return rows, truth, expected


@pytest.fixture(scope="module")
def qa_raw(spark, tmp_path_factory):
    need_model(default_model_path(), "language-id model")
    rows, truth, expected = _rows()
    path = tmp_path_factory.mktemp("clean") / "qa_raw"
    write_table(spark, table_of("qa_raw", rows), path, "qa_raw")
    return path, truth, expected, len(rows)


def _run(spark, monkeypatch, qa_raw_path: Path, out: Path) -> dict:
    monkeypatch.setattr(type(spark), "stop", lambda self: None)  # the job must not stop the shared session
    assert _job().main(["--input", str(qa_raw_path), "--output", str(out)]) == 0
    return json.loads((out / "_stats.json").read_text())


def _rows_of(path: Path) -> list[dict]:
    table = pq.read_table(path)
    return sorted(table.to_pylist(), key=lambda r: (r["qa_id"], r["crawl"], r["warc_record_offset"]))


def test_clean_langid_job(spark, monkeypatch, qa_raw, tmp_path):
    qa_raw_path, truth, expected, n_rows = qa_raw
    stats = _run(spark, monkeypatch, qa_raw_path, tmp_path / "qa")
    check_balance(stats)
    assert stats["in"] == n_rows
    assert stats["dropped"] == dict(expected)
    assert sum(stats["by_language"].values()) == stats["out"]

    out = _rows_of(tmp_path / "qa")
    assert len(out) == stats["out"]
    assert set(out[0]) == set(load_schema("qa").names)
    partitions = {p.name for p in (tmp_path / "qa").iterdir() if p.is_dir()}
    assert partitions == {f"language={x}" for x in stats["by_language"]}
    raw_ids = {r["qa_id"] for r in pq.read_table(qa_raw_path).to_pylist()}
    assert {r["qa_id"] for r in out} <= raw_ids  # qa_id unchanged from qa_raw

    correct = sum(truth[r["url"]] == r["language"] for r in out)
    assert correct / len(out) >= 0.97, [(r["language"], truth[r["url"]]) for r in out]
    cleaned = next(r for r in out if r["url"] == "https://x.example.com/en/faq")
    assert not cleaned["question"].startswith("Q:") and "🚚" not in cleaned["question"]
    assert not cleaned["answer"].startswith("A:")
    assert cleaned["script"] == "Latn" and cleaned["language_score"] >= 0.25
    assert stats["repaired_label_stripped"] >= 1 and stats["repaired_emoji_removed"] >= 1

    # rerun: the same rows and the same stats
    again = _run(spark, monkeypatch, qa_raw_path, tmp_path / "qa2")
    assert again == stats
    assert _rows_of(tmp_path / "qa2") == out
