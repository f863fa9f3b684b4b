"""cnnref: reference NumPy implementations of the mathematics of convolutional networks,
verified against PyTorch, finite differences and each other.

Subpackages: `cnnref.reference` (NumPy only: the formulas), `cnnref.verification` (the
comparison core, the operator registry, `cnnref check`, training parity),
`cnnref.benchmarks` (timed algorithms), `cnnref.report` (the reports and the dashboard),
`cnnref.cli` (the `cnnref` command).
"""
__version__ = "0.1.0"
