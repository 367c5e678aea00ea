"""Quality of language identification and deduplication on a simulated crawl, as a Markdown report.

    .venv/bin/python -m faqmine.cli simulate --out /tmp/sim --size 40MB --seed 1 --faq-share 0.6
    .venv/bin/python bench/quality_langid_dedup.py --sim /tmp/sim --data /tmp/sim-out

Runs what is missing of extract -> clean_langid -> dedup with spark-submit (outputs under
--data), then measures against the simulator's truth (SIM/truth/qa.parquet):

- LID: accuracy per language of the `qa` rows on QAs of 30+ characters (question + answer),
  the 12 XQuAD languages, with the confusion pairs; the same for the model alone (no page
  evidence) on the same texts; and how many truth QAs the cleaning and LID dropped.
- Dedup, pairs of QAs (within one language, the default scope) judged duplicates when they end
  in one cluster (qa_dedup + duplicates), Latin script vs CJK/Thai (and the other scripts):
  a) against the simulator's truth (exact copies and near-duplicate groups), all of it and the
     part whose exact Jaccard reaches the threshold (the rest, e.g. a sentence appended, is
     below what the threshold calls a near duplicate);
  b) against brute-force exact Jaccard (question and answer each >= threshold, the job's
     definition, see faqmine.dedup.features) over all pairs of a 5,000-QA sample of `qa`, and of a
     sample of the CJK/Thai QAs alone: the clusters of the job, and the LSH + verification
     pairs before clustering.

Writes the report to --report (default: <data>/quality_langid_dedup.md) and prints its path.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import common
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
XQUAD_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
SCRIPT_CLASS = {**{x: "latin" for x in ("de", "en", "es", "ro", "tr", "vi")}, "zh": "cjk_thai", "th": "cjk_thai",
                **{x: "other" for x in ("ar", "el", "hi", "ru")}}


def run_pipeline(sim: Path, data: Path, master: str) -> list[str]:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    steps = [
        ("qa_raw", ["jobs/extract.py", "--input", str(sim / "warc.paths.gz"), "--output", str(data / "qa_raw")]),
        ("qa", ["jobs/clean_langid.py", "--input", str(data / "qa_raw"), "--output", str(data / "qa")]),
        ("qa_dedup", ["jobs/dedup.py", "--input", str(data / "qa"), "--output", str(data / "qa_dedup"),
                      "--duplicates-output", str(data / "duplicates")]),
    ]
    commands = []
    for dataset, args in steps:
        command = ["spark-submit", "--master", master, "--driver-memory", "3g", *args]
        commands.append(" ".join(command))
        if not (data / dataset / "_stats.json").exists():
            subprocess.run(command, cwd=REPO, env=env, check=True)
    return commands


def _table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _pr(truth: set, found: set) -> tuple[float, float, int, int]:
    hit = len(truth & found)
    return (hit / len(found) if found else 1.0), (hit / len(truth) if truth else 1.0), len(truth), len(found)


# ------------------------------------------------------------------ LID


def langid_section(truth: list[dict], qa: list[dict], qa_raw_ids: set[str]) -> tuple[str, dict]:
    from faqmine.clean_langid.langid import LangIdConfig, default_model_path, identify, load_identifier

    by_id = {t["qa_id"]: t for t in truth}
    rows = [r for r in qa if r["qa_id"] in by_id and len(by_id[r["qa_id"]]["question"])
            + len(by_id[r["qa_id"]]["answer"]) >= 30]
    identifier = load_identifier(str(default_model_path()))
    model_only = identify(identifier, [r["question"] for r in rows], [r["answer"] for r in rows],
                          [r["page_title"] for r in rows], [None] * len(rows), [None] * len(rows),
                          LangIdConfig(use_declared=False, use_url=False))
    total, right, right_model = Counter(), Counter(), Counter()
    confusions, confusions_model = Counter(), Counter()
    for r, m in zip(rows, model_only, strict=True):
        gold = by_id[r["qa_id"]]["language"]
        total[gold] += 1
        right[gold] += r["language"] == gold
        right_model[gold] += m.language == gold
        if r["language"] != gold:
            confusions[(gold, r["language"])] += 1
        if m.language != gold:
            confusions_model[(gold, m.language or "uncertain")] += 1
    qa_ids = {r["qa_id"] for r in qa}
    extracted = [t for t in truth if t["qa_id"] in qa_raw_ids]
    dropped = Counter(t["language"] for t in extracted if t["qa_id"] not in qa_ids)
    table = []
    for language in XQUAD_LANGUAGES:
        if total[language]:
            table.append([language, total[language], f"{right[language] / total[language]:.4f}",
                          f"{right_model[language] / total[language]:.4f}",
                          sum(1 for t in extracted if t["language"] == language), dropped[language]])
    n = sum(total.values())
    overall = sum(right.values()) / n
    overall_model = sum(right_model.values()) / n
    worst = min(right[x] / total[x] for x in total)
    text = [
        "## Language identification",
        "",
        f"{n} QAs of `qa` with 30+ characters matched to the truth by qa_id. *pipeline*: the `language` column "
        "(fastText lid.176.ftz on question + answer + title, the page's declared and URL language accepted at "
        "score >= 0.12, else the top label at >= 0.25). *model only*: the top label on the same texts, no page "
        "evidence. *extracted*: truth QAs found in `qa_raw`; *dropped*: of those, not in `qa` (cleaning rules "
        "or language_uncertain).",
        "",
        _table(table, ["language", "QAs", "accuracy (pipeline)", "accuracy (model only)", "extracted", "dropped"]),
        "",
        f"Overall: pipeline {overall:.4f}, model only {overall_model:.4f}; lowest language (pipeline) {worst:.4f} "
        f"(target >= 0.97 for every language).",
        "",
        "Confusion pairs (truth -> predicted), pipeline: "
        + (", ".join(f"{a}->{b} {c}" for (a, b), c in confusions.most_common(15)) or "none"),
        "",
        "Confusion pairs, model only: "
        + (", ".join(f"{a}->{b} {c}" for (a, b), c in confusions_model.most_common(15)) or "none"),
        "",
    ]
    return "\n".join(text), {"overall": overall, "worst": worst, "overall_model": overall_model,
                             "per_language": {x: right[x] / total[x] for x in total}}


# ------------------------------------------------------------------ dedup


def _cluster_pairs(members_by_cluster: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for members in members_by_cluster.values() for p in combinations(sorted(members), 2)}


def _truth_pairs(truth: list[dict], keep: set[str]) -> set[tuple[str, str]]:
    """Pairs of the simulator's duplicate groups (exact copies and near-duplicate groups, joined)."""
    from helpers.components import union_find

    edges, groups = [], defaultdict(list)
    language = {t["qa_id"]: t["language"] for t in truth}
    for t in truth:
        if t["qa_id"] not in keep:
            continue
        if t["is_exact_dup_of"] and t["is_exact_dup_of"] in keep:
            edges.append((t["qa_id"], t["is_exact_dup_of"]))
        if t["near_dup_group"]:
            groups[t["near_dup_group"]].append(t["qa_id"])
    edges += [(members[0], other) for members in groups.values() for other in members[1:]]
    clusters = defaultdict(list)
    for x, component in union_find(edges).items():
        clusters[component].append(x)
    return {p for p in _cluster_pairs(clusters) if language[p[0]] == language[p[1]]}


