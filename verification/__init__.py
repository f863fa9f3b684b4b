"""cnnref verification: the reference checked against PyTorch, finite differences and itself.

This is where torch is imported (with benchmarks/ and the checker); reference/ never does.
"""
