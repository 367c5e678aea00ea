"""`faqmine summary DATA_ROOT`: what a pipeline run produced, as tables on the terminal.

Reads every dataset folder under the data root that has a `_stats.json`, prints its
record balance and drop reasons, and for `qa_raw` the QAs by markup and page language
(DuckDB over the Parquet files).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from faqmine.core.stats import read_stats

# Datasets in pipeline order; folders not listed here are shown after these.
PIPELINE_ORDER = ["qa_raw", "qa", "qa_dedup", "duplicates", "benchmarks", "bitext", "hard_negatives", "eval"]


def _datasets(root: Path) -> list[Path]:
    found = {p.parent.name: p.parent for p in root.glob("*/_stats.json")}
    ordered = [found.pop(name) for name in PIPELINE_ORDER if name in found]
    return ordered + [found[name] for name in sorted(found)]


def _table(rows: list[tuple], headers: tuple[str, ...]) -> str:
    cells = [tuple(str(c) for c in headers)] + [tuple("" if c is None else str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join("  " + line for line in lines)


def summarize(root: Path) -> str:
    out: list[str] = [f"faqmine datasets under {root.resolve()}"]
    datasets = _datasets(root)
    if not datasets:
        return f"no dataset (no */_stats.json) under {root}"
    for folder in datasets:
        stats = read_stats(folder)
        dropped = stats.get("dropped", {})
        rows_out = f", rows_out={stats['rows_out']}" if "rows_out" in stats else ""
        out.append(f"\n{folder.name}  ({stats.get('job')}: in={stats['in']} out={stats['out']} "
                   f"dropped={sum(dropped.values())}{rows_out})")
        if dropped:
            out.append(_table(sorted(dropped.items(), key=lambda kv: -kv[1]), ("drop reason", "records")))
    import duckdb  # loaded only when the command runs: `faqmine --help` stays fast

    raw = root / "qa_raw"
    if (raw / "_stats.json").exists() and any(raw.rglob("*.parquet")):
        rel = duckdb.sql(
            f"SELECT coalesce(lower(split_part(page_language, '-', 1)), '(none)') AS lang, "
            f"count(*) FILTER (WHERE markup = 'jsonld') AS jsonld, "
            f"count(*) FILTER (WHERE markup = 'microdata') AS microdata, "
            f"count(*) FILTER (WHERE markup = 'rdfa') AS rdfa, count(*) AS qas "
            f"FROM read_parquet('{raw}/**/*.parquet', hive_partitioning=true) "
            f"GROUP BY ALL ORDER BY qas DESC, lang"
        )
        out.append("\nqa_raw: QAs by declared page language (primary subtag) and markup")
        out.append(_table(rel.fetchall(), ("page_language", "jsonld", "microdata", "rdfa", "qas")))
    return "\n".join(out)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("summary", help="print what a pipeline run produced under a data root")
    parser.add_argument("data_root", type=Path, help="the DATA folder of a run, e.g. data/demo")
    parser.set_defaults(run=lambda a: print(summarize(a.data_root)) or 0)
