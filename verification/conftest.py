"""Hypothesis profiles and the record of worst errors.

HYPOTHESIS_PROFILE=quick (default; derandomised, so CI is reproducible) or thorough
(>= 300 examples per property, random). The worst |error| / allowed per tensor seen by the
harness is written to $CNNREF_RECORD (JSON) at the end of the session when that is set.
"""
from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, settings

settings.register_profile("quick", max_examples=25, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("CNNREF_RECORD")
    if not path:
        return
    from verification.harness import RECORD
    rows = [{"op": op, "tensor": t, "candidate": c, "dtype": d, "worst_ratio": r}
            for (op, t, c, d), r in sorted(RECORD.items())]
    with open(path, "w") as f:
        json.dump(rows, f, indent=1)
