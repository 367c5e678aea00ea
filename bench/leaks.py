"""Leaks between benchmark splits, counted against ground truth: simulated crawls and re-hosted real FAQ pages.

    .venv/bin/python bench/leaks.py                                  # 20MB and 100MB crawls + the real pages
    .venv/bin/python bench/leaks.py --sizes 20MB --no-realfaq --out /tmp/leaks.md

Simulated crawls (the experiment's settings: configs/experiment/pipeline.env's simulator and
benchmark arguments, seed 1): the pipeline runs up to the benchmarks and bitext, and every
dev/test QA is checked against the simulator's truth: it leaks when its XQuAD question is in
train in any language, the check that cannot be fooled. The same QAs split by site alone (the
old rule, `faqmine.build_benchmarks.splits.split_of` on the domain) are counted too. The base
encoder is then evaluated on the test split (training/evaluate.py) for the width of the pooled
cross-lingual nDCG@10 interval the experiment will see.

Real pages (data/realfaq): each translation group's pages are moved to per-language domains
(tests/helpers/realfaq_rehost.py, as a brand's regional domains), the pipeline runs up to the
benchmarks, and the report says whether every group landed in one unit and one split, and the
precision and recall of the cross-site links by threshold (links between QAs of one group are
right, others wrong; recall over the group's QA pairs at the same position).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import common
import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from faqmine.build_benchmarks.splits import SplitConfig, split_of
from faqmine.build_benchmarks.units import UnitConfig, best_per_language, truth_leaks

REPO = common.REPO
TRAINED = ("de", "en", "es", "ru", "zh")  # the experiment's training languages (configs/experiment/*.yaml)
REUSED = "20MB-old-deck"
OLD_DECK = "--question-sites 0 --syndicated-share 0 --multilingual-share 0.3"  # the simulator before leak-free splits
SWEEP = (0.70, 0.75, 0.78, 0.80, 0.82, 0.84, 0.86, 0.88, 0.90, 0.92, 0.95)


def pipeline_env() -> dict[str, str]:
    """The experiment's settings, as scripts/experiment.sh reads them (configs/experiment/pipeline.env)."""
    script = f"set -a; source {shlex.quote(str(REPO / 'configs/experiment/pipeline.env'))}; env -0"
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True, env={}).stdout
    return dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)


def run(command: list[str], env: dict[str, str], log: Path) -> None:
    with open(log, "ab") as out:
        done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    if done.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-30:]
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n" + "\n".join(tail))


def spark_env() -> dict[str, str]:
    python = sys.executable
    return {**os.environ, "PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python,
            "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"), "FAQMINE_QUIET_SPARK": "1"}


def run_pipeline(data: Path, warc_input: str, settings: dict[str, str], log: Path, master: str,
                 bitext: bool = True, crawl: str | None = None) -> None:
    """extract -> clean_langid -> dedup -> embed -> build_benchmarks (-> align_bitext) on `data`."""
    env = spark_env()
    submit = [str(Path(sys.executable).parent / "spark-submit"), "--master", master, "--driver-memory", "4g"]

    def job(name: str, *args: str) -> None:
        started = time.time()
        run([*submit, str(REPO / "jobs" / f"{name}.py"), *args], env, log)
        print(f"  {name:<17} {time.time() - started:6.1f} s", flush=True)

    job("extract", "--input", warc_input, "--output", str(data / "qa_raw"), *(["--crawl", crawl] if crawl else []))
    job("clean_langid", "--input", str(data / "qa_raw"), "--output", str(data / "qa"))
    job("dedup", "--input", str(data / "qa"), "--output", str(data / "qa_dedup"), "--duplicates-output",
        str(data / "duplicates"))
    job("embed", "--input", str(data / "qa_dedup"), "--output", str(data / "qa_embeddings"),
        *shlex.split(settings.get("EMBED_ARGS", "")))
    job("build_benchmarks", "--input", str(data / "qa_dedup"), "--embeddings", str(data / "qa_embeddings"),
        "--duplicates", str(data / "duplicates"), "--output", str(data / "benchmarks"),
        *shlex.split(settings.get("BENCHMARK_ARGS", "")))
    if bitext:
        job("align_bitext", "--input", str(data / "qa_dedup"), "--embeddings", str(data / "qa_embeddings"),
            "--output", str(data / "bitext"), *shlex.split(settings.get("BITEXT_ARGS", "")))


