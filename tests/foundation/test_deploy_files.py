"""docker-compose.yml against the Compose Specification's JSON schema, plus what production needs from it;
the Makefile, setup script and CI script have the shape the docs promise."""

import ast
import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import yaml

from .procs import ROOT, run_python, run_setup


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_is_valid_against_the_compose_spec():
    schema_file = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(compose(), schema)


APP_SERVICES = ("web", "worker", "beat", "migrate")


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.production.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))


def test_compose_has_the_production_services_with_health_checks_and_volumes():
    spec = compose()
    services = spec["services"]
    assert {"web", "worker", "beat", "db", "redis", "migrate"} <= set(services)
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["web"]["command"][0] == "gunicorn"
    assert "qualitygov.wsgi:application" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "qualitygov", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "qualitygov", "beat"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_every_long_running_service_has_its_own_health_check():
    services = compose()["services"]
    for name in ("web", "worker", "beat", "db", "redis"):
        check = services[name].get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), name
    # The image's HEALTHCHECK curls the web port; services that serve no HTTP must not inherit it.
    for name in ("worker", "beat"):
        assert "curl" not in " ".join(services[name]["healthcheck"]["test"]), name
        assert "8000" not in " ".join(services[name]["healthcheck"]["test"]), name
    # the one-shot migration has nothing to check and must not be reported unhealthy
    assert services["migrate"]["healthcheck"] == {"disable": True}
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat", "db", "redis"):
        assert services[name]["restart"] == "unless-stopped", name


def test_app_services_start_after_healthy_storage_and_a_finished_migration():
    services = compose()["services"]
    for name in APP_SERVICES:
        assert services[name]["env_file"] == ".env.production", name
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy", name
        if name != "migrate":
            assert depends["redis"]["condition"] == "service_healthy", name
            assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert "migrate" not in services["migrate"]["depends_on"]


def test_data_lives_in_named_volumes_and_only_the_web_port_is_published():
    spec = compose()
    services = spec["services"]
    mounts = {name: [v.split(":") for v in svc.get("volumes", [])] for name, svc in services.items()}
    assert ["pgdata", "/var/lib/postgresql/data"] in mounts["db"]
    assert ["redisdata", "/data"] in mounts["redis"]
    assert "--appendonly" in services["redis"]["command"]
    used = {m[0] for ms in mounts.values() for m in ms if not m[0].startswith((".", "/"))}
    assert used <= set(spec["volumes"]), "every named volume a service mounts is declared"
    assert {"pgdata", "redisdata"} <= used
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"web"}
    assert services["web"]["ports"] == ["8000:8000"]


def test_db_health_check_and_credentials_come_from_the_env_file():
    services = compose()["services"]
    assert services["db"]["env_file"] == ".env.production"
    check = " ".join(services["db"]["healthcheck"]["test"])
    # $$ is compose's escape: the container's shell expands the variables from the env file
    assert "pg_isready" in check and "$${POSTGRES_USER}" in check and "$${POSTGRES_DB}" in check
    values = env_example()
    assert {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"} <= set(values)


def test_env_example_names_every_production_setting():
    values = env_example()
    assert values["DJANGO_ENV"] == "production"
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "POSTGRES_PASSWORD"} <= set(values)
    # the app reaches the compose services by their names, with the credentials postgres is started with
    db = urlparse(values["DATABASE_URL"])
    assert (db.scheme, db.hostname, db.port) == ("postgres", "db", 5432)
    assert (db.username, db.password, db.path.lstrip("/")) == (
        values["POSTGRES_USER"],
        values["POSTGRES_PASSWORD"],
        values["POSTGRES_DB"],
    )
    assert urlparse(values["REDIS_URL"]).hostname == "redis"
    # the containers' own health checks call http://127.0.0.1:8000/healthz
    assert {"127.0.0.1", "localhost"} <= set(values["ALLOWED_HOSTS"].split(","))


