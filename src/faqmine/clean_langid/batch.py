"""The clean + language-id step on one Arrow batch: cleaned texts, language columns and a drop reason per row.

The Spark stage (faqmine.spark.clean_langid) hands whole batches here inside `mapInArrow`; the
fastText model is loaded once per process (faqmine.clean_langid.langid.load_identifier).
"""

from __future__ import annotations

import pyarrow as pa

from faqmine.clean_langid.cleaning import CleaningConfig, clean_qa
from faqmine.clean_langid.langid import DROP_UNCERTAIN, LangIdConfig, load_identifier, qa_script
from faqmine.clean_langid.langid import identify as identify_languages
from faqmine.core.schemas import load_schema

REASON_COLUMN = "_drop_reason"
EVIDENCE_COLUMN = "_evidence"
REPAIRS_COLUMN = "_repairs"


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
