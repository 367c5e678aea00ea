"""faqmine_training: fine-tune and evaluate a retriever when a crawl publishes its hard negatives.

Scheduled on the `faqmine_hard_negatives` Asset that faqmine_crawl's `validate_mine_negatives`
emits (its extra names the run's data root and crawl), or triggered by hand with a data root:

    locate -> train -> evaluate -> publish_report

- `locate` takes the data root from the triggering Asset event (else from the form);
- `train` runs `training/train.py` (sentence-transformers; strategy inbatch, randneg, hardneg or marginmse)
  with `configs/experiment/<strategy>.yaml`, the settings `make experiment` uses (the same
  train-split pairs for every strategy; ar, el, hi, ro, th, tr, vi left zero-shot), into
  `<data root>/models/<strategy>`;
- `evaluate` runs `training/evaluate.py` (BM25, the base encoder, their hybrid and the trained
  model on the test split) into `<data root>/eval`;
- `publish_report` rewrites the dataset card (`faqmine card DATA_ROOT`) and emits the
  `faqmine_eval` Asset.

This file only wires the scripts; what they do lives in training/ and faqmine.retrieval.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, Asset, Param, task

from faqmine.run import pipeline

HARD_NEGATIVES = Asset(name=pipeline.asset_name("hard_negatives"), uri=pipeline.asset_uri("hard_negatives"),
                       group="faqmine")
EVAL = Asset(name=pipeline.asset_name("eval"), uri=pipeline.asset_uri("eval"), group="faqmine")

with DAG(
    dag_id="faqmine_training",
    dag_display_name="faqmine: train + evaluate a retriever",
    description="training/train.py then training/evaluate.py on a crawl's benchmarks and hard negatives",
    doc_md=__doc__,
    schedule=[HARD_NEGATIVES],
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    params={
        "data_root": Param(None, type=["null", "string"], title="Data root",
                           description="Used when triggered by hand; an Asset event names its own data root."),
        "strategy": Param("hardneg", type="string", enum=["inbatch", "randneg", "hardneg", "marginmse"],
                          title="Strategy",
                          description="inbatch: in-batch negatives; randneg: plus random train-split negatives "
                          "(WebFAQ 2.0's baseline); hardneg: plus mined hard negatives; "
                          "marginmse: MarginMSE on the teacher's score margins."),
        "max_steps": Param(None, type=["null", "integer"], minimum=1, title="Max steps",
                           description="Optimisation steps (empty: the config's epochs)."),
    },
    default_args={"retries": pipeline.task_retries(), "retry_delay": timedelta(seconds=20)},
    tags=["faqmine", "training"],
) as dag:

    @task
    def locate(params=None, triggering_asset_events=None) -> str:
        """The data root of the run: from the latest triggering Asset event, else the form."""
        roots = [event.extra.get("data_root") for events in (triggering_asset_events or {}).values()
                 for event in events if event.extra.get("data_root")]
        root = roots[-1] if roots else params.get("data_root")
        if not root:
            raise ValueError("no data root: trigger with data_root, or let faqmine_crawl publish hard_negatives")
        return root

    @task.bash
    def train(data_root: str, params=None) -> str:
        """training/train.py into <data root>/models/<strategy>."""
        import shlex
        import sys

        strategy = params["strategy"]
        command = [sys.executable, str(pipeline.training_script("train")), "--data", data_root,
                   "--strategy", strategy, "--output-dir", f"{data_root}/models/{strategy}"]
        config = pipeline.experiment_config(strategy)
        if config.is_file():  # the settings `make experiment` trains with: same pairs, zero-shot languages
            command += ["--config", str(config)]
        if params.get("max_steps"):
            command += ["--max-steps", str(params["max_steps"])]
        return shlex.join(command)

    @task.bash
    def evaluate(data_root: str, params=None, run_id=None) -> str:
        """training/evaluate.py: BM25, base encoder, hybrid and the trained model on the test split."""
        import re
        import shlex
        import sys

        strategy = params["strategy"]
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id or "airflow")
        return shlex.join([sys.executable, str(pipeline.training_script("evaluate")), "--data", data_root,
                           "--run-id", name, "--model", f"{strategy}={data_root}/models/{strategy}"])

    @task.bash(outlets=[EVAL])
    def publish_report(data_root: str) -> str:
        """Rewrite the dataset card of the data root, now with the evaluation beside the datasets."""
        import shlex
        import sys

        return f"{shlex.quote(sys.executable)} -m faqmine.cli card {shlex.quote(data_root)}"

    root = locate()
    train(root) >> evaluate(root) >> publish_report(root)
