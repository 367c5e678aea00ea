"""The clean + language-id stage on Spark: qa_raw rows in, qa rows out, every drop counted by reason.

`mapInArrow` hands whole Arrow batches to `clean_langid_batch`, which cleans each pair
(faqmine.clean_langid.cleaning), then predicts the language of the batch's surviving pairs in one fastText
call with a model loaded once per Python worker (faqmine.clean_langid.langid.load_identifier). Each output
row carries its drop reason (null when kept); the driver counts reasons and languages from the
persisted result, so the stats are exact, then the kept rows are written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from faqmine.clean_langid.batch import EVIDENCE_COLUMN, REASON_COLUMN, REPAIRS_COLUMN, clean_langid_batch, output_schema
from faqmine.clean_langid.cleaning import CleaningConfig
from faqmine.clean_langid.langid import LangIdConfig, default_model_path, load_identifier
from faqmine.core.schemas import load_schema
from faqmine.core.stats import StageStats
from faqmine.spark.stage import DatasetArg, Stage, StageOutput

JOB = "clean_langid"
# A total order of qa rows (qa_id alone repeats when one page is captured twice) for reproducible files.
OUTPUT_ORDER = ("language", "qa_id", "crawl", "warc_file", "warc_record_offset", "position")


@dataclass
class CleanLangIdResult:
    qa: DataFrame  # the kept rows in the qa schema
    stats: StageStats
    by_language: dict[str, int]  # QAs kept per language, most first
    persisted: DataFrame  # unpersist after writing

    def summary(self, **extra) -> dict:
        """The _stats.json record: balanced counts, counters, and `by_language`."""
        return self.stats.to_dict(by_language=self.by_language, **extra)


def run_clean_langid(
    qa_raw: DataFrame, cleaning: CleaningConfig | None = None, langid: LangIdConfig | None = None
) -> CleanLangIdResult:
    """Clean and language-tag qa_raw; the counts are taken from the persisted result before writing."""
    cleaning = cleaning or CleaningConfig()
    langid = langid or LangIdConfig()
    schema = output_schema()
    qa_names = load_schema("qa").names
    load_identifier(langid.resolved_model_path())  # fail on the driver, before any task, if the model is missing

    def process(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield clean_langid_batch(batch, cleaning, langid)

    out = qa_raw.mapInArrow(process, from_arrow_schema(schema)).persist(StorageLevel.MEMORY_AND_DISK)
    stats = StageStats(JOB)
    by_language: Counter = Counter()
    for row in out.groupBy(REASON_COLUMN, "language", EVIDENCE_COLUMN, REPAIRS_COLUMN).count().collect():
        n = row["count"]
        if row[REASON_COLUMN] is None:
            stats.kept(n)
            by_language[row["language"]] += n
            stats.count(f"langid_by_{row[EVIDENCE_COLUMN]}", n)
        else:
            stats.drop(row[REASON_COLUMN], n)
        for repair in (row[REPAIRS_COLUMN] or "").split(","):
            if repair:
                stats.count(f"repaired_{repair}", n)
    stats.counters["languages"] = len(by_language)
    ordered = dict(sorted(by_language.items(), key=lambda kv: (-kv[1], kv[0])))
    qa = out.where(F.col(REASON_COLUMN).isNull()).select(*qa_names)
    return CleanLangIdResult(qa, stats, ordered, out)


@dataclass(frozen=True)
class CleanLangIdConfig:
    """The stage's knobs: the cleaning rules, then language identification."""

    cleaning: CleaningConfig = field(default_factory=CleaningConfig)
    langid: LangIdConfig = field(default_factory=LangIdConfig)


class CleanLangId(Stage):
    """`qa_raw` -> `qa`: cleaning rules, then the language of every kept QA."""

    name, config_type = JOB, CleanLangIdConfig
    description = "Clean qa_raw QA pairs and identify their language into qa."
    inputs = (DatasetArg("input", "qa_raw", "qa_raw dataset folder"),)
    outputs = (DatasetArg("output", "qa", "qa dataset folder to write (replaced atomically)"),)

    def configure(self, args, parser) -> CleanLangIdConfig:
        config = super().configure(args, parser)
        langid = replace(config.langid, model_path=config.langid.model_path or str(default_model_path()),
                         use_url=config.langid.use_declared)  # --no-page-evidence switches off both
        return replace(config, langid=langid)

    def run(self, spark, inputs, config, args) -> StageOutput:
        result = run_clean_langid(inputs["input"], config.cleaning, config.langid)
        summary = result.summary(lid_model=config.langid.model_path)
        return StageOutput(writes={"output": (result.qa.sortWithinPartitions(*OUTPUT_ORDER), summary)},
                           persisted=[result.persisted])
