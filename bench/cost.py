"""What a crawl costs: every stage run on simulated crawls of two sizes, core-seconds and peak memory per 1,000 records.

    .venv/bin/python bench/cost.py                                   # 5 MB and 20 MB crawls (+1 GB extract), local[2]
    .venv/bin/python bench/cost.py --sizes 10MB 40MB --master local[4]
    .venv/bin/python bench/cost.py --embed-args "--encoder-backend onnx-int8"

For each size: `faqmine simulate` writes a crawl (same seed and FAQ share), then every stage of
the pipeline runs as its own `jobs/<stage>.py` process, as `spark-submit` runs it (driver JVM,
Python workers), one after the other. For each stage the script records

- wall seconds, and core-seconds: user + system CPU time of the job's whole process tree (the
  Python driver, the JVM it starts, the Python workers the JVM forks), read from `/proc` every
  0.2 s while the job runs (so Linux only; a process that lives less than that is missed);
- the peak resident memory of that tree (the sum over its processes, at the worst sample);
- its input records (`in` of `_stats.json`), and so core-seconds and wall seconds per 1,000
  input records (per 1,000 QAs for the stages after clean_langid, whose records are QAs).

Growth: the ratio of core-seconds between the two sizes against the ratio of input records
(near-linear: 4x the input <= 4.5x the time). A stage's cost is read as fixed + marginal x records:
the marginal cost (the difference of the two runs' core-seconds over the difference of their
records) is what grows with a crawl; the fixed part (JVM start, model load) is paid once per job.

Extraction's marginal cost is too small to see between 5 and 20 MB (about a second against a
fixed ~25 core-s), so extract alone also runs on a third crawl of `--extract-size` (1 GB), and its
marginal cost is taken between the 20 MB and that run.

The projection for one Common Crawl snapshot (~90,000 WARC files, ~3 billion records) uses the
marginal cost per record and per compressed byte for extraction (the larger of the two: real
records are bigger than simulated ones) and, for the QA stages, per QA times the QAs a
snapshot yields: records x FAQ-page share (`--faq-page-share`, an assumption stated in the
report) x QAs per FAQ page (measured on the simulated crawl). GPU figures for the encoding
stage are an estimate from `--gpu-texts-per-second` unless a GPU was measured, and say so.
Writes `bench/reports/cost.md`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import common

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT_WARC_FILES = 90_000
SNAPSHOT_RECORDS = 3_000_000_000
SNAPSHOT_BYTES = SNAPSHOT_WARC_FILES * 10**9  # Common Crawl's WARC files are ~1 GB each (compressed)
QA_STAGES = ("dedup", "embed", "build_benchmarks", "align_bitext", "mine_negatives")


@dataclass
class StageCost:
    stage: str
    records_in: int
    wall_s: float
    core_s: float
    peak_rss_mb: float

    def per_1000(self, value: float) -> float:
        return 1000 * value / self.records_in if self.records_in else float("nan")


def marginal_per_1000(small: StageCost, large: StageCost) -> float:
    """Core-seconds per 1,000 more input records between the two runs (nan when the inputs are equal)."""
    grown = large.records_in - small.records_in
    return 1000 * (large.core_s - small.core_s) / grown if grown > 0 else float("nan")


def stage_commands(data: Path, crawl: Path, extra: dict[str, str]) -> list[tuple[str, list[str]]]:
    """(stage, arguments) of every stage in pipeline order, on the data root `data`."""
    def args(name: str, *rest: str) -> tuple[str, list[str]]:
        return name, [*rest, *shlex.split(extra.get(name, ""))]

    return [
        args("extract", "--input", str(crawl / "warc.paths.gz"), "--output", str(data / "qa_raw")),
        args("clean_langid", "--input", str(data / "qa_raw"), "--output", str(data / "qa")),
        args("dedup", "--input", str(data / "qa"), "--output", str(data / "qa_dedup"),
             "--duplicates-output", str(data / "duplicates")),
        args("embed", "--input", str(data / "qa_dedup"), "--output", str(data / "qa_embeddings")),
        args("build_benchmarks", "--input", str(data / "qa_dedup"), "--embeddings", str(data / "qa_embeddings"),
             "--duplicates", str(data / "duplicates"), "--output", str(data / "benchmarks"),
             "--min-qas", extra.get("min_qas", "40")),
        args("align_bitext", "--input", str(data / "qa_dedup"), "--embeddings", str(data / "qa_embeddings"),
             "--output", str(data / "bitext")),
        args("mine_negatives", "--benchmarks", str(data / "benchmarks"), "--embeddings",
             str(data / "qa_embeddings"), "--bitext", str(data / "bitext"), "--output", str(data / "hard_negatives")),
    ]


def first_output(stage: str, arguments: list[str]) -> Path:
    return Path(arguments[arguments.index("--output") + 1])


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _proc_table() -> dict[int, tuple[int, float, int]]:
    """pid -> (parent pid, CPU seconds so far, resident bytes) of every process /proc shows."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        # after the command name: state ppid ... utime(12) stime(13) ... rss(22), counted from state = 0
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK, int(fields[21]) * _PAGE)
    return table


