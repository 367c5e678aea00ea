"""The dataset card of a run: `<data root>/README.md` in the Hugging Face dataset-card form, with plots.

What a user looks at first after a crawl. The card holds

- YAML front matter as the Hub reads it: languages found, size category, task categories,
  license (`other`, with the note that the text belongs to the pages' publishers), one
  `configs` entry per dataset so `datasets.load_dataset` finds the Parquet files;
- tables: the datasets with their balance, QAs per language, QAs per markup type, drop
  reasons per stage, duplicate rates per stage and per language;
- PNG plots of the same tables under `<data root>/card/`.

Everything is read from the datasets on disk (`_stats.json` files, DuckDB counts over the
Parquet files) and the run record `_run.json`; any subset of the pipeline's datasets works.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from faqmine.core.stats import read_stats
from faqmine.run.pipeline import STAGES, read_run_record

CARD_DIR = "card"
LICENSE_LINK = "https://commoncrawl.org/terms-of-use"
# The datasets a card describes, in pipeline order; other folders with a _stats.json follow.
ORDER = ["qa_raw", "qa", "qa_dedup", "duplicates", "benchmarks", "bitext", "hard_negatives"]
MAIN = ["qa_dedup", "qa", "qa_raw"]  # the first that exists is the dataset the card is about
_LANG = re.compile(r"^[a-z]{2,3}$")
_SIZES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
          (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]


def size_category(n: int) -> str:
    """The Hub's size_categories value for n rows."""
    for bound, label in _SIZES:
        if n < bound:
            return label
    return "n>1B"


@dataclass
class Dataset:
    name: str
    folder: Path
    stats: dict
    rows: int

    @property
    def glob(self) -> str:
        return str(self.folder / "**" / "*.parquet").replace("'", "''")


@dataclass
class CardData:
    root: Path
    datasets: dict[str, Dataset]
    crawls: list[str]
    run: dict | None
    per_language: dict[str, dict[str, int]] = field(default_factory=dict)  # dataset -> language -> rows
    per_markup: dict[str, dict[str, int]] = field(default_factory=dict)  # dataset -> markup -> rows
    duplicates_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def main(self) -> Dataset | None:
        return next((self.datasets[n] for n in MAIN if n in self.datasets), None)


def _count_by(dataset: Dataset, column: str) -> dict[str, int]:
    if dataset.rows == 0:
        return {}
    rel = duckdb.sql(f"SELECT coalesce(CAST({column} AS VARCHAR), '(none)') AS k, count(*) AS n "
                     f"FROM read_parquet('{dataset.glob}', hive_partitioning=true) GROUP BY ALL ORDER BY n DESC, k")
    return dict(rel.fetchall())


def _has_column(dataset: Dataset, column: str) -> bool:
    if dataset.rows == 0:
        return False
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{dataset.glob}', hive_partitioning=true) LIMIT 0")
    return column in rel.columns


def _rows(stats: dict) -> int:
    return int(stats.get("rows_out", stats.get("out", 0)))


def load(root: Path) -> CardData:
    """Read what the card shows from the datasets under root."""
    found = {p.parent.name: p.parent for p in root.glob("*/_stats.json")}
    names = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
    datasets = {}
    for name in names:
        stats = read_stats(found[name])
        datasets[name] = Dataset(name, found[name], stats, _rows(stats))
    run = read_run_record(root)
    crawls = sorted(p.name.split("=", 1)[1] for p in (root / "qa_raw").glob("crawl=*")) if "qa_raw" in datasets else []
    if not crawls and run and run.get("crawl"):
        crawls = [run["crawl"]]
    data = CardData(root=root, datasets=datasets, crawls=crawls, run=run)
    for name, ds in datasets.items():
        if name == "duplicates":
            if _has_column(ds, "kind"):
                data.duplicates_by_kind = _count_by(ds, "kind")
            continue
        if _has_column(ds, "language"):
            data.per_language[name] = _count_by(ds, "language")
        if _has_column(ds, "markup"):
            data.per_markup[name] = _count_by(ds, "markup")
    return data


