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
from dataclasses import dataclass

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from faqmine.clean_langid.cleaning import CleaningConfig, clean_qa
from faqmine.clean_langid.langid import DROP_UNCERTAIN, LangIdConfig, load_identifier, qa_script
from faqmine.clean_langid.langid import identify as identify_languages
from faqmine.core.schemas import load_schema
from faqmine.core.stats import StageStats

JOB = "clean_langid"
REASON_COLUMN = "_drop_reason"
EVIDENCE_COLUMN = "_evidence"
REPAIRS_COLUMN = "_repairs"
# A total order of qa rows (qa_id alone repeats when one page is captured twice) for reproducible files.
OUTPUT_ORDER = ("language", "qa_id", "crawl", "warc_file", "warc_record_offset", "position")


def output_schema() -> pa.Schema:
    """qa's columns (nullable: dropped rows carry no language) plus the bookkeeping columns."""
    fields = [f.with_nullable(True) for f in load_schema("qa").arrow()]
    return pa.schema(fields + [pa.field(REASON_COLUMN, pa.string()), pa.field(EVIDENCE_COLUMN, pa.string()),
                               pa.field(REPAIRS_COLUMN, pa.string())])


def clean_langid_batch(batch: pa.RecordBatch, cleaning: CleaningConfig, langid: LangIdConfig) -> pa.RecordBatch:
    """One qa_raw batch -> the same rows with cleaned texts, language columns and a drop reason."""
    schema = output_schema()
    n = batch.num_rows
    questions, answers, reasons, repairs = [], [], [], []
    for q, a in zip(batch.column("question").to_pylist(), batch.column("answer").to_pylist(), strict=True):
        cleaned = clean_qa(q or "", a or "", cleaning)
        questions.append(cleaned.question)
        answers.append(cleaned.answer)
        reasons.append(cleaned.drop_reason)
        repairs.append(",".join(cleaned.repairs) or None)
    language: list[str | None] = [None] * n
    score: list[float | None] = [None] * n
    script: list[str | None] = [None] * n
    evidence: list[str | None] = [None] * n
    kept = [i for i in range(n) if reasons[i] is None]
    if kept:
        titles = batch.column("page_title").to_pylist()
        declared = batch.column("page_language").to_pylist()
        urls = batch.column("url").to_pylist()
        decisions = identify_languages(
            load_identifier(langid.resolved_model_path()),
            [questions[i] for i in kept],
            [answers[i] for i in kept],
            [titles[i] for i in kept],
            [declared[i] for i in kept],
            [urls[i] for i in kept],
            langid,
        )
        for i, decision in zip(kept, decisions, strict=True):
            score[i] = decision.score
            if decision.language is None:
                reasons[i] = DROP_UNCERTAIN
                continue
            language[i] = decision.language
            evidence[i] = decision.evidence
            script[i] = qa_script(questions[i], answers[i])
    computed = {
        "question": questions, "answer": answers, "language": language, "language_score": score, "script": script,
        REASON_COLUMN: reasons, EVIDENCE_COLUMN: evidence, REPAIRS_COLUMN: repairs,
    }
    arrays = [
        pa.array(computed[f.name], type=f.type) if f.name in computed else batch.column(f.name).cast(f.type)
        for f in schema
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


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
