"""ONNX's own backend node cases for the CNN operators (verification/onnx_nodes.py): the
reference answers each correctly or refuses it with a clear error; a wrong answer is only
allowed where ONNX's definition differs from torch's (listed, with the reason). Skipped
where onnx is not installed (it is not a dependency: `pip install onnx`)."""
from __future__ import annotations

import pytest


def test_every_onnx_node_case_passes_or_is_refused_or_a_known_difference():
    pytest.importorskip("onnx")
    from cnnref.verification import onnx_nodes
    outcomes = {c.name: onnx_nodes.run_case(c) for c in onnx_nodes.cases()}
    wrong = {name: why for name, (outcome, why) in outcomes.items() if outcome == "fail"}
    assert not wrong, f"reference answers outside ONNX's tolerance: {wrong}"
    passed = sum(outcome == "pass" for outcome, _ in outcomes.values())
    assert passed >= 120, f"only {passed} of {len(outcomes)} ONNX node cases pass"
