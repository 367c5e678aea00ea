"""spark-submit entry point: `qa_dedup` -> `bitext` (QA pairs of one site in two languages that match).

    spark-submit jobs/align_bitext.py --input data/demo/qa_dedup --output data/demo/bitext

Pairs are mined only between QAs of the same site (registered domain) in different languages,
as WebFAQ did: mutual best matches of question+answer embeddings above a threshold, by cosine
or by margin. See faqmine.spark.align_bitext for the steps and faqmine.align_bitext.alignment for the scores.
"""

from __future__ import annotations

import sys
from pathlib import Path

from faqmine.align_bitext.alignment import DEFAULT_K, DEFAULT_METHOD, DEFAULT_THRESHOLDS, METHODS, AlignConfig
from faqmine.embedding.encode import EncodeConfig, resolve_encoder_path
from faqmine.spark.align_bitext import JOB, BitextConfig, run_bitext
from faqmine.spark.datasets import read_dataset, write_dataset
from faqmine.spark.job import job_parser, print_summary, start


def main(argv: list[str] | None = None) -> int:
    parser = job_parser("align_bitext", "Mine bilingual QA pairs within each site of qa_dedup into bitext.")
    parser.add_argument("--input", required=True, help="qa_dedup dataset folder")
    parser.add_argument("--output", required=True, help="bitext dataset folder to write (replaced atomically)")
    parser.add_argument("--encoder", default=None, metavar="PATH",
                        help="sentence-transformers folder (LaBSE, bge-m3, ...); default: $FAQMINE_ENCODER, "
                        "else the packaged multilingual-e5-small under models/")
    parser.add_argument("--device", default=None, help="torch device of the encoder (cpu, cuda, ...)")
    parser.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD,
                        help="score that decides: cosine, or ratio margin over the k nearest neighbours")
    parser.add_argument("--threshold", type=float, default=None,
                        help="minimum score of a kept pair (default: " + ", ".join(
                            f"{m} {t}" for m, t in DEFAULT_THRESHOLDS.items()) + ", calibrated for the default "
                        "encoder; recalibrate with bench/quality_bitext.py for another)")
    parser.add_argument("--k", type=int, default=DEFAULT_K, help="nearest neighbours for candidates and margins")
    encode_defaults = EncodeConfig()
    parser.add_argument("--question-weight", type=float, default=encode_defaults.question_weight,
                        help="share of the question cosine in a QA's similarity (the rest: the answer's)")
    parser.add_argument("--batch-size", type=int, default=encode_defaults.batch_size, help="encoder batch size")
    parser.add_argument("--max-seq-length", type=int, default=encode_defaults.max_seq_length,
                        help="tokens per text given to the encoder")
    parser.add_argument("--chunk-size", type=int, default=BitextConfig().chunk_size,
                        help="QAs of one site and language per search task")
    parser.add_argument("--encode-partitions", type=int, default=None,
                        help="tasks that encode (default: twice the default parallelism)")
    args = parser.parse_args(argv)
    encoder = resolve_encoder_path(args.encoder)  # resolved here: executors need not share the driver's env
    if not Path(encoder).is_dir():
        parser.error(f"no encoder folder at {encoder} (build the default one with `make setup`)")
    try:
        config = BitextConfig(
            encode=EncodeConfig(encoder=encoder, device=args.device, batch_size=args.batch_size,
                                max_seq_length=args.max_seq_length, question_weight=args.question_weight),
            align=AlignConfig(method=args.method, threshold=args.threshold, k=args.k),
            chunk_size=args.chunk_size, encode_partitions=args.encode_partitions,
        )
    except ValueError as exc:
        parser.error(str(exc))

    spark, started = start(JOB, args)
    result = run_bitext(read_dataset(spark, args.input, "qa_dedup"), config)
    summary = result.summary()
    bitext = result.bitext.repartition("language_pair").sortWithinPartitions("language_pair", "pair_id")
    path = write_dataset(bitext, args.output, "bitext", summary)
    result.unpersist()
    print_summary(path, summary, started)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
