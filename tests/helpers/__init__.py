"""Helpers the tests and the bench scripts share: paths to the data and models the tests need,
XQuAD QA pairs and data roots, small WARC files, and the brute-force references (exact Jaccard,
union-find components) that the fast implementations are measured against.

The tests import them as `helpers.<module>` (pytest puts tests/ on sys.path); bench scripts
put tests/ on sys.path through bench/common.py.
"""
