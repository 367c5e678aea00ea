"""Dataset schemas: read `schemas/<dataset>.json` and turn it into Arrow and Spark schemas.

The JSON files under the repository's `schemas/` folder are the contract of every
dataset (column names, types, nullability, partition columns, meaning). Code never
spells a dataset's columns itself; it asks this module.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow as pa

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def _arrow_type(name: str) -> pa.DataType:
    if name.startswith("list<") and name.endswith(">"):
        return pa.list_(_arrow_type(name[5:-1]))
    try:
        return _ARROW_TYPES[name]
    except KeyError:
        raise ValueError(f"unknown column type {name!r} in a schema file") from None


def schemas_dir() -> Path:
    """The folder holding the schema files: $FAQMINE_SCHEMAS, else the repository's `schemas/`."""
    env = os.environ.get("FAQMINE_SCHEMAS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "schemas"


@dataclass(frozen=True)
class DatasetSchema:
    dataset: str
    description: str
    partition_by: tuple[str, ...]
    columns: tuple[dict, ...]
    primary_key: str | list[str] | None = None  # column (or columns) whose values are unique
    upstream: dict | None = None  # column -> "dataset.column" every value must exist in
    path: str = ""  # folder under a data root, e.g. "benchmarks/corpus" (default: the dataset name)

    @property
    def folder(self) -> str:
        """Where the dataset lives under a data root."""
        return self.path or self.dataset

    @property
    def names(self) -> list[str]:
        return [c["name"] for c in self.columns]

    def arrow(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c["name"], _arrow_type(c["type"]), nullable=c["nullable"]) for c in self.columns]
        )


@cache
def load_schema(dataset: str) -> DatasetSchema:
    path = schemas_dir() / f"{dataset}.json"
    if not path.exists():
        raise FileNotFoundError(f"no schema file for dataset {dataset!r}: {path}")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return DatasetSchema(
        dataset=raw["dataset"],
        description=raw.get("description", ""),
        partition_by=tuple(raw.get("partition_by", [])),
        columns=tuple(raw["columns"]),
        primary_key=raw.get("primary_key"),
        upstream=dict(raw.get("upstream") or {}),
        path=raw.get("path") or raw["dataset"],
    )
