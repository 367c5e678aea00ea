"""Train the pipeline's cross-encoder teacher: the same as `faqmine models train-reranker`, beside training/train.py.

    .venv/bin/python training/train_reranker.py --data data/demo --languages de en es ru zh

Trains a sentence-transformers CrossEncoder from a local encoder checkpoint on the train split (own answer against
mined and random negatives), measures it as a reranker of the bi-encoder's top 20 on dev and on data/realfaq, and
writes the folder with its card (faqmine.retrieval.reranker). Use it as `jobs/mine_negatives.py --teacher PATH`.
"""

from __future__ import annotations

import argparse
import sys

from faqmine.commands.models import add_reranker_arguments, train_reranker_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="training/train_reranker.py", description=__doc__.splitlines()[0])
    add_reranker_arguments(parser)
    return train_reranker_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