def _tree(root: int, table: dict[int, tuple[int, float, int]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            out.append(pid)
            todo.extend(children.get(pid, []))
    return out


def run_measured(command: list[str], env: dict[str, str], log: Path) -> tuple[float, float, float, int]:
    """(wall seconds, core-seconds, peak RSS MiB, exit code) of a command's whole process tree."""
    if not Path("/proc/self/stat").exists():
        raise SystemExit("bench/cost.py reads CPU time and memory from /proc: run it on Linux")
    cpu: dict[int, float] = {}
    peak = 0
    started = time.perf_counter()
    with open(log, "ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        while process.poll() is None:
            table = _proc_table()
            pids = _tree(process.pid, table)
            for pid in pids:
                cpu[pid] = max(cpu.get(pid, 0.0), table[pid][1])
            peak = max(peak, sum(table[pid][2] for pid in pids))
            time.sleep(0.2)
    wall = time.perf_counter() - started
    return wall, sum(cpu.values()), peak / 2**20, process.returncode


def run_size(size: str, args, root: Path, env: dict[str, str], extra: dict[str, str],
             only: tuple[str, ...] | None = None) -> tuple[list[StageCost], dict]:
    """Simulate a crawl of `size` and run every stage (or the stages in `only`) on it, measured."""
    crawl, data = root / size / "crawl", root / size / "data"
    log = root / f"{size}.log"
    print(f"[{size}] simulate -> {crawl}", flush=True)
    subprocess.run([sys.executable, "-m", "faqmine.cli", "simulate", "--out", str(crawl), "--size", size,
                    "--seed", str(args.seed), "--faq-share", str(args.faq_share), "--quiet"], check=True, env=env,
                   cwd=REPO)
    crawl_bytes = json.loads((crawl / "simulation.json").read_text())["bytes"]
    costs = []
    for stage, arguments in stage_commands(data, crawl, extra):
        if only is not None and stage not in only:
            continue
        command = [sys.executable, str(REPO / "jobs" / f"{stage}.py"), "--master", args.master, *arguments]
        wall, core, peak, code = run_measured(command, env, log)
        if code != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise SystemExit(f"{tail}\nbench/cost.py: {stage} failed on the {size} crawl (exit {code}); the end of "
                             f"its log is above")
        stats = json.loads((first_output(stage, arguments) / "_stats.json").read_text())
        costs.append(StageCost(stage, int(stats["in"]), wall, core, peak))
        print(f"[{size}] {stage:<17} in {stats['in']:>8}  wall {wall:7.1f} s  cores {core:7.1f} s  "
              f"peak {peak:6.0f} MiB", flush=True)
    qa_rows, faq_pages = _qa_rows_and_pages(data / "qa_raw")
    facts = {"records": costs[0].records_in, "bytes": crawl_bytes, "qa_raw": qa_rows, "faq_pages": faq_pages,
             "qas_per_faq_page": qa_rows / faq_pages if faq_pages else float("nan")}
    shutil.rmtree(root / size, ignore_errors=True)  # the 1 GB crawl would stay on disk otherwise
    return costs, facts


def _qa_rows_and_pages(qa_raw: Path) -> tuple[int, int]:
    """(QA rows, distinct page URLs) of qa_raw: extract's `out` counts records that gave QAs, not QAs."""
    import pyarrow.dataset as ds

    table = ds.dataset(qa_raw, format="parquet", partitioning="hive").to_table(columns=["url"])
    return table.num_rows, len(set(table.column("url").to_pylist()))


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--sizes", nargs=2, default=["5MB", "20MB"], metavar=("SMALL", "LARGE"),
                        help="compressed sizes of the two simulated crawls (the second about 4x the first)")
    parser.add_argument("--extract-size", default="1GB", help="a third crawl, for extract alone (its marginal "
                        "cost per record is too small to measure between the two sizes)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faq-share", type=float, default=0.2, help="share of FAQ pages in the simulated crawls")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--faq-page-share", type=float, default=0.003,
                        help="assumed share of a snapshot's records that are FAQ pages (see the report)")
    parser.add_argument("--gpu-texts-per-second", type=float, default=20_000,
                        help="assumed encoder throughput on one GPU for the estimate (not measured unless said)")
    parser.add_argument("--embed-args", default="", help="extra arguments of the embed stage")
    parser.add_argument("--min-qas", default="40", help="build_benchmarks' --min-qas (the demo's: small crawls have "
                        "few QAs per language)")
    parser.add_argument("--work", default=None, help="folder under which a temporary folder holds the crawls and "
                        "datasets, created if missing (default: the system's temporary folder)")
    parser.add_argument("--out", default=str(REPO / "bench" / "reports" / "cost.md"))
    args = parser.parse_args(argv)

    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1", FAQMINE_QUIET_SPARK="1")
    extra = {"embed": args.embed_args, "min_qas": args.min_qas}
    if args.work:
        Path(args.work).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="faqmine-cost-", dir=args.work) as tmp:
        started = time.time()
        runs = {size: run_size(size, args, Path(tmp), env, extra) for size in args.sizes}
        extract_run = run_size(args.extract_size, args, Path(tmp), env, extra, only=("extract",))
        total = time.time() - started
    return write(args, runs, extract_run, total)


