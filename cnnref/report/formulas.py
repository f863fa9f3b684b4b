"""The formula catalogue (FORMULAS.md of the shared project folder): every ID with what it
says and its source seeds, as a checked copy, so the correctness report works where the
shared folder is absent (a user's clone). verification/tests/test_correctness_report.py checks
that the copy equals `parse(FORMULAS.md)` whenever that file is present.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A catalogue row: "| A1 | what | source |" (IDs are a letter A-D and a number).
ROW = re.compile(r"^\| ([A-D]\d+) \| (.*) \| (.*) \|$")


@dataclass(frozen=True)
class Formula:
    id: str
    what: str
    source: str


def parse(text: str) -> tuple[Formula, ...]:
    """The catalogue rows of FORMULAS.md, in file order. Example: the line
    '| B10 | RGB to grey ... | 004 |' gives Formula('B10', 'RGB to grey ...', '004')."""
    return tuple(Formula(*m.groups()) for m in map(ROW.match, text.splitlines()) if m)


def shared_dirs() -> list[Path]:
    """Where the documents' shared folder may be: $CNNREF_SHARED, ../shared beside the
    repository (CI clones), /work/shared."""
    out = [Path(os.environ["CNNREF_SHARED"])] if os.environ.get("CNNREF_SHARED") else []
    return out + [ROOT.parent / "shared", Path("/work/shared")]


def formulas_md() -> Path | None:
    """FORMULAS.md in the first of shared_dirs() that has it; None when absent (users'
    clones)."""
    return next((p / "FORMULAS.md" for p in shared_dirs() if (p / "FORMULAS.md").exists()),
                None)


def seeds_dir() -> Path | None:
    """The folder of the documents' text files (000_*.txt ... 004_*.txt): $CNNREF_SEEDS,
    else seeds/ in the first of shared_dirs() that has it; None when absent. The tests
    that quote the documents skip without it."""
    if os.environ.get("CNNREF_SEEDS"):
        return Path(os.environ["CNNREF_SEEDS"])
    return next((p / "seeds" for p in shared_dirs() if any((p / "seeds").glob("0*.txt"))),
                None)


def seed_text(number: str) -> str | None:
    """The text of seed `number` ('000' ... '004') from seeds_dir(); None when absent."""
    folder = seeds_dir()
    files = sorted(folder.glob(f"{number}_*.txt")) if folder else []
    return files[0].read_text(encoding="utf-8") if files else None


def order_key(formula_id: str) -> tuple[str, int]:
    """'C12' -> ('C', 12): catalogue order (A1 < A2 < A10 < B1)."""
    return formula_id[0], int(formula_id[1:])


CATALOGUE: tuple[Formula, ...] = (
    Formula('A1', 'Output size `W2 = (W1 - F + 2P)/S + 1`, per axis (height and width '
            'separately, non-square), with the floor: `floor((l + 2p - k)/s) + 1`',
            '000 eq.2-3, 001, 002, 003'),
    Formula('A2', 'Padding modes: valid (`p = 0`), same/half (`p = (k-1)/2`, odd k, s = 1 '
            'gives `o = i`), full (`p = k-1` gives `o = i + k - 1`)',
            '002, 003'),
    Formula('A3', 'Volume rule: `[n, n, nc] * [f, f, nc] -> [floor((n+2p-f)/s + 1), '
            'floor(...), nf]`; number of feature maps = number of filters',
            '000, 002'),
    Formula('A4', 'Conv parameters: `(F*F*D + 1) * K` with bias; `c_in * c_out * k_w * k_h`'
            ' without',
            '000, 001'),
    Formula('A5', 'Conv cost: `c_in * c_out * l_w_out * l_h_out * k_w * k_h` '
            'multiply-accumulates; connections `(k*k*c + 1) * K * H_out * W_out`',
            '001, 003'),
    Formula('A6', 'LeNet-5 per-layer parameters and connections (C1, S2, C3 with its '
            'partial S2->C3 connection table, S4, C5, F6)',
            '003'),
    Formula('A7', 'Fully connected vs locally connected vs shared weights: 1000x1000 image,'
            ' 10^6 hidden units, 10x10 receptive field',
            '003'),
    Formula('A8', 'Receptive field of a unit in a stack of layers',
            '001'),
    Formula('A9', 'Architecture pattern `INPUT -> [[CONV]*N -> POOL?]*M -> [FC]*K` and its '
            'example (N=1, M=2, K=2); the colour-classification CNN of Table 18-1 '
            "with each layer's input and output size",
            '000, 004'),
    Formula('A10', 'Pixel-position impact: how many output windows each input pixel takes '
            'part in',
            '002 Fig.5'),
    Formula('B1', '1-D convolution, discrete `s(t) = sum_a x(a) w(t-a)` (and the continuous'
            ' form it approximates)',
            '001, 003, 004'),
    Formula('B2', '2-D (mathematical) convolution `C = A * B`, full size `(ma + mb - 1) x '
            '(na + nb - 1)`; commutativity',
            '000 eq.5, 004 eq.3-4'),
    Formula('B3', 'Cross-correlation `h(i,j) = sum_m sum_n I(i+m, j+n) K(m,n)`; convolution'
            ' = cross-correlation with the kernel rotated 180 degrees',
            '000, 001, 004 eq.5'),
    Formula('B4', 'Single-channel conv layer with bias and activation `a_ij = f(sum_m sum_n'
            ' w_mn x_(i+m)(j+n) + w_b)`, stride 1 and stride 2',
            '000 eq.1'),
    Formula('B5', 'Multi-channel conv `a_ij = f(sum_d sum_m sum_n w_dmn x_d(i+m)(j+n) + '
            'w_b)`; several filters; several input channels',
            '000 eq.4, 004 eq.10-13'),
    Formula('B6', 'Matrix form `A = f(sum_d X_d * W_d + w_b)` (stride 1)',
            '000 eq.6'),
    Formula('B7', 'Forward algorithms: nested loops, compiled loops (numba), im2col + '
            'matrix multiply, FFT (convolution theorem)',
            '003, 004'),
    Formula('B8', 'Worked examples: 5x5 image and 3x3 kernel -> '
            '`[[12,12,17],[10,17,19],[9,6,14]]`; 5x5 with 3x3 stride 1 -> 3x3 and '
            'stride 2 -> 2x2; 7x7x3 input, two 3x3x3 filters, stride 2, pad 1 -> '
            '3x3x2 with 56 parameters; 6x6 with 3x3 -> 4x4, with pad 1 -> 6x6',
            '000, 002, 003'),
    Formula('B9', 'Image kernels and their effects: identity, sharpen (two variants), '
            'surround, vertical and horizontal edge, Sobel x and y, blur (box), '
            'emboss',
            '003, 004'),
    Formula('B10', 'RGB to grey `Y = 0.299 R + 0.587 G + 0.114 B` and its worked number',
            '004'),
    Formula('C1', 'Dense layer `Z = W X + B`, `A = f(Z)`',
            '003'),
    Formula('C2', 'Costs: quadratic `1/(2n) sum ||y - a||^2`, binary cross-entropy, softmax'
            ' with multi-class cross-entropy',
            '003, 004'),
    Formula('C3', "Output error `delta_L = (A - Y) * f'(Z)` (quadratic), `= A - Y` "
            '(cross-entropy with sigmoid; softmax with cross-entropy)',
            '003 eq.3-4'),
    Formula('C4', "Back-propagated error `delta_l = (W_(l+1))^T delta_(l+1) * f'(z_l)`; "
            '`dC/dw_ij = delta_i a_j`; `dC/db = delta`',
            '003 eq.1,2,5'),
    Formula('C5', 'Gradient descent `W <- W - eta dC/dW`',
            '003'),
    Formula('C6', "Activations and their derivatives: sigmoid `f' = f(1-f)`, tanh, ReLU, "
            'leaky ReLU',
            '000, 003'),
    Formula('C7', 'Conv input gradient, stride 1: full convolution of the error map with '
            "the 180-degree-rotated kernel, times `f'`",
            '000 eq.8, 002, 003, 004 eq.14-15'),
    Formula('C8', 'Stride S: expand the error map by inserting S-1 zeros between its '
            'elements, then C7',
            '000'),
    Formula('C9', 'Depth D and N filters: the partial error maps of all filters are summed',
            '000 eq.9'),
    Formula('C10', 'Weight gradient: valid cross-correlation of the layer input with the '
            'error map',
            '000, 002, 003'),
    Formula('C11', 'Bias gradient: sum of the error map',
            '000, 002, 004 eq.12-13'),
    Formula('C12', 'Max pooling forward; backward routes the error to the position of the '
            'maximum, zero elsewhere',
            '000, 002, 004'),
    Formula('C13', 'Mean pooling forward; backward spreads the error evenly, `delta_(l-1) = '
            'delta_l (Kronecker) ones(n,n)/n^2`',
            '000, 004'),
    Formula('C14', 'LeNet subsampling layer with trainable coefficient and bias; its '
            "backward `delta = beta * (f'(z) * up(delta_next))`",
            '003'),
    Formula('C15', 'Batch normalisation `y = gamma (x - mu)/sqrt(sigma^2 + eps) + beta` per '
            'channel over the mini-batch, and its gradients',
            '001, 004'),
    Formula('C16', 'A learned kernel makes convolution and cross-correlation '
            'interchangeable: `conv(x, w) == xcorr(x, rot180(w))`',
            '001, 004'),
    Formula('D1', 'Pure-Python loop convolution 38.06 s for 10 runs; numba 0.07 s, about '
            '500x faster; im2col faster still',
            '004'),
    Formula('D2', 'im2col trades memory for speed (the unrolled matrix is k*k times the '
            'input)',
            '003'),
    Formula('D3', 'Colour classification: dense net about 81.6 % test accuracy, the small '
            'CNN of Table 18-1 about 96.3 %',
            '004'),
)
IDS: tuple[str, ...] = tuple(f.id for f in CATALOGUE)
