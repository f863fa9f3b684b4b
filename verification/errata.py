"""The errata registry: every number or statement of the documents that does not hold.

One `Erratum` per mistake. The test named in `test` asserts the corrected value (derived
there from the formula) and checks that the document really prints the wrong one, so an
entry cannot go stale silently; verification/test_networks.py checks every entry's quote
against its seed file. The correctness report reads ERRATA.

Fields:
  id          short stable identifier, "E-<formula>-<what>"
  formula_id  the FORMULAS.md ID (A6, A9, ...)
  seed        seed file number and where in it ("003 3.3 D")
  quote       the passage exactly as printed in the seed (a substring of the file)
  wrong       the wrong value or statement
  corrected   the corrected value
  derivation  the arithmetic that gives the corrected value
  test        pytest node id that asserts the corrected value
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Erratum:
    id: str
    formula_id: str
    seed: str
    quote: str
    wrong: str
    corrected: str
    derivation: str
    test: str


ERRATA: list[Erratum] = [
    Erratum(
        id="E-A6-S4-params", formula_id="A6", seed="003 3.3 D",
        quote=r"- D. C3 \leftrightarrow S4: 参数个数 12, 链接数 $(2*2+1)*16*5*5=2000$",
        wrong="S4 has 12 parameters",
        corrected="S4 has 32 parameters",
        derivation="one trainable coefficient + one bias per feature map, 16 maps: "
                   "(1 + 1) * 16 = 32 (the 12 is S2's count, (1 + 1) * 6, copied; "
                   "LeCun et al. 1998: 'Layer S4 has 32 trainable parameters')",
        test="verification/test_networks.py::test_a6_lenet5_s4"),
    Erratum(
        id="E-A9-table18_1-row3-input", formula_id="A9", seed="004 表18-1 row 3",
        quote="|3|池化|2x2, S=2, Max|2x14x14|2x14x14|",
        wrong="the pooling layer's input size is 2x14x14",
        corrected="2x28x28",
        derivation="row 3's input is row 2's output, 2x28x28 (row 1: 1x1 conv, stride 1: "
                   "(28 - 1)/1 + 1 = 28); a 2x2 pool with stride 2 then gives "
                   "(28 - 2)/2 + 1 = 14, the printed output 2x14x14",
        test="verification/test_networks.py::test_a9_table18_1_rows"),
]


def by_formula(formula_id: str) -> list[Erratum]:
    """The errata of one FORMULAS.md ID."""
    return [e for e in ERRATA if e.formula_id == formula_id]