def extract_projection(large: StageCost, large_facts: dict, big: StageCost, big_facts: dict) -> dict:
    """Extraction's marginal cost between the large and the extract-only run, per record and per byte, and
    the core-hours each gives for a snapshot."""
    per_record = marginal_per_1000(large, big) / 1000
    grown_bytes = big_facts["bytes"] - large_facts["bytes"]
    per_byte = (big.core_s - large.core_s) / grown_bytes if grown_bytes > 0 else float("nan")
    return {"per_record": per_record, "per_gb": per_byte * 1e9,
            "by_records": max(per_record, 0.0) * SNAPSHOT_RECORDS / 3600,
            "by_bytes": max(per_byte, 0.0) * SNAPSHOT_BYTES / 3600}


def write(args, runs: dict[str, tuple[list[StageCost], dict]], extract_run: tuple[list[StageCost], dict],
          total: float) -> int:
    small, large = args.sizes
    small_costs, small_facts = runs[small]
    large_costs, large_facts = runs[large]
    (big,), big_facts = extract_run
    extraction = extract_projection(large_costs[0], large_facts, big, big_facts)
    qas_per_page = large_facts["qas_per_faq_page"]
    snapshot_qas = SNAPSHOT_RECORDS * args.faq_page_share * qas_per_page
    lines = [
        "# Cost per stage and a projection for one Common Crawl snapshot", "",
        f"Generated by `bench/cost.py --sizes {small} {large} --extract-size {args.extract_size} --master "
        f"{args.master}` on "
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {total / 60:.1f} min in all. Simulated crawls "
        f"(`faqmine simulate --seed {args.seed} --faq-share {args.faq_share}`); every stage ran as its own "
        "`jobs/<stage>.py` process, one after the other. Core-seconds are user + system CPU time of the job's "
        "process tree (driver, JVM, Python workers, sampled from /proc); peak memory is the tree's summed RSS at "
        "its worst sample.", "",
        "## Per stage", "",
        f"| stage | unit | input {small} | input {large} | input ratio | core-s {small} | core-s {large} | "
        "core-s ratio | linear? (ratio <= 1.125 x input ratio) | core-s / 1,000 units (large) | marginal core-s / "
        "1,000 units | fixed core-s | wall s (large) | peak MiB (large) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    verdicts = []
    for a, b in zip(small_costs, large_costs, strict=True):
        unit = "record" if a.stage == "extract" else "QA"
        input_ratio = b.records_in / a.records_in if a.records_in else float("nan")
        core_ratio = b.core_s / a.core_s if a.core_s else float("nan")
        linear = core_ratio <= 1.125 * input_ratio
        verdicts.append((a.stage, linear))
        lines.append(f"| {a.stage} | {unit} | {a.records_in:,} | {b.records_in:,} | {input_ratio:.2f} | "
                     f"{a.core_s:.1f} | {b.core_s:.1f} | {core_ratio:.2f} | {'yes' if linear else 'NO'} | "
                     f"{b.per_1000(b.core_s):.2f} | {marginal_per_1000(a, b):.2f} | "
                     f"{a.core_s - marginal_per_1000(a, b) * a.records_in / 1000:.1f} | {b.wall_s:.1f} | "
                     f"{b.peak_rss_mb:.0f} |")
    lines += [
        "",
        "A stage's fixed cost (starting a JVM and Python workers, loading fastText or the encoder) is paid once per "
        "run, so the core-seconds ratio sits below the input ratio when that cost is a large share of the small "
        "run, and the per-unit cost of the large run, which still includes it, overstates a big crawl's cost per "
        "unit. The marginal cost (what 1,000 more units added between the two runs) is what the projection uses; "
        "with runs this small it is noisy (a few core-seconds of difference), so read it as an order of magnitude.",
        "",
        f"Extraction's marginal cost, which these two sizes cannot show, from a third crawl of "
        f"{args.extract_size} ({big.records_in:,} records, {big_facts['bytes'] / 1e6:,.0f} MB; extract alone: "
        f"{big.core_s:.1f} core-s, {big.wall_s:.1f} s wall, peak {big.peak_rss_mb:.0f} MiB) against the {large} "
        f"run: {extraction['per_record'] * 1000:.3f} core-s per 1,000 records, {extraction['per_gb']:.1f} core-s "
        "per compressed GB.",
        "",
        "## One Common Crawl snapshot", "",
        f"- Inputs: ~{SNAPSHOT_WARC_FILES:,} WARC files, ~{SNAPSHOT_RECORDS / 1e9:.0f} billion records "
        "(responses, requests and metadata; extraction reads every one).",
        f"- Assumed FAQ-page share: **{args.faq_page_share:.1%} of the records** (`--faq-page-share`). This is an "
        "assumption, not a measurement: the simulated crawls have far more FAQ pages than the web "
        f"({args.faq_share:.0%} of their HTML pages) so that small runs have QAs to work on; schema.org FAQPage "
        "markup is on a small minority of real pages, and the real background WARCs in `data/background` hold "
        "few. Change the flag and the QA-stage rows scale with it.",
        f"- QAs per FAQ page, measured on the {large} crawl: {qas_per_page:.2f} "
        f"({large_facts['qa_raw']:,} qa_raw rows on {large_facts['faq_pages']:,} pages), so one snapshot gives "
        f"~{snapshot_qas / 1e6:.0f} M raw QAs; the QA stages are projected on that count (an upper bound: "
        "cleaning and dedup remove some).",
        "",
        "| stage | units per snapshot | core-hours (CPU) | days on 2 cores | hours on 64 cores |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    total_core_h = 0.0
    encode_units = 0.0
    for a, cost in zip(small_costs, large_costs, strict=True):
        units = SNAPSHOT_RECORDS if cost.stage == "extract" else snapshot_qas
        if cost.stage == "extract":
            core_h = max(extraction["by_records"], extraction["by_bytes"])
        else:
            core_h = max(marginal_per_1000(a, cost), 0.0) * units / 1000 / 3600
        total_core_h += core_h
        if cost.stage == "embed":
            encode_units = units
        lines.append(f"| {cost.stage} | {units:,.0f} | {core_h:,.0f} | {core_h / 2 / 24:,.1f} | {core_h / 64:,.1f} |")
    lines.append(f"| **all** | | **{total_core_h:,.0f}** | {total_core_h / 2 / 24:,.1f} | {total_core_h / 64:,.1f} |")
    gpu_hours = 2 * encode_units / args.gpu_texts_per_second / 3600
    lines += [
        "",
        f"Extraction is projected on the larger of its cost per record ({extraction['by_records']:,.0f} core-hours "
        f"for {SNAPSHOT_RECORDS / 1e9:.0f} billion records) and per compressed byte "
        f"({extraction['by_bytes']:,.0f} core-hours for ~{SNAPSHOT_BYTES / 1e12:.0f} TB): a simulated record is "
        f"{big_facts['bytes'] / big.records_in / 1e3:.1f} kB compressed, a Common Crawl one "
        f"~{SNAPSHOT_BYTES / SNAPSHOT_RECORDS / 1e3:.0f} kB.",
        "",
        f"Encoding on one GPU (**estimate, not measured**: no GPU run is recorded here): the embed stage encodes "
        f"2 texts per QA, {2 * encode_units / 1e6:,.0f} M texts per snapshot; at an assumed "
        f"{args.gpu_texts_per_second:,.0f} texts/s for multilingual-e5-small (`--gpu-texts-per-second`) that is "
        f"~{gpu_hours:.1f} GPU-hours. Nothing else is encoded: bitext, mining and the base model's evaluation read "
        "the stored vectors.",
        "",
        "## Growth", "",
        *[f"- {stage}: {'near-linear' if ok else 'ABOVE 4.5x for 4x the input'}" for stage, ok in verdicts],
        "",
    ]
    return common.write_report(args.out, lines)


if __name__ == "__main__":
    sys.exit(main())