def languages(data: CardData) -> list[str]:
    """ISO 639 codes of the main dataset's languages (qa_raw alone: the declared page languages' primary tags)."""
    for name in MAIN:
        if name in data.per_language:
            return sorted(k for k in data.per_language[name] if _LANG.match(k))
    if "qa_raw" in data.datasets and _has_column(data.datasets["qa_raw"], "page_language"):
        primary = {re.split(r"[-_]", k)[0].lower() for k in _count_by(data.datasets["qa_raw"], "page_language")}
        return sorted(k for k in primary if _LANG.match(k))
    return []


# ---------------------------------------------------------------- tables


def _table(headers: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        if isinstance(v, float):
            return f"{v:.1%}" if v <= 1 else f"{v:,.1f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v).replace("|", "\\|")

    numeric = [bool(rows) and all(isinstance(r[i], int | float) for r in rows) for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join("---:" if right else "---" for right in numeric) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def datasets_table(data: CardData) -> str:
    rows = []
    for ds in data.datasets.values():
        dropped = sum(ds.stats.get("dropped", {}).values())
        rows.append([f"`{ds.name}`", ds.stats.get("job", "?"), int(ds.stats.get("in", 0)),
                     int(ds.stats.get("out", 0)), dropped, ds.rows])
    return _table(["dataset", "written by", "in", "out", "dropped", "rows"], rows)


def language_rows(data: CardData) -> tuple[list[str], list[list]]:
    columns = [n for n in ("qa", "qa_dedup") if n in data.per_language] or list(data.per_language)[:2]
    langs = sorted({k for n in columns for k in data.per_language[n]},
                   key=lambda k: (-max(data.per_language[n].get(k, 0) for n in columns), k))
    headers = ["language"] + [f"`{n}` QAs" for n in columns]
    rows = []
    dedup_rate = "qa" in columns and "qa_dedup" in columns
    if dedup_rate:
        headers.append("duplicate rate")
    for lang in langs:
        row: list = [lang] + [data.per_language[n].get(lang, 0) for n in columns]
        if dedup_rate:
            before = data.per_language["qa"].get(lang, 0)
            row.append((before - data.per_language["qa_dedup"].get(lang, 0)) / before if before else 0.0)
        rows.append(row)
    return headers, rows


def markup_rows(data: CardData) -> tuple[list[str], list[list]]:
    columns = [n for n in ("qa_raw", "qa", "qa_dedup") if n in data.per_markup]
    markups = sorted({k for n in columns for k in data.per_markup[n]})
    return (["markup"] + [f"`{n}` QAs" for n in columns],
            [[m] + [data.per_markup[n].get(m, 0) for n in columns] for m in markups])


def _stage_stats(data: CardData) -> list[tuple[str, dict]]:
    """(stage, stats) in pipeline order: each stage's main output carries its stats."""
    out = []
    for s in STAGES:
        if s.outputs[0] in data.datasets:
            out.append((s.name, data.datasets[s.outputs[0]].stats))
    known = {o for s in STAGES for o in s.outputs}
    for name, ds in data.datasets.items():
        if name not in known:
            out.append((ds.stats.get("job", name), ds.stats))
    return out


def drop_rows(data: CardData) -> list[list]:
    rows = []
    for stage, stats in _stage_stats(data):
        total = int(stats.get("in", 0))
        for reason, n in sorted(stats.get("dropped", {}).items(), key=lambda kv: -kv[1]):
            rows.append([stage, reason, int(n), n / total if total else 0.0])
    return rows


def stage_outputs(name: str) -> tuple[str, ...]:
    return next((s.outputs for s in STAGES if s.name == name), ())


def duplicate_rows(data: CardData) -> list[list]:
    """[stage, what, duplicates, of, rate]: every duplicate count a stage reports, over what it was counted in."""
    rows = []
    for stage, stats in _stage_stats(data):
        if "qa_duplicate_on_page" in stats:
            n = int(stats["qa_duplicate_on_page"])
            of = _rows(stats) + n
            rows.append([stage, "same QA twice on one page (kept once)", n, of, n / of if of else 0.0])
        total = int(stats.get("in", 0))
        listed = data.duplicates_by_kind and "duplicates" in stage_outputs(stage)
        for reason, n in sorted(stats.get("dropped", {}).items()):
            if "dup" in reason and not listed:
                rows.append([stage, reason, int(n), total, n / total if total else 0.0])
    if data.duplicates_by_kind and "qa" in data.datasets:
        total = data.datasets["qa"].rows
        for kind, n in data.duplicates_by_kind.items():
            rows.append(["dedup", f"{kind} duplicate (listed in `duplicates`)", n, total, n / total if total else 0.0])
    return rows


# ---------------------------------------------------------------- plots


def _grouped_bars(ax, labels: list[str], series: dict[str, list[int]]) -> None:
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        ax.bar([x + i * width for x in range(len(labels))], values, width, label=name)
    ax.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(labels))], labels)
    ax.set_ylabel("QAs")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))


