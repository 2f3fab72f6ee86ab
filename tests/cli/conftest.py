"""The batch command's tests share the batch library tests' fixtures."""

from tests.batch.conftest import album, fast, weights  # noqa: F401
from tests.segment.conftest import standin, tiny_parsers  # noqa: F401, E402
