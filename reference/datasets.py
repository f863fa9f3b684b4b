"""Data for training the documents' networks, generated or shipped, NumPy only.

`colour_shapes` draws a data set in the spirit of seed 004 (chapter 18: "colour
classification" and "geometry classification"): one flat shape per image, in one of six
colours, on a dark noisy background. The label is the colour (the Table 18-1 task: the
documents' CNN reached 96.3 % on it, their dense net 81.6 %) or the shape (the geometry
task; the one that suits a one-channel net such as LeNet-5). Thin lines carry few coloured
pixels and large blocks many: the two cases the documents blame for the dense net's errors.

`to_gray` is seed 004's ConvertToGray (0.299 R + 0.587 G + 0.114 B), the preprocessing of
their dense net; `digits_to_lenet` lays scikit-learn's 8x8 handwritten digits out as
LeNet-5's 32x32 input (the loader itself lives in verification/, since reference/ imports
NumPy only).
"""
from __future__ import annotations

import numpy as np

# RGB of each colour class, in label order.
COLOURS = {"red": (1, 0, 0), "green": (0, 1, 0), "blue": (0, 0, 1),
           "yellow": (1, 1, 0), "cyan": (0, 1, 1), "magenta": (1, 0, 1)}
SHAPES = ("line", "rectangle", "disc", "triangle", "diamond", "ring")
GRAY = np.array([0.299, 0.587, 0.114])


def _mask(shape: str, size: int, rng) -> np.ndarray:
    """Boolean (size, size) mask of one shape at a random place, scale and orientation;
    sizes scale with the image (a 28x28 image gets radii of about 4 to 9 pixels)."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    r = rng.uniform(0.15, 0.32) * size
    cy, cx = rng.uniform(r, size - r, 2)
    dy, dx = yy - cy, xx - cx
    if shape == "line":
        t = rng.uniform(0, np.pi)
        along, across = dx * np.cos(t) + dy * np.sin(t), -dx * np.sin(t) + dy * np.cos(t)
        return (np.abs(across) <= 0.04 * size + 0.2) & (np.abs(along) <= r)
    if shape == "rectangle":
        h = r * rng.uniform(0.5, 1.0)
        return (np.abs(dy) <= h) & (np.abs(dx) <= r)
    if shape == "disc":
        return dx ** 2 + dy ** 2 <= r ** 2
    if shape == "triangle":
        return (dy <= r * 0.8) & (np.abs(dx) <= (dy + r) * 0.6)
    if shape == "diamond":
        return np.abs(dx) + np.abs(dy) <= r
    if shape == "ring":
        d = np.sqrt(dx ** 2 + dy ** 2)
        return (d <= r) & (d >= r - max(1.5, 0.08 * size))
    raise ValueError(f"colour_shapes: unknown shape {shape!r} (one of {SHAPES})")


def colour_shapes(n: int, size: int = 28, channels: int = 3, label: str = "colour",
                  seed: int = 0, noise: float = 0.1, dtype=np.float64):
    """n images (n, channels, size, size) in [0, 1] and integer labels (n,).

    Each image: background uniform in [0, noise] per pixel and channel; one shape (uniform
    over SHAPES) painted in one colour (uniform over COLOURS) scaled by a brightness in
    [0.6, 1] and, per pixel, by a texture factor uniform in [1 - noise, 1]. channels=3 keeps RGB; channels=1 keeps the gray level (to_gray). label:
    'colour' -> index into COLOURS (6 classes), 'shape' -> index into SHAPES (6 classes).
    Example: colour_shapes(2, 28)[0].shape == (2, 3, 28, 28). Fixed seed, fixed data.
    """
    if label not in ("colour", "shape"):
        raise ValueError(f"colour_shapes: label must be 'colour' or 'shape', got {label!r}")
    if channels not in (1, 3) or size < 8 or n < 1:
        raise ValueError(f"colour_shapes: need channels in (1, 3), size >= 8, n >= 1; got "
                         f"channels={channels}, size={size}, n={n}")
    rng = np.random.default_rng(seed)
    rgb = np.array(list(COLOURS.values()), dtype=np.float64)
    x = rng.uniform(0, noise, (n, 3, size, size))
    colours = rng.integers(0, len(COLOURS), n)
    shapes = rng.integers(0, len(SHAPES), n)
    for i in range(n):
        m = _mask(SHAPES[shapes[i]], size, rng)
        paint = rgb[colours[i]] * rng.uniform(0.6, 1.0)
        # A little texture: a flat colour would make equal pixels, hence exact ties in
        # max pooling, whose winner then hangs on the last bit of each framework's sums.
        x[i][:, m] = paint[:, None] * (1 - rng.uniform(0, noise, m.sum()))
    if channels == 1:
        x = to_gray(x)
    return x.astype(dtype), (colours if label == "colour" else shapes).astype(np.int64)


def to_gray(x):
    """(N, 3, H, W) RGB -> (N, 1, H, W) luma 0.299 R + 0.587 G + 0.114 B (seed 004).
    Example: pure yellow (1, 1, 0) -> 0.886."""
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"to_gray: x must have shape (N, 3, H, W), got {x.shape}")
    return np.einsum("c,nchw->nhw", GRAY.astype(x.dtype), x)[:, None]


def digits_to_lenet(images, dtype=np.float64):
    """8x8 digit images (N, 8, 8) with values 0..16 -> (N, 1, 32, 32) in [0, 1]: each pixel
    becomes a 3x3 block (24x24) centred in a 32x32 field, as MNIST's 20x20 digits sit in
    LeNet-5's 32x32 input with a blank margin. Example: a 1 at (0, 0) covers
    rows/cols 4..6 of the output."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[1:] != (8, 8):
        raise ValueError(f"digits_to_lenet: images must be (N, 8, 8), got {images.shape}")
    big = np.kron(images / 16.0, np.ones((3, 3)))
    out = np.zeros((len(images), 1, 32, 32))
    out[:, 0, 4:28, 4:28] = big
    return out.astype(dtype)


def split(x, y, test_fraction: float = 0.2, seed: int = 0):
    """A fixed random train/test split: ((x_train, y_train), (x_test, y_test))."""
    order = np.random.default_rng(seed).permutation(len(x))
    cut = len(x) - int(round(test_fraction * len(x)))
    return (x[order[:cut]], y[order[:cut]]), (x[order[cut:]], y[order[cut:]])


def batches(n: int, batch_size: int, steps: int, seed: int = 0):
    """Index arrays of `steps` mini-batches: epochs of a seeded permutation of range(n),
    each cut into full batches (a short last batch is dropped, so every batch has
    batch_size samples). Both sides of a parity run use the same list."""
    if batch_size > n or batch_size < 1:
        raise ValueError(f"batches: batch_size={batch_size} must lie in [1, n={n}]")
    rng, out = np.random.default_rng(seed), []
    while len(out) < steps:
        order = rng.permutation(n)
        out += [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
    return out[:steps]
