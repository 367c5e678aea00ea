"""Fine-tune a multilingual dense retriever on faqmine's data: one config file per run.

    .venv/bin/python training/train.py --config configs/experiment/hardneg.yaml --data data/demo

Strategies: inbatch (question-answer pairs, in-batch negatives), hardneg (plus k mined hard
negatives per query), marginmse (MarginMSE on a teacher's score margins); see
faqmine.retrieval.train for the recipe and faqmine.retrieval.config for every key. Writes
checkpoints, <output_dir>/final (a sentence-transformers folder), train_log.jsonl (the
loss every logging_steps) and faqmine_train.json (configuration, data counts, timings).
"""

from __future__ import annotations

import argparse
import json
import sys

from faqmine.retrieval.config import STRATEGIES, config_keys_help, make_config, parse_assignments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="training/train.py",
        description="Fine-tune a sentence-transformers retriever (inbatch, hardneg or marginmse) on the benchmarks "
        "and hard_negatives datasets of a data root. Flags override the config file; --set overrides any key.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="config keys (YAML or JSON file, or --set key=value):\n" + config_keys_help(),
    )
    parser.add_argument("--config", metavar="FILE", help="YAML or JSON file with the run's keys")
    parser.add_argument("--strategy", choices=STRATEGIES, help="training strategy")
    parser.add_argument("--data", metavar="DIR", help="data root (benchmarks/, hard_negatives/ under it)")
    parser.add_argument("--languages", nargs="+", metavar="LANG", help="languages to train on")
    parser.add_argument("--base", metavar="PATH", help="sentence-transformers folder to start from")
    parser.add_argument("--output-dir", dest="output_dir", metavar="DIR", help="where checkpoints and the model go")
    parser.add_argument("--device", help="torch device: cpu, cuda, ...")
    parser.add_argument("--max-steps", dest="max_steps", type=int, help="optimisation steps (overrides epochs)")
    parser.add_argument("--batch-size", dest="batch_size", type=int, help="queries per step")
    parser.add_argument("--seed", type=int, help="random seed")
    parser.add_argument("--resume", help="auto, never, or a checkpoint folder")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="override any config key (repeatable)")
    parser.add_argument("--force", action="store_true", help="train even when the final model exists")
    parser.add_argument("--print-config", action="store_true", help="print the resolved configuration and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = {k: getattr(args, k) for k in ("strategy", "data", "languages", "base", "output_dir", "device",
                                               "max_steps", "batch_size", "seed", "resume")}
    try:
        overrides.update(parse_assignments(args.set))
        config = make_config(args.config, overrides)
    except ValueError as exc:
        parser.error(str(exc))
    if args.print_config:
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    from faqmine.retrieval.datasets import MissingDataset
    from faqmine.retrieval.train import run_training

    try:
        record = run_training(config, force=args.force)
    except MissingDataset as exc:
        print(f"train.py: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: record.get(k) for k in ("run_name", "model", "train_languages", "global_step", "train_loss",
                                                  "seconds", "seconds_per_step", "skipped") if k in record}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
