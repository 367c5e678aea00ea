"""Extraction throughput against two baselines measured in the same run on the same files.

    .venv/bin/python bench/extract.py [--input WARC...] [--cores 2] [--baseline-seconds 20]

Prints records/s and MB/s of compressed WARC per core for:
  1. a bare FastWARC loop that only iterates records and reads bodies (the limit);
  2. warcio + extruct on every response (the common approach), on a time-bounded sample;
  3. faqmine's extraction library in one Python process (one core);
  4. the whole Spark job (`run_extract` + Parquet write) on local[cores], after a warm-up job
     (session start and Python worker start are printed apart, not counted);
and the ratios of 3 and 4 to the baselines. Default input: a simulated crawl
(`faqmine simulate`, ~1-2% FAQ pages) made in a temporary folder, else data/background.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from faqmine.stats import StageStats

REPO = Path(__file__).resolve().parents[1]


def bare_fastwarc(files: list[str]) -> int:
    from fastwarc import ArchiveIterator

    n = 0
    for path in files:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh, parse_http=True):
                record.reader.read()
                n += 1
    return n


def warcio_extruct(files: list[str], budget_s: float) -> tuple[int, float, int]:
    """Records handled, seconds, compressed bytes of the part read; stops after budget_s."""
    import extruct
    from warcio.archiveiterator import ArchiveIterator

    n, start = 0, time.perf_counter()
    read_bytes = 0
    for path in files:
        with open(path, "rb") as fh:
            iterator = ArchiveIterator(fh)
            for record in iterator:
                n += 1
                if record.rec_type == "response":
                    body = record.content_stream().read()
                    extruct.extract(body, base_url=record.rec_headers.get_header("WARC-Target-URI"),
                                    syntaxes=["json-ld", "microdata", "rdfa"], uniform=True, errors="ignore")
                read_bytes = fh.tell()
                if time.perf_counter() - start > budget_s:
                    return n, time.perf_counter() - start, read_bytes
        read_bytes = 0
    return n, time.perf_counter() - start, sum(os.path.getsize(f) for f in files)


def library_one_core(files: list[str]) -> tuple[int, int, float]:
    from faqmine.extract import extract_warc_file

    list(extract_warc_file(files[0], StageStats("warm-up")))  # imports and lazy tables load once, untimed
    stats = StageStats("extract")
    start = time.perf_counter()
    rows = sum(batch.num_rows for path in files for batch in extract_warc_file(path, stats))
    return stats.records_in, rows, time.perf_counter() - start


def spark_job(files: list[str], cores: int, out: Path) -> tuple[int, int, float, float]:
    """(records, QA rows, seconds of a warm run, seconds of the first run on one file).

    The first job of a session also starts the Python workers and imports the extraction
    libraries in each of them: a fixed cost per executor, reported apart from throughput.
    """
    from faqmine.spark.datasets import write_dataset
    from faqmine.spark.extract_stage import run_extract
    from faqmine.spark.session import build_session

    def run(paths: list[str], target: Path) -> tuple[StageStats, float]:
        start = time.perf_counter()
        qa, stats, persisted = run_extract(spark, paths)
        write_dataset(qa, str(target), "qa_raw", stats.to_dict())
        elapsed = time.perf_counter() - start
        persisted.unpersist()
        return stats, elapsed

    os.environ["FAQMINE_QUIET_SPARK"] = "1"
    spark = build_session("faqmine-bench-extract", master=f"local[{cores}]")
    spark.range(1).count()  # JVM start is not part of the job
    _, cold = run(files[:cores], out.with_name("warm-up"))
    stats, elapsed = run(files, out)
    spark.stop()
    return stats.records_in, stats.counters["rows_out"], elapsed, cold


def default_input(tmp: Path, size: str) -> list[str]:
    sim = tmp / "sim"
    done = subprocess.run([sys.executable, "-m", "faqmine.cli", "simulate", "--out", str(sim), "--size", size,
                           "--seed", "7"], capture_output=True, text=True)
    if done.returncode == 0:
        return sorted(str(p) for p in (sim / "warc").glob("*.warc.gz"))
    print("(simulator unavailable, using data/background)", file=sys.stderr)
    return sorted(str(p) for p in (REPO / "data" / "background").glob("*.warc.gz"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", nargs="*", help="WARC files (default: a simulated crawl of --sim-size)")
    parser.add_argument("--sim-size", default="120MB", help="size of the default simulated crawl")
    parser.add_argument("--cores", type=int, default=2, help="local[N] cores for the Spark job")
    parser.add_argument("--baseline-seconds", type=float, default=20.0,
                        help="time budget of the slow warcio+extruct baseline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="faqmine-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        files = args.input or default_input(tmp, args.sim_size)
        mb = sum(os.path.getsize(f) for f in files) / 1e6
        print(f"input: {len(files)} WARC files, {mb:.1f} MB compressed")

        start = time.perf_counter()
        n_bare = bare_fastwarc(files)
        t_bare = time.perf_counter() - start
        n_ext, t_ext, bytes_ext = warcio_extruct(files, args.baseline_seconds)
        n_lib, rows_lib, t_lib = library_one_core(files)
        n_job, rows_job, t_job, t_cold = spark_job(files, args.cores, tmp / "qa_raw")

        def line(name: str, records: int, seconds: float, mbytes: float, cores: int = 1) -> float:
            rate = records / seconds / cores
            print(f"{name:<42} {rate:>10.0f} rec/s/core {mbytes / seconds / cores:>8.2f} MB/s/core "
                  f"({records} records in {seconds:.2f}s on {cores} core{'s' if cores > 1 else ''})")
            return rate

        print()
        bare = line("1 bare FastWARC loop (limit)", n_bare, t_bare, mb)
        extruct_rate = line("2 warcio + extruct (common approach)", n_ext, t_ext, bytes_ext / 1e6)
        lib = line("3 faqmine library, one process", n_lib, t_lib, mb)
        job = line(f"4 faqmine Spark job, local[{args.cores}]", n_job, t_job, mb, cores=args.cores)
        print(f"  (the job ran after a warm-up job on {args.cores} files that took {t_cold:.1f}s: Python worker start"
              " and imports, once per executor)")
        print(f"\nQA rows: library {rows_lib}, Spark job {rows_job}")
        print(f"library / bare loop      {lib / bare:6.2f}x   (target for the job >= 0.5x)")
        print(f"Spark job / bare loop    {job / bare:6.2f}x")
        print(f"library / warcio+extruct {lib / extruct_rate:6.1f}x")
        print(f"Spark job / warcio+extruct {job / extruct_rate:6.1f}x (target >= 50x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
