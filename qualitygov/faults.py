"""Named fault points: places in long writes where a fault-injection test can stop or break the code.

`checkpoint(name)` costs one dict lookup and an environment lookup when nothing is armed, so it stays in the
production code paths it marks (JUnit ingestion, metric snapshots). Both ways to arm a point work only when the
settings say QUALITYGOV_FAULTS_ENABLED (qualitygov/settings/test.py does; production and local never), so an
environment variable alone cannot make a production process stop:

* in-process: `with faults.hook(name, callback): ...` calls `callback(name)` when the code reaches the point
  (e.g. to terminate the request's database backend from a second connection);
* in another process (a Celery worker a test started): the environment variables
  `QUALITYGOV_FAULT_POINT=<name>` and `QUALITYGOV_FAULT_DIR=<dir>` make the process write `<dir>/<name>.reached`
  on arrival and then wait there until `<dir>/<name>.release` exists (at most `QUALITYGOV_FAULT_TIMEOUT`
  seconds, default 120), so the test can kill it at a known place.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

_hooks: dict[str, list[Callable[[str], None]]] = {}


def checkpoint(name: str) -> None:
    """Mark a fault point; does nothing unless the settings enable fault points (only the test settings do:
    QUALITYGOV_FAULTS_ENABLED) and a test armed this one."""
    if not getattr(settings, "QUALITYGOV_FAULTS_ENABLED", False):
        return
    for callback in list(_hooks.get(name, ())):
        callback(name)
    if os.environ.get("QUALITYGOV_FAULT_POINT") == name:
        _wait_for_release(name)


@contextmanager
def hook(name: str, callback: Callable[[str], None]) -> Iterator[None]:
    """Call `callback(name)` each time this process reaches the fault point `name` inside the block."""
    _hooks.setdefault(name, []).append(callback)
    try:
        yield
    finally:
        _hooks[name].remove(callback)
        if not _hooks[name]:
            del _hooks[name]


def _wait_for_release(name: str) -> None:
    folder = Path(os.environ.get("QUALITYGOV_FAULT_DIR") or ".")
    timeout = float(os.environ.get("QUALITYGOV_FAULT_TIMEOUT") or 120)
    (folder / f"{name}.reached").write_text(str(os.getpid()))
    release = folder / f"{name}.release"
    deadline = time.monotonic() + timeout
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