def settings_env_reads() -> dict[str, bool]:
    """Every variable the settings modules read through django-environ: name -> has a default."""
    reads: dict[str, bool] = {}
    for path in sorted((ROOT / "qualitygov" / "settings").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            is_env = (isinstance(func, ast.Name) and func.id == "env") or (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "env"
            )
            first = node.args[0]
            if is_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
                has_default = any(k.arg == "default" for k in node.keywords) or len(node.args) > 1
                reads[first.value] = reads.get(first.value, True) and has_default
    return reads


def test_env_example_provides_what_production_requires_and_nothing_unknown():
    reads = settings_env_reads()
    assert "SECRET_KEY" in reads and "DATABASE_URL" in reads  # the scan sees the settings
    values = env_example()
    required = {name for name, has_default in reads.items() if not has_default}
    assert required, "production.py reads SECRET_KEY and ALLOWED_HOSTS without a default"
    assert required <= set(values), f"missing from .env.production.example: {sorted(required - set(values))}"
    # every line is either read by the settings or consumed by the postgres image (catches typos)
    postgres_image = {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"}
    unknown = set(values) - set(reads) - postgres_image - {"DJANGO_ENV"}
    assert not unknown, f"not read by any setting: {sorted(unknown)}"


def test_production_settings_boot_from_the_env_example_and_pass_the_deploy_checks(tmp_path):
    """The example file alone (with a real secret) configures production: `check --deploy` is clean."""
    values = {**env_example(), "SECRET_KEY": "Q9vT3kLm7pRw2ZsYb8NcHf5JdGa-" * 3}
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **values}
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            rows.append((word.upper(), rest.strip()))
    return rows


def test_dockerfile_runs_gunicorn_as_non_root():
    rows = dockerfile_instructions()
    users = [rest for word, rest in rows if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    cmd = json.loads(next(rest for word, rest in rows if word == "CMD"))
    assert cmd[:2] == ["gunicorn", "qualitygov.wsgi:application"]
    assert any("collectstatic" in rest for word, rest in rows if word == "RUN")
    env = " ".join(rest for word, rest in rows if word == "ENV")
    assert "DJANGO_ENV=production" in env


def test_dockerfile_copies_every_app_package_and_what_the_install_needs():
    copied = set()
    for word, rest in dockerfile_instructions():
        if word == "COPY":
            *sources, _dest = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"
                copied.add(source.rstrip("/"))
    # pyproject's packages, manage.py, templates and static: everything the app imports or reads at run time
    packages = {p.parent.name for p in ROOT.glob("*/apps.py")} | {"qualitygov", "qualitygov_cli"}
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
    assert {"pyproject.toml", "README.md", "manage.py", "templates", "static"} <= copied


def deployment_page_section(heading: str) -> str:
    """One `## ` section of the deployment and operations page (docs/operations/deployment.md)."""
    page = (ROOT / "docs" / "operations" / "deployment.md").read_text()
    section = page[page.index(heading) + len(heading) :]
    return section[: section.index("\n## ")] if "\n## " in section else section


def test_commands_of_the_image_and_compose_file_exist():
    """gunicorn, celery and the manage.py commands the recipe and the deployment docs call are really there."""
    from django.core.management import get_commands

    bin_dir = Path(sys.executable).parent
    commands = [json.loads(rest) for word, rest in dockerfile_instructions() if word == "CMD"]
    commands += [svc["command"] for svc in compose()["services"].values() if "command" in svc]
    executables = {cmd[0] for cmd in commands}
    assert {"gunicorn", "celery", "python", "redis-server"} <= executables
    for exe in executables - {"python", "redis-server"}:  # redis-server lives in the redis image
        assert (bin_dir / exe).exists(), f"{exe} is not installed by the project's dependencies"
    django_commands = get_commands()
    section = deployment_page_section("## Production with docker-compose")
    used = set(re.findall(r"manage\.py (\w+)", section)) | {"migrate", "collectstatic"}
    assert {"createsuperuser", "drf_create_token"} <= used
    for name in used:
        assert name in django_commands, f"manage.py {name} does not exist"
    # the celery app the commands name is importable as `-A qualitygov`
    from qualitygov.celery import app

    assert app.main == "qualitygov"
    # every image the compose file runs without building is pinned to a major version
    for name, svc in compose()["services"].items():
        if "build" not in svc:
            assert re.fullmatch(r"[a-z]+:\d+", svc["image"]), name


def test_documented_backup_and_restore_use_the_compose_services():
    section = deployment_page_section("## Production with docker-compose")
    assert "pg_dump" in section and "pg_restore" in section
    assert "docker compose exec -T db" in section
    # restore with the app stopped, so nothing writes while the tables are replaced
    assert "docker compose stop web worker beat" in section
    assert "cp .env.production.example .env.production" in section


def test_makefile_has_the_documented_targets():
    text = (ROOT / "Makefile").read_text()
    for target in ("run", "test", "setup", "lint", "worker", "beat", "docs", "docs-build"):
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
    result = run_setup("venv", "test", env={**os.environ, "VENV": str(venv)})
    # then it does nothing, quickly
    assert result.returncode == 0, result.stderr
    assert "Installing" not in result.stdout
    # and a changed pyproject (stale stamp) would reinstall: the script says so before calling pip
    (venv / ".qualitygov-test.stamp").write_text("stale\n")
    (venv / "bin" / "python").unlink()
    (venv / "bin" / "python").write_text('#!/bin/sh\necho "pip $*"\n')
    (venv / "bin" / "python").chmod(0o755)
    result = run_setup("venv", "test", env={**os.environ, "VENV": str(venv)})
    assert result.returncode == 0, result.stderr
    assert "Installing QualityGov (.[test])" in result.stdout
    assert "pip -m pip install --quiet -e .[test]" in result.stdout
    assert (venv / ".qualitygov-test.stamp").read_text().strip() == digest


def test_setup_script_refuses_unknown_commands():
    result = run_setup("frobnicate")
    assert result.returncode == 2 and "usage" in result.stderr
