"""`faqmine card DATA_ROOT`: the Hugging Face dataset card of a run, on small datasets written with pyarrow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from faqmine.core.stats import write_stats
from faqmine.run.card import size_category, write_card


def write_dataset(root: Path, name: str, columns: dict[str, list], partition: str, stats: dict) -> Path:
    folder = root / name
    shutil.rmtree(folder, ignore_errors=True)  # a job replaces its dataset whole
    table = pa.table(columns)
    if table.num_rows:
        pq.write_to_dataset(table, folder, partition_cols=[partition])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_SUCCESS").touch()
    write_stats(folder, {**stats, "dataset": name})
    return folder


def small_run(root: Path, with_dedup: bool = True) -> Path:
    """qa_raw (7 QAs) -> qa (6: one too short) -> qa_dedup (4: one exact, one near duplicate)."""
    langs = ["en", "en", "de", "de", "de", "zh"]
    markups = ["jsonld", "jsonld", "microdata", "jsonld", "rdfa", "jsonld"]
    write_dataset(root, "qa_raw", {"qa_id": [f"q{i}" for i in range(7)], "markup": markups + ["jsonld"],
                                   "page_language": ["en-US", "en", "de", "de-DE", "de", "zh-CN", None],
                                   "crawl": ["CC-MAIN-2024-18"] * 7}, "crawl",
                  {"job": "extract", "in": 100, "out": 5, "dropped": {"no_faq_markup": 90, "not_html": 5},
                   "rows_out": 7, "qa_duplicate_on_page": 1})
    write_dataset(root, "qa", {"qa_id": [f"q{i}" for i in range(6)], "markup": markups, "language": langs},
                  "language", {"job": "clean_langid", "in": 7, "out": 6, "dropped": {"too_short": 1}})
    if with_dedup:
        keep = [0, 2, 3, 5]
        write_dataset(root, "qa_dedup", {"qa_id": [f"q{i}" for i in keep], "markup": [markups[i] for i in keep],
                                         "language": [langs[i] for i in keep]}, "language",
                      {"job": "dedup", "in": 6, "out": 4, "dropped": {"exact_duplicate": 1, "near_duplicate": 1}})
        write_dataset(root, "duplicates", {"qa_id": ["q1", "q4"], "kind": ["exact", "near"], "language": ["en", "de"]},
                      "language", {"job": "dedup", "in": 2, "out": 2, "dropped": {}})
    return root


def front_matter(readme: Path) -> dict:
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_card_front_matter_tables_and_plots(tmp_path):
    root = small_run(tmp_path / "data")
    readme = write_card(root)
    assert readme == root / "README.md"
    meta = front_matter(readme)
    assert meta["language"] == ["de", "en", "zh"]
    assert meta["multilinguality"] == "multilingual"
    assert meta["size_categories"] == ["n<1K"]
    assert {"question-answering", "text-retrieval"} <= set(meta["task_categories"])
    assert meta["license"] == "other" and meta["license_link"].startswith("https://")
    assert meta["configs"][0] == {"config_name": "qa_dedup", "default": True,
                                  "data_files": [{"split": "train", "path": "qa_dedup/**/*.parquet"}]}
    text = readme.read_text(encoding="utf-8")
    assert "`CC-MAIN-2024-18`" in text and "**4 QAs**" in text
    assert "| de | 3 | 2 | 33.3% |" in text  # QAs per language: qa, qa_dedup, duplicate rate
    assert "| jsonld | 5 | 4 | 3 |" in text  # QAs per markup type: qa_raw, qa, qa_dedup
    assert "| extract | no_faq_markup | 90 | 90.0% |" in text  # drop reasons per stage
    assert "| clean_langid | too_short | 1 | 14.3% |" in text
    assert "| extract | same QA twice on one page (kept once) | 1 | 8 | 12.5% |" in text  # duplicate rates
    assert "| dedup | exact duplicate (listed in `duplicates`) | 1 | 6 | 16.7% |" in text
    assert "## License" in text
    for name in ("qas_per_language", "qas_per_markup", "drop_reasons", "duplicate_rates"):
        png = root / "card" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert f"(card/{name}.png)" in text
    assert write_card(root).read_text(encoding="utf-8") == text  # rewriting gives the same card


def test_card_of_a_partial_run_and_of_an_empty_root(tmp_path):
    root = tmp_path / "data"
    write_dataset(root, "qa_raw", {"qa_id": ["a", "b"], "markup": ["jsonld", "rdfa"],
                                   "page_language": ["pt-BR", "xx-invalid-tag"], "crawl": ["local", "local"]},
                  "crawl", {"job": "extract", "in": 3, "out": 2, "dropped": {"not_html": 1}, "rows_out": 2})
    meta = front_matter(write_card(root))
    assert meta["language"] == ["pt", "xx"]  # declared page languages' primary tags until langid has run
    assert meta["configs"][0]["config_name"] == "qa_raw"
    empty = tmp_path / "empty"
    empty.mkdir()
    text = write_card(empty).read_text(encoding="utf-8")
    assert "No dataset of the pipeline was found" in text
    assert front_matter(empty / "README.md")["language"] == []


@pytest.mark.parametrize(("rows", "category"), [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"),
                                                (250_000, "100K<n<1M"), (3_000_000_000, "n>1B")])
def test_size_categories(rows, category):
    assert size_category(rows) == category


def test_card_command(tmp_path):
    root = small_run(tmp_path / "data", with_dedup=False)
    done = subprocess.run([sys.executable, "-m", "faqmine.cli", "card", str(root), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "README.md").exists() and (tmp_path / "out" / "card" / "qas_per_language.png").exists()
    assert front_matter(tmp_path / "out" / "README.md")["configs"][0]["config_name"] == "qa"
    done = subprocess.run([sys.executable, "-m", "faqmine.cli", "card", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "dataset card" in done.stdout
