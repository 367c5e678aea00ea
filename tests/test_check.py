"""`faqmine check` passes on a real extraction output and names the dataset and count on corrupted copies."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from faqmine.core.stats import StageStats, write_stats
from faqmine.extract.records import extract_warc_file
from faqmine.run.check import check_data_root


@pytest.fixture(scope="module")
def data_root(tmp_path_factory, realfaq) -> Path:
    """A qa_raw dataset written from the real multilingual sample, in the layout the Spark writer uses."""
    root = tmp_path_factory.mktemp("run")
    stats = StageStats("extract")
    table = pa.Table.from_batches(list(extract_warc_file(str(realfaq / "faq_real.warc.gz"), stats)))
    ds.write_dataset(table, root / "qa_raw", format="parquet", partitioning=["crawl"], partitioning_flavor="hive",
                     basename_template="part-{i}.parquet")
    (root / "qa_raw" / "_SUCCESS").touch()
    write_stats(root / "qa_raw", stats.to_dict())
    return root


def corrupted_copy(root: Path, tmp_path: Path, change) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    part = next((copy / "qa_raw").rglob("*.parquet"))
    table = pq.read_table(part, partitioning=None)
    pq.write_table(change(table), part)
    return copy


def messages(root: Path) -> list[str]:
    return [str(p) for p in check_data_root(root)[1]]


def test_clean_output_passes(data_root):
    assert check_data_root(data_root) == (["qa_raw"], [])


def test_dropped_row_is_reported(data_root, tmp_path):
    found = messages(corrupted_copy(data_root, tmp_path, lambda t: t.slice(1)))
    assert found == ["qa_raw: 1287 rows on disk but _stats.json says 1288 written"]


def test_duplicated_row_is_reported(data_root, tmp_path):
    found = messages(corrupted_copy(data_root, tmp_path, lambda t: pa.concat_tables([t, t.slice(0, 1)])))
    assert "qa_raw: 1 duplicate (qa_id, warc_file, warc_record_offset) value(s)" in found
    assert "qa_raw: 1289 rows on disk but _stats.json says 1288 written" in found


def test_wrong_column_type_is_reported(data_root, tmp_path):
    def offsets_as_text(table: pa.Table) -> pa.Table:
        i = table.schema.get_field_index("warc_record_offset")
        return table.set_column(i, "warc_record_offset", table["warc_record_offset"].cast(pa.string()))

    found = messages(corrupted_copy(data_root, tmp_path, offsets_as_text))
    assert found == ["qa_raw: column warc_record_offset has type string, schemas/qa_raw.json says int64"]


def test_command_exit_codes(data_root, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "faqmine.cli", "check", str(data_root)], capture_output=True, text=True)
    assert ok.returncode == 0 and "ok   qa_raw" in ok.stdout
    bad = corrupted_copy(data_root, tmp_path, lambda t: t.slice(1))
    (bad / "qa_raw" / "_stats.json").write_text('{"job": "extract", "in": 5, "out": 1, "dropped": {"x": 1}}')
    failed = subprocess.run([sys.executable, "-m", "faqmine.cli", "check", str(bad)], capture_output=True, text=True)
    assert failed.returncode == 1
    assert "FAIL qa_raw: stats do not balance: qa_raw: in=5 but out=1 + dropped=1" in failed.stderr


def test_empty_dataset_without_parquet_files_passes_but_missing_rows_do_not(data_root, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(data_root, copy)
    empty = copy / "duplicates"  # a run without duplicates: Spark writes no Parquet file, only the markers
    empty.mkdir()
    (empty / "_SUCCESS").touch()
    write_stats(empty, StageStats("dedup").to_dict())
    assert check_data_root(copy) == (["duplicates", "qa_raw"], [])
    write_stats(empty, {**StageStats("dedup").to_dict(), "in": 2, "out": 2})
    assert messages(copy) == ["duplicates: 0 rows on disk but _stats.json says 2 written"]