def table(path: Path, columns: list[str]):
    return ds.dataset(path, format="parquet", partitioning="hive").to_table(columns=columns).to_pandas()


def simulated(label: str, size: str, sim_args: str, root: Path, settings: dict[str, str], master: str) -> dict:
    crawl, data, log = root / label / "crawl", root / label / "data", root / f"{label}.log"
    print(f"[{label}] simulate {size} {sim_args} + pipeline (log {log})", flush=True)
    run([sys.executable, "-m", "faqmine.cli", "simulate", "--out", str(crawl), "--size", size, "--seed",
         settings.get("SIM_SEED", "1"), "--faq-share", settings.get("FAQ_SHARE", "0.2"), "--quiet",
         *shlex.split(sim_args)], spark_env(), log)
    run_pipeline(data, str(crawl / "warc.paths.gz"), settings, log, master)
    truth = pq.read_table(crawl / "truth" / "qa.parquet", columns=["qa_id", "xquad_id"]).to_pandas()
    xquad = dict(zip(truth.qa_id, truth.xquad_id, strict=True))
    corpus = table(data / "benchmarks" / "corpus", ["qa_id", "language", "split", "domain"])
    stats = json.loads((data / "benchmarks" / "_stats.json").read_text())
    contamination = json.loads((data / "benchmarks" / "_contamination.json").read_text())
    units = truth_leaks(zip(corpus.qa_id, corpus.language, corpus.split, strict=True), xquad, TRAINED)
    # the old rule on the same QAs (every QA of the benchmark's languages, before decontamination)
    qas = table(data / "qa_dedup", ["qa_id", "language", "domain"])
    qas = qas[qas.language.isin(stats["languages"])]
    splits = SplitConfig()
    by_site = truth_leaks(((q, lang, split_of(d, splits)) for q, lang, d in
                           zip(qas.qa_id, qas.language, qas.domain, strict=True)), xquad, TRAINED)
    pooled: dict = {}
    if not units["by_split"].get("test", {}).get("qas"):
        print(f"[{label}] no test QA: nothing to evaluate", flush=True)
        return {"label": label, "size": size, "sim_args": sim_args, "qas": json.loads(
            (crawl / "simulation.json").read_text())["qas"], "units": units, "by_site": by_site,
            "contamination": contamination, "stats": stats, "pooled": pooled}
    print(f"[{label}] evaluate base on test", flush=True)
    run([sys.executable, str(REPO / "training" / "evaluate.py"), "--data", str(data), "--run-id", "leaks",
         "--systems", "base", "--train-languages", *TRAINED, "--embeddings", str(data / "qa_embeddings"),
         "--realfaq", "none", "--tasks", "mono", "cross", "lareqa",
         *shlex.split(settings.get("EVAL_ARGS", ""))], spark_env(), log)
    metrics = pq.read_table(data / "eval" / "metrics" / "leaks.parquet").to_pandas()
    for task in ("mono", "cross", "lareqa"):
        row = metrics[(metrics.task == task) & (metrics.language_pair == "all") & (metrics.metric == "ndcg@10")
                      & (metrics.strategy == "base") & metrics.baseline.isna()]
        if len(row):
            r = row.iloc[0]
            pooled[task] = {"queries": int(r.n_queries), "ndcg@10": float(r.value),
                            "half_width": float(r.ci_high - r.ci_low) / 2}
    simulation = json.loads((crawl / "simulation.json").read_text())
    return {"label": label, "size": size, "sim_args": sim_args, "qas": simulation["qas"],
            "faq_pages_not_made": simulation["records"].get(
        "faq_pages_not_made"), "units": units, "by_site": by_site, "contamination": contamination,
        "stats": stats, "pooled": pooled}


def realfaq(root: Path, settings: dict[str, str], master: str) -> dict:
    from helpers.realfaq_rehost import rehost

    data, log = root / "realfaq" / "data", root / "realfaq.log"
    data.mkdir(parents=True, exist_ok=True)
    warc = root / "realfaq" / "faq_real_rehosted.warc.gz"
    mapping = rehost(warc)
    print(f"[realfaq] pipeline on the re-hosted pages (log {log})", flush=True)
    run_pipeline(data, str(warc), {**settings, "BENCHMARK_ARGS": "--min-qas 1"}, log, master, bitext=False,
                 crawl="REALFAQ")
    group_of_url = {new: group for new, group in mapping.values()}
    corpus = table(data / "benchmarks" / "corpus", ["qa_id", "unit", "split", "domain"])
    qas = table(data / "qa_dedup", ["qa_id", "url", "domain", "language", "position"])
    qas["group"] = qas.url.map(group_of_url)
    placed = corpus.merge(qas[["qa_id", "group"]], on="qa_id")
    groups = {}
    for group, rows in placed.dropna(subset=["group"]).groupby("group"):
        groups[group] = {"domains": int(rows.domain.nunique()), "qas": len(rows), "units": int(rows.unit.nunique()),
                         "splits": sorted(rows.split.unique().tolist())}
    contamination = json.loads((data / "benchmarks" / "_contamination.json").read_text())
    return {"groups": groups, "sweep": link_sweep(qas, data), "contamination": contamination,
            "stats": json.loads((data / "benchmarks" / "_stats.json").read_text())}


