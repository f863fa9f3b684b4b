"""The tolerance table's bounds hold, and are not vacuous: observed errors stay below them,
while the smallest realistic bug (one wrong term, a float32 computation of float64 data)
exceeds them by orders of magnitude."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from cnnref import reference as ref
from cnnref.verification.core.cases import make_arrays
from cnnref.verification.operators.conv import conv2d_cases
from cnnref.verification.core.tolerances import unit_roundoff
from cnnref.verification.operators.registry import bounds_for


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@given(case=conv2d_cases())
def test_fft_error_stays_within_the_normwise_bound(dtype, case):
    """The FFT bound is c u (log2 L + 1) sum_c ||x_c||_2 ||w_c||_1 per plane, c = 5. The
    observed error divided by the bound is well below 1 (it would exceed 1 if c were too
    small for pocketfft's mixed-radix transforms)."""
    a = {k: None if v is None else v.astype(dtype) for k, v in make_arrays(case).items()}
    truth = ref.conv2d(*(None if v is None else v.astype(np.float64) for v in a.values()),
                       **case.kwargs, algorithm="naive")
    fft = ref.conv2d(*a.values(), **case.kwargs, algorithm="fft").astype(np.float64)
    bound = bounds_for("conv2d", *(None if v is None else v.astype(np.float64)
                                   for v in a.values()), **case.kwargs)["out"]
    allowed = bound.allowed(dtype, "fft")
    assert (np.abs(fft - truth) <= allowed).all(), \
        f"max ratio {np.max(np.abs(fft - truth) / allowed):.3g} [conv2d fft {case}]"


def test_bounds_are_tight_enough_to_catch_small_bugs():
    """A float64 conv of 3x3x16 = 144 terms has a bound ~ 2 * 145 * 2**-53 * sum|xw| ~
    3e-14 relative; computing it in float32 instead errs ~1e-7 relative, and dropping a
    single tap errs ~|x w| ~ 1/144 of the magnitude: both are far outside."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 16, 8, 8)), rng.standard_normal((4, 16, 3, 3))
    truth = ref.conv2d(x, w)
    allowed = bounds_for("conv2d", x, w)["out"].allowed(np.float64)
    assert np.max(allowed / ref.conv2d(np.abs(x), np.abs(w))) < 145 * 2 * unit_roundoff(np.float64) * 1.01
    in_float32 = ref.conv2d(x.astype(np.float32), w.astype(np.float32)).astype(np.float64)
    assert (np.abs(in_float32 - truth) > allowed).mean() > 0.9
    w_dropped = w.copy()
    w_dropped[:, 0, 0, 0] = 0
    assert (np.abs(ref.conv2d(x, w_dropped) - truth) > allowed).mean() > 0.9

