"""`faqmine check`: verify every dataset under a data root against its contract.

For each dataset folder that has a schema in `schemas/` (at `<root>/<dataset>`, or at the
schema's `path`, e.g. `benchmarks/corpus`, for datasets nested under one folder):
- `_SUCCESS` and `_stats.json` exist, and `in == out + sum(dropped)`;
- the rows on disk are as many as the stats say were written (`rows_out`, else `out`);
- the columns and their types match the schema file;
- the schema's `primary_key` (a column or a list of columns) holds no duplicate;
- every value of a column named in the schema's `upstream` map exists in the upstream dataset.

And across the benchmark datasets (`check_split_units`): no split unit and no domain is in two
splits, every domain is in one unit, and no dev/test QA has a copy that dedup removed from a
domain whose QAs are in train (the leak-free split contract, faqmine.build_benchmarks.units).

Reads Parquet with pyarrow (no Spark): meant for a run's outputs on one machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from faqmine.core.schemas import load_schema, schemas_dir
from faqmine.core.stats import UnbalancedStats, check_balance, read_stats
from faqmine.core.urls import registered_domain


@dataclass(frozen=True)
class Problem:
    dataset: str
    message: str

    def __str__(self) -> str:
        return f"{self.dataset}: {self.message}"


def _read(folder: Path, partition_by: tuple[str, ...]) -> pa.Table:
    partitioning = ds.partitioning(pa.schema([(c, pa.string()) for c in partition_by]), flavor="hive")
    return ds.dataset(folder, format="parquet", partitioning=partitioning,
                      exclude_invalid_files=True).to_table()


def _same_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    if pa.types.is_timestamp(actual) and pa.types.is_timestamp(expected):
        return True  # unit and zone are storage details
    if pa.types.is_dictionary(actual):
        actual = actual.value_type
    return actual == expected


def check_dataset(root: Path, name: str) -> list[Problem]:
    schema = load_schema(name)
    folder = root / schema.folder
    problems: list[Problem] = []
    for marker in ("_SUCCESS", "_stats.json"):
        if not (folder / marker).exists():
            problems.append(Problem(name, f"{marker} is missing in {folder}"))
    if problems:
        return problems
    stats = read_stats(folder)
    try:
        check_balance(stats, name)
    except UnbalancedStats as exc:
        problems.append(Problem(name, f"stats do not balance: {exc}"))
    table = _read(folder, schema.partition_by)
    expected_rows = stats.get("rows_out", stats["out"])
    if table.num_rows != expected_rows:
        problems.append(Problem(name, f"{table.num_rows} rows on disk but _stats.json says {expected_rows} written"))
    if table.num_rows == 0 and not any(folder.rglob("*.parquet")):
        return problems  # an empty partitioned dataset has no Parquet file: no columns to compare
    expected = schema.arrow()
    for field in expected:
        if field.name not in table.column_names:
            problems.append(Problem(name, f"column {field.name} is missing"))
        elif not _same_type(table.schema.field(field.name).type, field.type):
            problems.append(Problem(name, f"column {field.name} has type {table.schema.field(field.name).type}, "
                                          f"schemas/{name}.json says {field.type}"))
    extra = set(table.column_names) - set(expected.names)
    if extra:
        problems.append(Problem(name, f"columns not in the schema: {sorted(extra)}"))
    key = [schema.primary_key] if isinstance(schema.primary_key, str) else list(schema.primary_key or [])
    if key and all(column in table.column_names for column in key):
        n_unique = table.group_by(key).aggregate([]).num_rows
        if n_unique != table.num_rows:
            label = key[0] if len(key) == 1 else f"({', '.join(key)})"
            problems.append(Problem(name, f"{table.num_rows - n_unique} duplicate {label} value(s)"))
    for column, target in (schema.upstream or {}).items():
        up_name, up_column = target.split(".")
        up_schema = load_schema(up_name)
        if column not in table.column_names or not (root / up_schema.folder).exists():
            continue
        upstream = _read(root / up_schema.folder, up_schema.partition_by)[up_column]
        missing = pc.sum(pc.invert(pc.is_in(table[column], value_set=upstream.unique()))).as_py() or 0
        if missing:
            problems.append(Problem(name, f"{missing} {column} value(s) not found in {up_name}.{up_column}"))
    return problems


def check_split_units(root: Path) -> list[Problem]:
    """No unit or domain of the benchmarks in two splits, one unit per domain, no dev/test QA whose removed
    duplicate sat on a train domain."""
    rows: dict[str, tuple[str, str, str]] = {}  # qa_id -> (domain, unit, split)
    for name in ("benchmarks_corpus", "benchmarks_queries"):
        schema = load_schema(name)
        table = _read(root / schema.folder, schema.partition_by)
        if "unit" not in table.column_names:
            return [Problem(name, "has no unit column: built before leak-free splits, rebuild the benchmarks")]
        rows.update(zip(table["qa_id"].to_pylist(), zip(table["domain"].to_pylist(), table["unit"].to_pylist(),
                                                        table["split"].to_pylist(), strict=True), strict=True))
    problems = []
    for key, what in ((1, "split unit"), (0, "domain")):
        splits: dict[str, set[str]] = {}
        for row in rows.values():
            splits.setdefault(row[key], set()).add(row[2])
        mixed = sorted(k for k, v in splits.items() if len(v) > 1)
        if mixed:
            problems.append(Problem("benchmarks", f"{len(mixed)} {what}(s) in two splits, e.g. {mixed[0]}"))
    units: dict[str, set[str]] = {}
    for domain, unit, _ in rows.values():
        units.setdefault(domain, set()).add(unit)
    split_units = sorted(d for d, u in units.items() if len(u) > 1)
    if split_units:
        problems.append(Problem("benchmarks", f"{len(split_units)} domain(s) in two units, e.g. {split_units[0]}"))
    duplicates = root / load_schema("duplicates").folder
    if duplicates.is_dir():
        train_domains = {domain for domain, _, split in rows.values() if split == "train"}
        table = _read(duplicates, load_schema("duplicates").partition_by)
        if table.num_rows == 0:  # a finished empty dataset has no Parquet file and so no columns
            return problems
        leaks = {rep for rep, url in zip(table["representative_qa_id"].to_pylist(), table["url"].to_pylist(),
                                         strict=True)
                 if rep in rows and rows[rep][2] != "train" and registered_domain(url) in train_domains}
        if leaks:
            problems.append(Problem("benchmarks", f"{len(leaks)} dev/test QA(s) have a removed duplicate on a train "
                                                  f"domain, e.g. {sorted(leaks)[0]}"))
    return problems


def check_data_root(root: Path) -> tuple[list[str], list[Problem]]:
    """Returns (datasets checked, problems found)."""
    known = sorted(p.stem for p in schemas_dir().glob("*.json"))
    checked = [name for name in known if (root / load_schema(name).folder).is_dir()] if root.exists() else []
    problems = [problem for name in checked for problem in check_dataset(root, name)]
    if {"benchmarks_corpus", "benchmarks_queries"} <= set(checked):
        problems += check_split_units(root)
    return checked, problems
