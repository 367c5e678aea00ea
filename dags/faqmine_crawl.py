"""faqmine_crawl: one crawl through the faqmine pipeline, one Spark job per task, each checked before the next.

Trigger it from the UI with the form (crawl id or WARC input, number of files, data root,
Spark master, memory sizes). The graph is

    plan -> extract -> validate_extract -> clean_langid -> validate_clean_langid -> dedup -> validate_dedup
         -> ... -> publish_card

- `plan` turns the form into every job's arguments (faqmine.run.pipeline) and records the run
  in `<data root>/_run.json`; with a Common Crawl id and no WARC input it fetches the crawl's listing.
- each stage is a SparkSubmitOperator on `jobs/<stage>.py` through the `spark_default`
  connection (local[*] unless it points at a cluster);
- each `validate_<stage>` reads the stage's `_SUCCESS` and `_stats.json` (faqmine.run.validate)
  and fails the run when counts do not balance, rows are missing, an output is empty that
  must not be, or the output is stale; it emits the Asset events of published datasets
  with the crawl id in their extra;
- `publish_card` runs `faqmine card DATA_ROOT`: README.md with tables and plots.

Every job replaces its output whole, so retrying or clearing any task is safe. The stages,
their order and arguments live in faqmine.run.pipeline.STAGES: this file only wires them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, Asset, Param, task

from faqmine.run import pipeline

ASSETS = {
    dataset: Asset(name=pipeline.asset_name(dataset), uri=pipeline.asset_uri(dataset), group="faqmine")
    for dataset in pipeline.PUBLISHED
}

with DAG(
    dag_id="faqmine_crawl",
    dag_display_name="faqmine: crawl -> FAQ datasets",
    description="WARC files -> qa_raw -> qa -> qa_dedup -> ... with a validation after every Spark job",
    doc_md=__doc__,
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # runs share the data root they write
    params={name: Param(**spec) for name, spec in pipeline.params_spec().items()},
    default_args={"retries": pipeline.task_retries(), "retry_delay": timedelta(seconds=20)},
    tags=["faqmine", "spark"],
) as dag:

    @task(multiple_outputs=True)
    def plan(params=None, run_id=None) -> dict:
        """Every stage's arguments from the trigger form; records the run in <data root>/_run.json."""
        return pipeline.plan_run(params, run_id=run_id).to_xcom()

    @task
    def validate(stage: str, data_root: str, crawl: str, outlet_events=None) -> dict:
        """Fail unless the stage's outputs are complete, balanced, fresh and non-empty where required."""
        from faqmine.run.validate import published_rows, run_crawls, validate_stage

        report = validate_stage(stage, data_root)
        for dataset in pipeline.stage(stage).publishes:
            outlet_events[ASSETS[dataset]].extra = {
                "crawl": crawl or ",".join(run_crawls(data_root)),
                "data_root": data_root,
                "path": f"{data_root}/{dataset}",
                "rows": published_rows(stage, report, dataset),
            }
        return report

    @task.bash
    def publish_card(data_root: str) -> str:
        """`faqmine card DATA_ROOT`: the dataset card (README.md, tables, plots) of the run."""
        import shlex
        import sys

        return f"{shlex.quote(sys.executable)} -m faqmine.cli card {shlex.quote(data_root)}"

    run = plan()
    checks = {}
    stages = pipeline.stages()
    for stage in stages:
        job = SparkSubmitOperator(
            task_id=stage.name,
            doc_md=stage.description,
            application=str(stage.job),
            application_args=run[stage.name],
            conf=run["spark_conf"],
            conn_id=pipeline.SPARK_CONN_ID,
            name=f"faqmine-{stage.name}",
        )
        check = validate.override(
            task_id=f"validate_{stage.name}",
            outlets=[ASSETS[d] for d in stage.publishes],
        )(stage.name, run["data_root"], run["crawl"])
        job >> check
        for before in pipeline.upstream(stage, stages):
            checks[before.name] >> job
        checks[stage.name] = check

    [checks[s.name] for s in pipeline.last_stages(stages)] >> publish_card(run["data_root"])
