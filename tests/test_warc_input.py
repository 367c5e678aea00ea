"""Input resolution: paths, folders, globs, listings (truncated and damaged gzip: tests/test_resync.py)."""

import gzip

import pytest

from faqmine.extract.warc_input import CC_PREFIX, resolve_inputs


def test_directory_glob_and_listing(tmp_path):
    (tmp_path / "a.warc.gz").write_bytes(gzip.compress(b"x"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.warc.gz").write_bytes(gzip.compress(b"y"))
    (tmp_path / "notes.txt").write_text("ignored")
    assert [p.rsplit("/", 1)[1] for p in resolve_inputs([str(tmp_path)])] == ["a.warc.gz", "b.warc.gz"]
    assert resolve_inputs([str(tmp_path / "*.warc.gz")]) == [str(tmp_path / "a.warc.gz")]
    listing = tmp_path / "warc.paths.gz"
    with gzip.open(listing, "wt") as fh:
        fh.write("a.warc.gz\ncrawl-data/CC-MAIN-2024-18/segments/x.warc.gz\n")
    assert resolve_inputs([str(listing)]) == [
        str(tmp_path / "a.warc.gz"), CC_PREFIX + "crawl-data/CC-MAIN-2024-18/segments/x.warc.gz"]
    assert resolve_inputs([str(listing)], prefix="s3://commoncrawl/", max_files=1) == ["s3://commoncrawl/a.warc.gz"]


def test_missing_input_is_named():
    with pytest.raises(FileNotFoundError, match="nope"):
        resolve_inputs(["/no/such/nope*.warc.gz"])

