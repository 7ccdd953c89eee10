"""Run the project's own commands in a child process from the project folder, as a user or CI would."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(
    argv: list[str], *, env: dict[str, str] | None = None, timeout: int = 120
) -> subprocess.CompletedProcess:
    """Run argv in ROOT, capture its text output; the caller asserts on the exit code."""
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def run_python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """This interpreter with these arguments, e.g. run_python("manage.py", "check")."""
    return run([sys.executable, *args], env=env)


def run_setup(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """scripts/setup.sh with these arguments."""
    return run(["bash", str(ROOT / "scripts/setup.sh"), *args], env=env, timeout=60)