def _plots(data: CardData, out: Path) -> dict[str, str]:
    """Write the PNG plots; returns title -> path relative to the card."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}

    def save(fig, name: str, title: str) -> None:
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        made[title] = f"{CARD_DIR}/{name}"

    headers, rows = language_rows(data)
    if rows:
        fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * len(rows) + 2), 3.6))
        series = [h for h in headers[1:] if h.endswith("QAs")]
        _grouped_bars(ax, [r[0] for r in rows], {h.split("`")[1]: [r[1 + i] for r in rows]
                                                 for i, h in enumerate(series)})
        ax.set_title("QAs per language")
        save(fig, "qas_per_language.png", "QAs per language")
    headers, rows = markup_rows(data)
    if rows:
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        _grouped_bars(ax, [r[0] for r in rows], {h.split("`")[1]: [r[1 + i] for r in rows]
                                                 for i, h in enumerate(headers[1:])})
        ax.set_title("QAs per markup type")
        save(fig, "qas_per_markup.png", "QAs per markup type")
    rows = drop_rows(data)
    if rows:
        fig, ax = plt.subplots(figsize=(7, max(2.5, 0.32 * len(rows) + 1)))
        labels = [f"{r[0]}: {r[1]}" for r in rows]
        ax.barh(range(len(rows)), [r[2] for r in rows], color="tab:red")
        ax.set_yticks(range(len(rows)), labels)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("records dropped (log scale)")
        ax.set_title("Drop reasons per stage")
        save(fig, "drop_reasons.png", "Drop reasons per stage")
    rows = duplicate_rows(data)
    lang_headers, lang_rows = language_rows(data)
    if rows or (lang_headers and lang_headers[-1] == "duplicate rate"):
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
        if rows:
            axes[0].barh(range(len(rows)), [100 * r[4] for r in rows], color="tab:orange")
            axes[0].set_yticks(range(len(rows)), [f"{r[0]}: {r[1]}" for r in rows])
            axes[0].invert_yaxis()
        axes[0].set_xlabel("% of the stage's input")
        axes[0].set_title("Duplicate rates per stage")
        if lang_headers and lang_headers[-1] == "duplicate rate":
            axes[1].bar([r[0] for r in lang_rows], [100 * r[-1] for r in lang_rows], color="tab:orange")
        axes[1].set_ylabel("% of qa removed by dedup")
        axes[1].set_title("Duplicate rate per language")
        save(fig, "duplicate_rates.png", "Duplicate rates")
    return made


# ---------------------------------------------------------------- the card


def _yaml_list(key: str, values: list[str]) -> list[str]:
    if not values:
        return [f"{key}: []"]
    return [f"{key}:"] + [f"- {json.dumps(v, ensure_ascii=False)}" for v in values]


def front_matter(data: CardData) -> str:
    langs = languages(data)
    main = data.main
    tasks = ["question-answering", "text-retrieval", "sentence-similarity"]
    if "bitext" in data.datasets:
        tasks.append("translation")
    crawl_text = ", ".join(data.crawls) or "local WARC files"
    lines = ["---", f"pretty_name: {json.dumps(f'faqmine FAQ question-answer pairs ({crawl_text})')}"]
    lines += _yaml_list("language", langs)
    lines += [f"multilinguality: {'multilingual' if len(langs) > 1 else 'monolingual'}"]
    lines += _yaml_list("size_categories", [size_category(main.rows if main else 0)])
    lines += _yaml_list("task_categories", tasks)
    lines += _yaml_list("task_ids", ["document-retrieval", "open-domain-qa"])
    lines += _yaml_list("source_datasets", ["original"])
    lines += ["license: other", "license_name: web-content-common-crawl", f"license_link: {LICENSE_LINK}"]
    lines += _yaml_list("tags", ["faq", "schema.org", "common-crawl", "faqmine"])
    configs = [n for n in ("qa_dedup", "qa", "qa_raw", "duplicates") if n in data.datasets and data.datasets[n].rows]
    if configs:
        lines.append("configs:")
        for i, name in enumerate(configs):
            lines += [f"- config_name: {name}", "  data_files:", "  - split: train",
                      f"    path: {json.dumps(f'{name}/**/*.parquet')}"]
            if i == 0:
                lines.append("  default: true")
    lines.append("---")
    return "\n".join(lines)


def contamination_section(root: Path) -> list[str]:
    """The benchmarks' split units and cross-split closeness, from benchmarks/_contamination.json."""
    path = root / "benchmarks" / "_contamination.json"
    if not path.is_file():
        return []
    report = json.loads(path.read_text(encoding="utf-8"))
    oversized = report["oversized_units"]
    lines = ["", "## Benchmark splits and contamination", "",
             f"Splits are by unit, not by page: a site, the sites holding translations (QA similarity at least "
             f"{report['translation_threshold']}) or near copies (at least {report['copy_threshold']}) of its QAs, "
             f"and the sites of its removed duplicates form one unit, and every QA of a unit is in one split. "
             f"{report['qas']:,} QAs form {report['units']:,} units ({report['single_domain_units']:,} of one site); "
             f"{oversized['units']} unit(s) above {report['max_unit_share']:.0%} of the QAs ({oversized['qas']:,} "
             f"QAs) went to {oversized['went_to']} whole. {report['contaminated']} dev/test QA(s) still close to "
             "train after the split were dropped as `contaminated`.", ""]
    rows = [[pair, v["checked"], v["above_threshold"], "yes" if v["dropped"] else "no (reported)"]
            for pair, v in report.get("split_pairs", {}).items()]
    if rows:
        lines += [_table(["earlier -> later split", "QAs checked", "closer than the threshold", "dropped"], rows),
                  ""]
    largest = [[u["unit"], u["domains"], u["qas"], f"{u['share']:.1%}", ", ".join(u["languages"]), u["split"]]
               for u in report.get("largest_units", [])[:5]]
    if largest:
        lines += ["Largest units:", "", _table(["unit", "sites", "QAs", "share", "languages", "split"], largest)]
    return lines


