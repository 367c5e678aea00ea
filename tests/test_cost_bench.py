"""bench/cost.py's report from measured stage costs: growth verdicts, per-unit costs and the snapshot projection
follow from the numbers (the measuring itself is the script's run, not a test: no timing in tests)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cost_module():
    sys.path.insert(0, str(REPO / "bench"))
    spec = importlib.util.spec_from_file_location("bench_cost", REPO / "bench" / "cost.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_report_follows_from_the_measured_costs(tmp_path):
    cost = _cost_module()
    small = [cost.StageCost("extract", 1000, 10.0, 20.0, 500.0), cost.StageCost("embed", 100, 30.0, 50.0, 1200.0)]
    large = [cost.StageCost("extract", 4000, 35.0, 70.0, 510.0),  # 3.5x for 4x: linear
             cost.StageCost("embed", 400, 150.0, 250.0, 1300.0)]  # 5x for 4x: above the 4.5x bound
    facts = {"records": 1000, "bytes": 5_000_000, "qa_raw": 500, "faq_pages": 100, "qas_per_faq_page": 5.0}
    large_facts = {**facts, "bytes": 20_000_000}
    # extract alone on a 1 GB crawl: 30 more core-s for 36,000 more records and 980 MB more
    extract_run = ([cost.StageCost("extract", 40_000, 50.0, 100.0, 600.0)], {**facts, "bytes": 10**9})
    args = argparse.Namespace(sizes=["5MB", "20MB"], extract_size="1GB", master="local[2]", seed=1, faq_share=0.2,
                              faq_page_share=0.001, gpu_texts_per_second=10_000.0, out=str(tmp_path / "cost.md"))
    assert cost.write(args, {"5MB": (small, facts), "20MB": (large, large_facts)}, extract_run, 60.0) == 0
    report = (tmp_path / "cost.md").read_text()
    # extract: 50 more core-s for 3,000 more records = 16.67 per 1,000, fixed 20 - 16.67 = 3.3
    assert "| extract | record | 1,000 | 4,000 | 4.00 | 20.0 | 70.0 | 3.50 | yes | 17.50 | 16.67 | 3.3 |" in report
    assert "| embed | QA | 100 | 400 | 4.00 | 50.0 | 250.0 | 5.00 | NO | 625.00 | 666.67 | -16.7 |" in report
    assert "- embed: ABOVE 4.5x for 4x the input" in report and "- extract: near-linear" in report
    # a snapshot: 3e9 records x 0.1% FAQ pages x 5 QAs = 15 M QAs; extract at the larger of its marginal cost
    # per record (30 / 36,000 x 3e9 records) and per byte (30 / 980e6 x 90 TB), from the 1 GB run
    assert "~15 M raw QAs" in report
    by_records, by_bytes = 30 / 36_000 * 3e9 / 3600, 30 / 980e6 * 90e12 / 3600
    assert by_bytes > by_records
    assert f"| extract | 3,000,000,000 | {by_bytes:,.0f} |" in report
    assert f"({by_records:,.0f} core-hours for 3 billion records)" in report
    assert "estimate, not measured" in report and "30 M texts per snapshot" in report


def test_qas_per_page_counts_qa_rows_not_records(tmp_path):
    # extract's _stats.json `out` counts records that gave QAs (pages); the projection needs QAs per page
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "qa_raw" / "language=en"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"url": ["https://a.test/faq", "https://a.test/faq", "https://b.test/faq"]}),
                   folder / "part-0.parquet")
    assert _cost_module()._qa_rows_and_pages(tmp_path / "qa_raw") == (3, 2)