def _brute_force(sample: list[dict], language: dict, config, cluster_of: dict, name: str):
    """(script class, table row, (precision, recall) of clusters and of LSH pairs) against exact Jaccard."""
    from helpers.jaccard import brute_force_pairs

    from faqmine.dedup.features import pair_similarity, qa_features
    from faqmine.dedup.shingles import qa_shingle_sets

    ids = [r["qa_id"] for r in sample]
    sets = [qa_shingle_sets(r["question"], r["answer"], config.shingles) for r in sample]
    feats = qa_features([r["question"] for r in sample], [r["answer"] for r in sample], config)
    same_key = defaultdict(list)
    for i, k in enumerate(feats.exact_keys):
        same_key[(language[ids[i]], k)].append(i)
    exact_pairs = {p for m in same_key.values() for p in combinations(m, 2)}
    truth = brute_force_pairs([s[0] for s in sets], config.threshold)
    truth &= brute_force_pairs([s[1] for s in sets], config.threshold)
    truth = {(i, j) for i, j in truth if language[ids[i]] == language[ids[j]]} | exact_pairs
    buckets = defaultdict(list)
    for i, row in enumerate(feats.bands):
        if not feats.empty[i]:
            for band, key in enumerate(row):
                buckets[(language[ids[i]], band, int(key))].append(i)
    candidates = {p for m in buckets.values() for p in combinations(m, 2)}
    lsh_pairs = {(i, j) for i, j in candidates
                 if pair_similarity(feats.signatures[i], feats.signatures[j], config.num_perm)[0] >= config.threshold}
    lsh_pairs |= exact_pairs
    classes = {SCRIPT_CLASS.get(language[x]) for x in ids}
    by_cluster = defaultdict(list)
    for i, x in enumerate(ids):
        by_cluster[cluster_of[x]].append(i)
    cluster_pairs = {p for m in by_cluster.values() for p in combinations(m, 2)}
    for cls in ("latin", "cjk_thai", "other", "all"):
        def pick(pairs: set, cls: str = cls) -> set:
            return {p for p in pairs if cls == "all" or SCRIPT_CLASS.get(language[ids[p[0]]]) == cls}
        if (cls != "all" and not pick(truth)) or (cls == "all" and len(classes) == 1):
            continue
        pc, rc, n_truth, n_c = _pr(pick(truth), pick(cluster_pairs))
        pl, rl, _, n_l = _pr(pick(truth), pick(lsh_pairs))
        yield cls, [name, cls, n_truth, n_c, n_l, f"{pc:.4f}", f"{rc:.4f}", f"{pl:.4f}", f"{rl:.4f}"], (pc, rc, pl, rl)


