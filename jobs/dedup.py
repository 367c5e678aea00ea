"""spark-submit entry point: `qa` -> `qa_dedup` (one QA per duplicate cluster) + `duplicates` (every QA removed).

    spark-submit jobs/dedup.py --input data/demo/qa --output data/demo/qa_dedup \\
        --duplicates-output data/demo/duplicates

Exact duplicates by normalised text, near duplicates by MinHash LSH and connected components:
see faqmine.spark.dedup and faqmine.dedup.features for the rules and knobs.
"""

from __future__ import annotations

import shutil
import sys
import uuid

from faqmine.dedup.features import SCOPES, DedupConfig
from faqmine.dedup.shingles import ShingleConfig
from faqmine.spark.datasets import local_path, read_dataset, write_dataset
from faqmine.spark.dedup import OUTPUT_ORDER, run_dedup
from faqmine.spark.job import job_parser, print_summary, start


def main(argv: list[str] | None = None) -> int:
    parser = job_parser("dedup", "Remove exact and near-duplicate QAs from qa into qa_dedup, listing them in "
                        "duplicates.")
    parser.add_argument("--input", required=True, help="qa dataset folder")
    parser.add_argument("--output", required=True, help="qa_dedup dataset folder to write (replaced atomically)")
    parser.add_argument("--duplicates-output", required=True, help="duplicates dataset folder to write")
    defaults, shingle_defaults = DedupConfig(), ShingleConfig()
    parser.add_argument("--threshold", type=float, default=defaults.threshold,
                        help="Jaccard similarity of shingle sets at which two QAs are near duplicates")
    parser.add_argument("--num-perm", type=int, default=defaults.num_perm, help="MinHash permutations")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="MinHash seed (datasketch's)")
    parser.add_argument("--scope", choices=SCOPES, default=defaults.scope,
                        help="compare QAs within each language (WebFAQ) or across the whole crawl")
    parser.add_argument("--word-ngram", type=int, default=shingle_defaults.word_ngram)
    parser.add_argument("--char-ngram", type=int, default=shingle_defaults.char_ngram)
    parser.add_argument("--min-words", type=int, default=shingle_defaults.min_words,
                        help="texts with fewer words are shingled by characters")
    parser.add_argument("--max-bucket-size", type=int, default=defaults.max_bucket_size,
                        help="LSH buckets larger than this are cut into blocks (pairs within and between neighbours)")
    parser.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every,
                        help="connected-components rounds between checkpoints")
    args = parser.parse_args(argv)

    config = DedupConfig(
        threshold=args.threshold, num_perm=args.num_perm, seed=args.seed, scope=args.scope,
        shingles=ShingleConfig(word_ngram=args.word_ngram, char_ngram=args.char_ngram, min_words=args.min_words),
        max_bucket_size=args.max_bucket_size, checkpoint_every=args.checkpoint_every,
    )
    target = local_path(args.output)
    checkpoints = target.parent / f".{target.name}.tmp-checkpoints-{uuid.uuid4().hex[:12]}"
    checkpoints.mkdir(parents=True, exist_ok=True)
    spark, started = start("dedup", args)
    try:
        spark.sparkContext.setCheckpointDir(str(checkpoints))
        partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
        result = run_dedup(read_dataset(spark, args.input, "qa"), config)
        summary = {**result.summary(), "shuffle_partitions": partitions}
        path = write_dataset(result.qa_dedup.sortWithinPartitions(*OUTPUT_ORDER), args.output, "qa_dedup", summary)
        write_dataset(result.duplicates.sortWithinPartitions(*OUTPUT_ORDER[:2]), args.duplicates_output,
                      "duplicates", result.duplicates_summary())
        result.unpersist()
        print_summary(path, summary, started)
    finally:
        shutil.rmtree(checkpoints, ignore_errors=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
