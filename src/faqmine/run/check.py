"""`faqmine check`: verify every dataset under a data root against its contract.

For each dataset folder that has a schema in `schemas/` (at `<root>/<dataset>`, or at the
schema's `path`, e.g. `benchmarks/corpus`, for datasets nested under one folder):
- `_SUCCESS` and `_stats.json` exist, and `in == out + sum(dropped)`;
- the rows on disk are as many as the stats say were written (`rows_out`, else `out`);
- the columns and their types match the schema file;
- the schema's `primary_key` (a column or a list of columns) holds no duplicate;
- every value of a column named in the schema's `upstream` map exists in the upstream dataset.

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


def check_data_root(root: Path) -> tuple[list[str], list[Problem]]:
    """Returns (datasets checked, problems found)."""
    known = sorted(p.stem for p in schemas_dir().glob("*.json"))
    checked = [name for name in known if (root / load_schema(name).folder).is_dir()] if root.exists() else []
    problems = [problem for name in checked for problem in check_dataset(root, name)]
    return checked, problems
