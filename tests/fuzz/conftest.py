"""Hypothesis profiles for the fuzz suite.

`ci` (the default) keeps the whole of tests/fuzz under a minute on two cores; `deep` is for
long runs by hand: `HYPOTHESIS_PROFILE=deep pytest tests/fuzz`. Found examples are kept in the
local `.hypothesis/` database (not in git) and replayed first on the next run.
"""

from __future__ import annotations

import os

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
