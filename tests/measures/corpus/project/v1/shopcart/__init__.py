"""A tiny shopping-cart package: the code the evidence corpus measures (coverage, ruff, bandit)."""
