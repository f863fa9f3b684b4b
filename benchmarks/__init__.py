"""pytest-benchmark suites: naive loops vs numba vs im2col vs FFT vs PyTorch."""
