"""spark-submit entry point: `qa_raw` -> `qa` (cleaned QA pairs with language, language_score, script).

    spark-submit jobs/clean_langid.py --input data/demo/qa_raw --output data/demo/qa

Cleaning rules and their drop reasons: faqmine.clean_langid.cleaning;
language identification: faqmine.clean_langid.langid.
"""

from __future__ import annotations

import sys

from faqmine.clean_langid.cleaning import CleaningConfig
from faqmine.clean_langid.langid import LangIdConfig, default_model_path
from faqmine.spark.clean_langid import OUTPUT_ORDER, run_clean_langid
from faqmine.spark.datasets import read_dataset, write_dataset
from faqmine.spark.job import job_parser, print_summary, start


def main(argv: list[str] | None = None) -> int:
    parser = job_parser("clean_langid", "Clean qa_raw QA pairs and identify their language into qa.")
    parser.add_argument("--input", required=True, help="qa_raw dataset folder")
    parser.add_argument("--output", required=True, help="qa dataset folder to write (replaced atomically)")
    rules = parser.add_argument_group("cleaning")
    defaults = CleaningConfig()
    rules.add_argument("--min-question-chars", type=int, default=defaults.min_question_chars)
    rules.add_argument("--min-answer-chars", type=int, default=defaults.min_answer_chars)
    rules.add_argument("--max-answer-line-breaks", type=int, default=defaults.max_answer_line_breaks,
                       help="answers holding this many line breaks or more are dropped")
    rules.add_argument("--keep-answer-questions", action="store_true",
                       help="keep answers that end with a question mark")
    lid = parser.add_argument_group("language identification")
    lid_defaults = LangIdConfig()
    lid.add_argument("--lid-model", default=str(default_model_path()),
                     help="fastText LID model (lid.176.ftz, lid.176.bin or any fastText LID model)")
    lid.add_argument("--lid-top-k", type=int, default=lid_defaults.top_k)
    lid.add_argument("--evidence-threshold", type=float, default=lid_defaults.evidence_threshold,
                     help="accept the page's declared or URL language if its fastText score reaches this")
    lid.add_argument("--model-threshold", type=float, default=lid_defaults.model_threshold,
                     help="otherwise accept the top label if its score reaches this, else drop as language_uncertain")
    lid.add_argument("--no-title", action="store_true", help="predict on question + answer only, not the page title")
    lid.add_argument("--no-page-evidence", action="store_true",
                     help="ignore the declared and URL languages: the top label decides")
    args = parser.parse_args(argv)

    cleaning = CleaningConfig(
        min_question_chars=args.min_question_chars,
        min_answer_chars=args.min_answer_chars,
        max_answer_line_breaks=args.max_answer_line_breaks,
        drop_answer_questions=not args.keep_answer_questions,
    )
    langid = LangIdConfig(
        model_path=args.lid_model,
        top_k=args.lid_top_k,
        evidence_threshold=args.evidence_threshold,
        model_threshold=args.model_threshold,
        use_title=not args.no_title,
        use_declared=not args.no_page_evidence,
        use_url=not args.no_page_evidence,
    )
    spark, started = start("clean_langid", args)
    result = run_clean_langid(read_dataset(spark, args.input, "qa_raw"), cleaning, langid)
    summary = result.summary(lid_model=args.lid_model)
    path = write_dataset(result.qa.sortWithinPartitions(*OUTPUT_ORDER), args.output, "qa", summary)
    result.persisted.unpersist()
    print_summary(path, summary, started)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
