"""A generated image data set in the spirit of seed 004's colour-and-shape classification
(no download is possible at run time): every class is a (colour, shape) pair drawn at a
random position and size on a noisy background, with a fixed seed.

shapes_dataset(n, channels=3, size=28, classes=6) -> (x (n, channels, size, size), y (n,)).
With 3 channels the 6 classes are {red, green, blue} x {square, cross}; with 1 channel
(LeNet-5's 1x32x32 input) the classes are 10 shapes. Example: shapes_dataset(4)[0].shape ==
(4, 3, 28, 28).
"""
from __future__ import annotations

import numpy as np

SHAPES = ("square", "cross", "hbar", "vbar", "diag", "antidiag", "frame", "dot", "ring", "tee")


def _mask(shape: str, size: int, rng) -> np.ndarray:
    """A size x size 0/1 mask of one shape at a random place and scale."""
    s = int(rng.integers(size // 4, size // 2 + 1))
    r0, c0 = (int(v) for v in rng.integers(0, size - s + 1, 2))
    yy, xx = np.mgrid[0:s, 0:s]
    mid = s // 2
    pattern = {
        "square": np.ones((s, s)), "cross": (abs(yy - mid) <= s // 8) | (abs(xx - mid) <= s // 8),
        "hbar": abs(yy - mid) <= s // 6, "vbar": abs(xx - mid) <= s // 6,
        "diag": abs(yy - xx) <= 1, "antidiag": abs(yy + xx - (s - 1)) <= 1,
        "frame": (yy < 2) | (xx < 2) | (yy >= s - 2) | (xx >= s - 2),
        "dot": (yy - mid) ** 2 + (xx - mid) ** 2 <= (s / 5) ** 2,
        "ring": abs(np.hypot(yy - mid, xx - mid) - s / 3) <= 1,
        "tee": (yy < max(2, s // 5)) | (abs(xx - mid) <= s // 8),
    }[shape]
    out = np.zeros((size, size))
    out[r0:r0 + s, c0:c0 + s] = pattern
    return out


def shapes_dataset(n: int, channels: int = 3, size: int = 28, classes: int = 6, seed: int = 0,
                   noise: float = 0.1):
    """(x, y): images in [0, 1] plus Gaussian noise, labels 0..classes-1, balanced."""
    if channels not in (1, 3):
        raise ValueError(f"shapes_dataset: channels must be 1 or 3, got {channels}")
    if channels == 3 and classes > 6 or classes > len(SHAPES):
        raise ValueError(f"shapes_dataset: at most {6 if channels == 3 else len(SHAPES)} "
                         f"classes for {channels} channels, got {classes}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    rng.shuffle(y)
    x = rng.normal(0.0, noise, (n, channels, size, size))
    for i, label in enumerate(y):
        if channels == 3:
            colour, shape = label % 3, SHAPES[label // 3]
            x[i, colour] += _mask(shape, size, rng)
        else:
            x[i, 0] += _mask(SHAPES[label], size, rng)
    return x, y.astype(np.int64)
