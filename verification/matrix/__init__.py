"""The conformance matrix: every framework's CNN operators, feature by feature, against
the reference.

cases.py draws each operator's cases once (the checker's worked examples, corners and
hypothesis families, plus what lies beyond torch: ONNX's padding, NaN, infinities,
ties, large offsets), the same for every framework; worker.py runs them all in a
framework's own process (every case, not stopping at the first disagreement) and keeps
one record per case; cells.py turns the records into cells (framework, operator,
feature): agrees, refuses, differs (with the named convention) or not defined;
reproduce.py writes the copy-paste reproduction of a cell's smallest case; run.py runs
the frameworks one after another and assembles the JSON the report renders.
"""