def link_sweep(qas, data: Path) -> list[dict]:
    """Precision and recall of the unit links (mutual best per language pair, other domains) by threshold."""
    config = UnitConfig()
    vectors = table(data / "qa_embeddings", ["qa_id", "question_embedding", "answer_embedding"])
    frame = qas.merge(vectors, on="qa_id")
    w = config.question_weight
    joined = np.hstack([np.stack(frame.question_embedding.to_numpy()) * np.sqrt(w),
                        np.stack(frame.answer_embedding.to_numpy()) * np.sqrt(1 - w)]).astype(np.float32)
    domains, languages = frame.domain.tolist(), frame.language.tolist()
    rows, cols, scores = best_per_language(joined, domains, joined, domains, languages)
    best = {(int(r), languages[int(c)]): (int(c), float(s)) for r, c, s in zip(rows, cols, scores, strict=True)}
    links = {}
    for (r, _), (c, score) in best.items():
        back = best.get((c, languages[r]))
        if back is not None and back[0] == r and r < c:
            links[(r, c)] = score
    group, position = frame.group.tolist(), frame.position.tolist()
    gold = set()
    by_key = defaultdict(list)
    for i, (g, p) in enumerate(zip(group, position, strict=True)):
        if isinstance(g, str):
            by_key[(g, p)].append(i)
    for members in by_key.values():
        gold |= {(a, b) for a in members for b in members if a < b and domains[a] != domains[b]}
    sweep = []
    for t in SWEEP:
        found = [(a, b) for (a, b), s in links.items()
                 if s >= (t if languages[a] != languages[b] else max(t, config.copy_threshold))]
        right = sum(1 for a, b in found if isinstance(group[a], str) and group[a] == group[b])
        sweep.append({"threshold": t, "links": len(found), "precision": right / len(found) if found else float("nan"),
                      "recall": len(gold & set(found)) / len(gold) if gold else float("nan"),
                      "default": abs(t - config.translation_threshold) < 1e-9})
    return sweep


