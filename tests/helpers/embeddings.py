"""Test helper: a finished qa_embeddings dataset for hand-made QAs, written by the embed stage's own code.

Fixtures that build benchmarks or qa_dedup rows by hand (no qa_dedup folder to run jobs/embed.py on)
call `write_embeddings` with dicts holding qa_id, question, answer and language.
"""

from __future__ import annotations

from pathlib import Path

from faqmine.embedding.encode import EncodeConfig, resolve_encoder_path
from faqmine.spark.datasets import write_dataset
from faqmine.spark.embed import DATASET, EmbedConfig, run_embed


def write_embeddings(spark, rows: list[dict], path: Path, encoder: str | None = None) -> Path:
    """Encode the rows' questions and answers with the (default) encoder and write them as qa_embeddings."""
    frame = spark.createDataFrame([(r["qa_id"], r["question"], r["answer"], r["language"]) for r in rows],
                                  "qa_id string, question string, answer string, language string")
    result = run_embed(frame, EmbedConfig(encode=EncodeConfig(encoder=resolve_encoder_path(encoder)),
                                          encode_partitions=2))
    written = write_dataset(result.embeddings, str(path), DATASET, result.stats)
    for persisted in result.persisted:
        persisted.unpersist()
    return written
