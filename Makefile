# The two quick-start commands live here so the README, CI and users run the same thing.
.PHONY: demo test test-fast env

env:
	bash scripts/bootstrap.sh

# Full demo pipeline on the embedded synthetic data set (installs .venv on first use).
demo: env
	bash scripts/demo.sh

# The whole test suite, slow end-to-end tests included (what CI runs).
test: env
	.venv/bin/python -m pytest tests

# Everything but the slow end-to-end tests.
test-fast: env
	.venv/bin/python -m pytest tests -m "not slow"