def write(args, results: list[dict], real: dict | None, total: float) -> int:
    config = UnitConfig()
    lines = ["# Leaks between benchmark splits, against ground truth", "",
             f"Generated by `bench/leaks.py --sizes {' '.join(args.sizes)}{'' if real else ' --no-realfaq'}"
             f"{'' if args.reuse else ' --no-reuse'}` on "
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {total / 60:.1f} min. Unit rules and thresholds: "
             f"`faqmine.build_benchmarks.units` (translation {config.translation_threshold}, copy "
             f"{config.copy_threshold}, units above {config.max_unit_share:.0%} of the QAs to train).", ""]
    if results:
        lines += ["## Simulated crawls", "",
                  "Crawls: " + "; ".join(f"{r['label']} = `faqmine simulate --size {r['size']} --seed 1 "
                                         f"--faq-share 0.2 {r['sim_args']}`" for r in results)
                  + f". The experiment's settings are the first; `{REUSED}` is the deck before the leak-free "
                  "splits (`--question-sites 0`: every question re-dealt in each language to unrelated sites), "
                  "where splitting by site leaked most.", "",
                  "A dev/test QA leaks when the simulator's truth puts its XQuAD question in train in any language; "
                  "zero-shot: test QAs in a language outside training (" + ", ".join(
                      sorted(set("ar de el en es hi ro ru th tr vi zh".split()) - set(TRAINED)))
                  + ") whose question is in train in a training language.", "",
                  "| crawl | QAs simulated | split | test QAs | test leaked | zero-shot test QAs | zero-shot leaked | "
                  "dev QAs | dev leaked |", "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in results:
            for name, leaks in (("by site (old)", r["by_site"]), ("units + decontamination", r["units"])):
                test, dev = leaks["by_split"].get("test", {}), leaks["by_split"].get("dev", {})
                lines.append(
                    f"| {r['label']} | {r['qas']:,} | {name} | {test.get('qas', 0)} | {test.get('leaked', 0)} "
                    f"({100 * test.get('leaked_share', 0):.1f}%) | {test.get('zero_shot_qas', 0)} | "
                    f"{test.get('zero_shot_leaked_to_trained_languages', 0)} "
                    f"({100 * test.get('zero_shot_leaked_share', 0):.1f}%) | {dev.get('qas', 0)} | "
                    f"{dev.get('leaked', 0)} ({100 * dev.get('leaked_share', 0):.1f}%) |")
        lines += ["", "| crawl | units | largest unit (share, split) | oversized to train (QAs) | contaminated "
                  "dropped | base nDCG@10 pooled: mono | cross | lareqa |",
                  "| --- | ---: | --- | ---: | ---: | --- | --- | --- |"]
        for r in results:
            c = r["contamination"]
            top = c["largest_units"][0] if c["largest_units"] else {"share": 0, "split": "-"}
            cells = []
            for task in ("mono", "cross", "lareqa"):
                p = r["pooled"].get(task)
                cells.append(f"{p['ndcg@10']:.3f} ±{p['half_width']:.3f} ({p['queries']} q)" if p else "-")
            lines.append(f"| {r['label']} | {c['units']} | {top['share']:.1%}, {top['split']} | "
                         f"{c['oversized_units']['qas']} | {c['contaminated']} | " + " | ".join(cells) + " |")
        lines += ["", "Test and dev QAs per language (units + decontamination):", ""]
        for r in results:
            by = r["stats"]["by_language_split"]
            lines.append(f"- {r['label']}: " + ", ".join(
                f"{lang} {v.get('train', {}).get('queries', 0)}/{v.get('dev', {}).get('queries', 0)}/"
                f"{v.get('test', {}).get('queries', 0)}" for lang, v in sorted(by.items()))
                + " (train/dev/test queries)")
    if real:
        lines += ["", "## Real pages re-hosted on per-language domains (data/realfaq)", "",
                  "| translation group | domains | QAs in benchmarks | units | splits |",
                  "| --- | ---: | ---: | ---: | --- |"]
        for group, g in sorted(real["groups"].items()):
            lines.append(f"| {group} | {g['domains']} | {g['qas']} | {g['units']} | {', '.join(g['splits'])} |")
        whole = sum(1 for g in real["groups"].values() if g["units"] == 1)
        straddle = sum(1 for g in real["groups"].values() if len(g["splits"]) > 1)
        lines += ["", f"{whole} of {len(real['groups'])} groups in one unit; {straddle} straddle two splits.", "",
                  "Cross-site links by threshold (mutual best per language pair; a link between QAs of one "
                  "translation group is right; recall over the group's QA pairs at the same position; one-language "
                  f"links need at least the copy threshold {config.copy_threshold}):", "",
                  "| threshold | links | precision | recall |", "| ---: | ---: | ---: | ---: |"]
        for s in real["sweep"]:
            mark = " (default)" if s["default"] else ""
            lines.append(f"| {s['threshold']:.2f}{mark} | {s['links']} | {s['precision']:.3f} | {s['recall']:.3f} |")
    return common.write_report(args.out, lines + [""])


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--sizes", nargs="*", default=["20MB", "100MB"], help="simulated crawl sizes")
    parser.add_argument("--no-realfaq", dest="realfaq", action="store_false", help="skip the real pages")
    parser.add_argument("--no-reuse", dest="reuse", action="store_false", help="skip the 20MB crawl of the old deck "
                        "(questions re-dealt on unrelated sites)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--out", default=str(REPO / "bench" / "reports" / "leaks.md"))
    args = parser.parse_args(argv)
    settings = pipeline_env()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="faqmine-leaks-", dir=args.work) as tmp:
        sim_args = settings.get("SIM_ARGS", "")
        runs = [(size, size, sim_args) for size in args.sizes]
        if args.reuse:
            runs.append((REUSED, "20MB", OLD_DECK))
        results = [simulated(label, size, extra, Path(tmp), settings, args.master) for label, size, extra in runs]
        real = realfaq(Path(tmp), settings, args.master) if args.realfaq else None
    return write(args, results, real, time.time() - started)


if __name__ == "__main__":
    sys.exit(main())