def dedup_section(truth: list[dict], qa: list[dict], kept: list[dict], dups: list[dict], stats: dict,
                  sample_size: int) -> tuple[str, dict]:
    from faqmine.dedup.features import DedupConfig
    from faqmine.dedup.shingles import jaccard, qa_shingle_sets

    config = DedupConfig(threshold=stats["threshold"], num_perm=stats["num_perm"], seed=stats["seed"])
    representative = {d["qa_id"]: d["representative_qa_id"] for d in dups}
    cluster_of = {r["qa_id"]: representative.get(r["qa_id"], r["qa_id"]) for r in qa}
    language = {r["qa_id"]: r["language"] for r in qa}
    text = {r["qa_id"]: (r["question"], r["answer"]) for r in qa}
    members = defaultdict(list)
    for x, c in cluster_of.items():
        members[c].append(x)
    found = _cluster_pairs(members)

    # a) the simulator's truth
    in_qa = {t["qa_id"] for t in truth} & set(cluster_of)
    truth_pairs = _truth_pairs(truth, in_qa)
    shingled = {}

    def sim(pair: tuple[str, str]) -> float:
        for x in pair:
            if x not in shingled:
                shingled[x] = qa_shingle_sets(*text[x], config.shingles)
        (qa_, aa), (qb, ab) = shingled[pair[0]], shingled[pair[1]]
        return min(jaccard(qa_, qb), jaccard(aa, ab))

    above = {p for p in truth_pairs if sim(p) >= config.threshold}
    found_in_truth = {p for p in found if p[0] in in_qa and p[1] in in_qa}
    rows_a, results = [], {}
    for cls in ("latin", "cjk_thai", "other", "all"):
        def pick(pairs: set, cls: str = cls) -> set:
            return {p for p in pairs if cls == "all" or SCRIPT_CLASS.get(language[p[0]]) == cls}
        p_all, r_all, n_all, _ = _pr(pick(truth_pairs), pick(found_in_truth))
        p_above, r_above, n_above, n_found = _pr(pick(above), pick(found_in_truth))
        results[f"sim_{cls}"] = (p_all, r_all, p_above, r_above)
        rows_a.append([cls, n_all, f"{p_all:.4f}", f"{r_all:.4f}", n_above, f"{r_above:.4f}", n_found])

    # b) brute force over samples
    everything = sorted(qa, key=lambda r: hashlib.sha1(r["qa_id"].encode()).hexdigest())
    rows_b = []
    cjk_thai = [r for r in everything if SCRIPT_CLASS.get(r["language"]) == "cjk_thai"]
    samples = [("all languages", everything[:sample_size]), ("CJK/Thai only", cjk_thai[:sample_size])]
    for name, sample in samples:
        for cls, row, measured in _brute_force(sample, language, config, cluster_of, name):
            results[f"bf_{name.split()[0].lower()}_{cls}"] = measured
            rows_b.append(row)
    sample_languages = Counter(r["language"] for r in samples[0][1])
    out = [
        "## Near-duplicate detection",
        "",
        f"Job settings: threshold {config.threshold}, num_perm {config.num_perm}, {stats['bands']} bands x "
        f"{stats['rows']} rows, scope {stats['scope']}, word {config.shingles.word_ngram}-grams / character "
        f"{config.shingles.char_ngram}-grams. Job counts: in {stats['in']}, out {stats['out']}, "
        f"dropped {stats['dropped']}, candidate pairs {stats['candidate_pairs']}, verified "
        f"{stats['verified_pairs']}, oversized buckets {stats['oversized_buckets']}, "
        f"components rounds {stats['cc_iterations']}.",
        "",
        "A pair of QAs (same language) counts as found when both end in one cluster (a qa_dedup row and "
        "the duplicates pointing at it).",
        "",
        "### a) Against the simulator's truth",
        "",
        "Truth pairs: QAs linked by the simulator's exact copies (is_exact_dup_of) and near-duplicate "
        "groups, restricted to QAs that reached `qa`. *>= threshold*: the truth pairs whose questions and "
        "answers both reach the threshold in exact Jaccard of shingle sets; edits such as an appended "
        "sentence make copies below it, which the threshold by definition does not call near duplicates.",
        "",
        _table(rows_a, ["script", "truth pairs", "precision", "recall", "truth pairs >= threshold",
                        "recall (>= threshold)", "found pairs"]),
        "",
        "### b) Against brute-force exact Jaccard",
        "",
        f"All pairs of deterministic samples of `qa`: {len(samples[0][1])} QAs of all languages "
        f"({dict(sample_languages.most_common())}) and {len(samples[1][1])} CJK/Thai QAs. Truth: exact "
        f"Jaccard of the question sets and of the answer sets both >= {config.threshold}, same language "
        "(or equal exact keys). *clusters*: pairs in one cluster of the job's output (connected components "
        "join pairs that are each similar while the ends need not be). *LSH pairs*: the same banding and "
        "estimated-Jaccard verification in memory, plus equal exact keys, before clustering.",
        "",
        _table(rows_b, ["sample", "script", "truth pairs", "cluster pairs", "LSH pairs", "precision (clusters)",
                        "recall (clusters)", "precision (LSH)", "recall (LSH)"]),
        "",
    ]
    return "\n".join(out), results


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--sim", required=True, type=Path, help="simulated crawl folder (faqmine simulate --out)")
    parser.add_argument("--data", required=True, type=Path, help="folder for qa_raw, qa, qa_dedup, duplicates")
    parser.add_argument("--sample", type=int, default=5000, help="QAs in the brute-force sample")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--report", type=Path, default=None)
    args = parser.parse_args(argv)

    commands = run_pipeline(args.sim, args.data, args.master)
    truth = pq.read_table(args.sim / "truth" / "qa.parquet").to_pylist()
    qa_raw_ids = set(pq.read_table(args.data / "qa_raw", columns=["qa_id"]).column("qa_id").to_pylist())
    qa = pq.read_table(args.data / "qa").to_pylist()
    kept = pq.read_table(args.data / "qa_dedup").to_pylist()
    dups = pq.read_table(args.data / "duplicates").to_pylist()
    stats = json.loads((args.data / "qa_dedup" / "_stats.json").read_text())
    clean_stats = json.loads((args.data / "qa" / "_stats.json").read_text())

    lid_text, lid = langid_section(truth, qa, qa_raw_ids)
    dedup_text, dedup = dedup_section(truth, qa, kept, dups, stats, args.sample)
    simulation = json.loads((args.sim / "simulation.json").read_text())
    report = "\n".join([
        "# Language identification and deduplication quality",
        "",
        f"Simulated crawl `{args.sim}` (seed {simulation['config']['seed']}, {simulation['qas']} QAs in "
        f"{len(simulation['qas_by_language'])} languages); pipeline outputs under `{args.data}`:",
        "",
        *[f"    {c}" for c in commands],
        "",
        f"clean_langid: in {clean_stats['in']}, out {clean_stats['out']}, dropped {clean_stats['dropped']}.",
        "",
        lid_text,
        dedup_text,
    ])
    path = args.report or args.data / "quality_langid_dedup.md"
    path.write_text(report + "\n", encoding="utf-8")
    print(report)
    print(f"\nreport written to {path}")
    print(json.dumps({"lid_worst": lid["worst"], "lid_overall": lid["overall"],
                      **{k: [round(x, 4) for x in v] for k, v in dedup.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
