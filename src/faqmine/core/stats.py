"""Counters that every stage keeps: records in, records out, records dropped by reason.

The contract (docs/architecture.md): `in == out + sum(dropped.values())`, always. Extra counters
(`rows_out`, per-language counts, ...) sit beside these three in `counters`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


class UnbalancedStats(ValueError):
    """Raised when a stats record does not satisfy in == out + sum(dropped)."""


@dataclass
class StageStats:
    job: str
    records_in: int = 0
    records_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    counters: Counter = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # a few messages naming bad files/records
    max_samples: int = 20

    def kept(self, n: int = 1) -> None:
        self.records_in += n
        self.records_out += n

    def drop(self, reason: str, n: int = 1) -> None:
        self.records_in += n
        self.dropped[reason] += n

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def sample(self, message: str) -> None:
        if len(self.samples) < self.max_samples:
            self.samples.append(message)

    def merge(self, other: StageStats) -> StageStats:
        self.records_in += other.records_in
        self.records_out += other.records_out
        self.dropped.update(other.dropped)
        self.counters.update(other.counters)
        self.samples.extend(other.samples[: max(0, self.max_samples - len(self.samples))])
        return self

    def to_dict(self, **extra) -> dict:
        out = {
            "job": self.job,
            "in": self.records_in,
            "out": self.records_out,
            "dropped": dict(sorted(self.dropped.items())),
            **{k: v for k, v in sorted(self.counters.items())},
        }
        if self.samples:
            out["samples"] = list(self.samples)
        out.update(extra)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> StageStats:
        reserved = {"job", "in", "out", "dropped"}
        return cls(
            job=data["job"],
            records_in=int(data["in"]),
            records_out=int(data["out"]),
            dropped=Counter(data.get("dropped", {})),
            counters=Counter({k: v for k, v in data.items() if k not in reserved and isinstance(v, int)}),
            samples=list(data.get("samples", [])),
        )


def check_balance(stats: dict, where: str = "") -> None:
    """Raise UnbalancedStats naming the numbers if in != out + sum(dropped)."""
    dropped = sum(stats.get("dropped", {}).values())
    if stats["in"] != stats["out"] + dropped:
        raise UnbalancedStats(
            f"{where or stats.get('job', '?')}: in={stats['in']} but out={stats['out']} + dropped={dropped}"
        )


def write_stats(folder: str | Path, stats: dict) -> Path:
    check_balance(stats, str(folder))
    path = Path(folder) / "_stats.json"
    path.write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_stats(folder: str | Path) -> dict:
    return json.loads((Path(folder) / "_stats.json").read_text(encoding="utf-8"))