def render(data: CardData, plots: dict[str, str]) -> str:
    main = data.main
    main_name = main.name if main else "qa_dedup"
    crawl_text = ", ".join(f"`{c}`" for c in data.crawls) or "local WARC files"
    langs = languages(data)
    parts = [front_matter(data), "", f"# faqmine FAQ question-answer pairs — {crawl_text}", ""]
    if main:
        parts.append(f"Question-answer pairs published as schema.org `FAQPage` markup (JSON-LD, Microdata, RDFa) "
                     f"on web pages of {crawl_text}, extracted and processed by faqmine "
                     "(extraction, cleaning, language identification, deduplication). "
                     f"The main dataset, `{main.name}`, holds **{main.rows:,} QAs** "
                     f"in **{len(langs)} language{'s' if len(langs) != 1 else ''}**.")
    else:
        parts.append("No dataset of the pipeline was found under this data root yet.")
    if data.run:
        params = data.run.get("params", {})
        shown = {k: params[k] for k in ("crawl", "warc_input", "max_files", "spark_master") if params.get(k)}
        if shown:
            parts += ["", "Run parameters: " + ", ".join(f"`{k}={v}`" for k, v in shown.items()) + "."]
    parts += ["", "## Datasets", "",
              "Every dataset is a folder of Parquet files under this folder, with a `_stats.json` in which "
              "`in == out + sum(dropped)`: every record a stage did not keep is counted under a reason.", "",
              datasets_table(data)]
    headers, rows = language_rows(data)
    if rows:
        parts += ["", "## QAs per language", "", _table(headers, rows)]
        if "QAs per language" in plots:
            parts += ["", f"![QAs per language]({plots['QAs per language']})"]
    headers, rows = markup_rows(data)
    if rows:
        parts += ["", "## QAs per markup type", "", _table(headers, rows)]
        if "QAs per markup type" in plots:
            parts += ["", f"![QAs per markup type]({plots['QAs per markup type']})"]
    rows = drop_rows(data)
    parts += ["", "## Drop reasons per stage", ""]
    parts.append(_table(["stage", "reason", "dropped", "share of the stage's input"], rows) if rows
                 else "No record was dropped.")
    if "Drop reasons per stage" in plots:
        parts += ["", f"![Drop reasons per stage]({plots['Drop reasons per stage']})"]
    rows = duplicate_rows(data)
    parts += ["", "## Duplicate rates per stage", ""]
    parts.append(_table(["stage", "duplicates", "count", "of", "rate"], rows) if rows
                 else "No duplicate counts reported yet.")
    if "Duplicate rates" in plots:
        parts += ["", f"![Duplicate rates]({plots['Duplicate rates']})"]
    parts += contamination_section(data.root)
    parts += ["", "## Using the data", "", "```python",
              "import duckdb",
              f"duckdb.sql(\"SELECT language, count(*) FROM read_parquet('{main_name}/**/*.parquet', "
              "hive_partitioning=true) GROUP BY ALL\").show()",
              "", "from datasets import load_dataset",
              f"qa = load_dataset(\"parquet\", data_files=\"{main_name}/**/*.parquet\")",
              "```", "",
              "Each row keeps its provenance (`url`, `domain`, `crawl`, `warc_file`, `warc_record_offset`), so any "
              "QA can be traced back to the bytes it came from; column meanings are in faqmine's `schemas/`.",
              "", "## License", "",
              "The text of the QAs belongs to the publishers of the web pages it was taken from, as captured by "
              f"Common Crawl; faqmine adds no license to it. Use of this data is subject to the [Common Crawl terms "
              f"of use]({LICENSE_LINK}) and to the rights of the original publishers; it is meant for research on "
              "retrieval and question answering. The metadata and statistics of this card may be used freely.", ""]
    return "\n".join(parts)


def write_card(root: str | Path, out: str | Path | None = None) -> Path:
    """Write `<out>/README.md` (default out: the data root) and its plots under `<out>/card/`."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data root {root} is not a folder")
    out = Path(out) if out else root
    data = load(root)
    plots = _plots(data, out / CARD_DIR) if data.datasets else {}
    target = out / "README.md"
    tmp = out / f".README.md.{uuid.uuid4().hex[:8]}"
    tmp.write_text(render(data, plots), encoding="utf-8")
    tmp.replace(target)
    return target

