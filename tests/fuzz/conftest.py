"""Hypothesis profiles for the fuzz suite.

`ci` (the default) keeps the whole of tests/fuzz under a minute on two cores; `deep` is for
long runs by hand: `HYPOTHESIS_PROFILE=deep pytest tests/fuzz`. Found examples are kept in the
local `.hypothesis/` database (not in git) and replayed first on the next run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

_SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=_SLOW_DATA,
    print_blob=True,
)
settings.register_profile(
    "deep",
    max_examples=5_000,
    deadline=None,
    suppress_health_check=_SLOW_DATA,
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def subnormal_floats() -> Iterator[None]:
    """The embedder and the image encoder turn on flush-to-zero for the whole process (bf16 is
    10x slower without it); hypothesis then refuses to generate floats. Off for each fuzz test,
    back on afterwards when it was on, so later model tests keep their speed."""
    import numpy as np
    import torch

    tiny = np.array([1e-40], dtype=np.float32)
    flushed = bool((tiny * np.float32(1.0))[0] == 0)
    torch.set_flush_denormal(False)
    try:
        yield
    finally:
        if flushed:
            torch.set_flush_denormal(True)
