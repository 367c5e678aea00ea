"""Connected components by union-find in memory: the reference for the Spark large-star/small-star stage."""

from __future__ import annotations

from collections.abc import Iterable


def union_find(edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Every node of `edges` -> the smallest node of its component (a self loop only names its node)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}
