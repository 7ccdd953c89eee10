"""qualitygov-cli: a standard-library-only client for CI pipelines (JUnit upload, gate checks)."""

__version__ = "0.1.0"
