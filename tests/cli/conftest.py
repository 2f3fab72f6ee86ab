"""The batch command's tests share the batch library tests' fixtures."""

from tests.batch.conftest import album, fast, weights  # noqa: F401
