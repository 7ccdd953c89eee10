"""docker-compose.yml against the Compose Specification's JSON schema, plus what production needs from it;
the Makefile, setup script and CI script have the shape the README promises."""

import json
import os
import re
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_is_valid_against_the_compose_spec():
    schema_file = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(compose(), schema)


def test_compose_has_the_production_services_with_health_checks_and_volumes():
    spec = compose()
    services = spec["services"]
    assert {"web", "worker", "beat", "db", "redis", "migrate"} <= set(services)
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "qualitygov", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "qualitygov", "beat"]
    for name in ("web", "worker", "db", "redis"):
        assert "healthcheck" in services[name], name
    for name in ("web", "worker", "beat", "migrate"):
        assert services[name]["env_file"] == ".env.production"
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert {"pgdata", "redisdata"} <= set(spec["volumes"])
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_env_example_names_every_production_setting():
    lines = (ROOT / ".env.production.example").read_text().splitlines()
    names = {line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")}
    assert {
        "DJANGO_ENV",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "POSTGRES_PASSWORD",
    } <= names
    assert "DJANGO_ENV=production" in lines
    # the database password in DATABASE_URL is the one postgres is started with
    values = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    assert f":{values['POSTGRES_PASSWORD']}@db:" in values["DATABASE_URL"]


def test_dockerfile_runs_gunicorn_as_non_root():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER \w+", text, re.M)
    assert "gunicorn" in text and "collectstatic" in text


def test_makefile_has_the_documented_targets():
    text = (ROOT / "Makefile").read_text()
    for target in ("run", "test", "setup", "lint", "worker", "beat"):
        assert re.search(rf"^{target}:", text, re.M), target
    assert "runserver" in text and "scripts/setup.sh" in text


def test_shell_scripts_parse_and_fail_fast():
    for script in ("scripts/setup.sh", ".ci/run"):
        path = ROOT / script
        assert "set -euo pipefail" in path.read_text()
        assert os.access(path, os.X_OK), f"{script} must be executable"
        subprocess.run(["bash", "-n", str(path)], check=True)


def test_setup_script_skips_the_install_when_pyproject_is_unchanged(tmp_path):
    import hashlib
    import sys

    # given a venv whose stamp matches pyproject.toml
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".qualitygov-test.stamp").write_text(digest + "\n")
    # when setup runs again
    result = subprocess.run(
        ["bash", str(ROOT / "scripts/setup.sh"), "venv", "test"],
        env={**os.environ, "VENV": str(venv)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # then it does nothing, quickly
    assert result.returncode == 0, result.stderr
    assert "Installing" not in result.stdout
    # and a changed pyproject (stale stamp) would reinstall: the script says so before calling pip
    (venv / ".qualitygov-test.stamp").write_text("stale\n")
    (venv / "bin" / "python").unlink()
    (venv / "bin" / "python").write_text('#!/bin/sh\necho "pip $*"\n')
    (venv / "bin" / "python").chmod(0o755)
    result = subprocess.run(
        ["bash", str(ROOT / "scripts/setup.sh"), "venv", "test"],
        env={**os.environ, "VENV": str(venv)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Installing QualityGov (.[test])" in result.stdout
    assert "pip -m pip install --quiet -e .[test]" in result.stdout
    assert (venv / ".qualitygov-test.stamp").read_text().strip() == digest


def test_setup_script_refuses_unknown_commands():
    result = subprocess.run(
        ["bash", str(ROOT / "scripts/setup.sh"), "frobnicate"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and "usage" in result.stderr
