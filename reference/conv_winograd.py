"""conv2d by Winograd's minimal filtering F(m x m, 3 x 3) (Lavin & Gray, "Fast Algorithms
for Convolutional Neural Networks", 2016).

One m x m output tile of a 3x3 cross-correlation reads an (m+2) x (m+2) input tile d and
the kernel g; Winograd computes it with (m+2)^2 multiplications instead of 9 m^2:

    Y = A^T [ (G g G^T) . (B^T d B) ] A            (. = elementwise product)

and, summed over the input channels in the transformed domain, one (m+2)^2-batch of
matrix products per chunk: M[xi, nu] (K, T) = U[xi, nu] (K, C) @ V[xi, nu] (C, T), with
U = G g G^T for every filter and V = B^T d B for every tile (T tiles). Multiplications per
output and input channel: (m+2)^2 / m^2 = 4 for F(2x2), 2.25 for F(4x4), against 9 for a
direct sum. Both transforms are matrix products over all tiles and channels at once.

Example (F(2, 3), 1-D): d = [1, 2, 3, 4], g = [1, 0, -1] -> B^T d = [-2, 5, 1, -2],
G g = [1, 0, 1, -1], product [-2, 0, 1, 2], A^T (that) = [-2, -2] = [1 - 3, 2 - 4].

The price is accuracy: the transforms mix every input of a tile with every kernel entry,
and F(4x4)'s matrices hold entries up to 8 and 1/24, so the error is bounded by the same
algorithm run on absolute values (`winograd_magnitude`), not by sum |x w| as a direct sum
(verification/core/tolerances.py derives the bound). Tiles start at output (0, 0); the last
tile row and column are computed on zero-padded input and cropped.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .conv_args import ConvGeometry
from .im2col import DEFAULT_WORKSPACE_BYTES
from .windows import pad2d

# (B^T, G, A^T) of F(m, 3) from Lavin & Gray's interpolation points: 0, 1, -1 and infinity
# for m = 2; 0, 1, -1, 2, -2 and infinity for m = 4. Tested against the 1-D identity
# A^T [(G g) . (B^T d)] = correlate(d, g) in verification/tests/test_winograd.py.
_F2 = (np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float),
       np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]]),
       np.array([[1, 1, 1, 0], [0, 1, -1, -1]], float))
_F4 = (np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                 [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], float),
       np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                 [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]),
       np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                 [0, 1, -1, 8, -8, 1]], float))
TRANSFORMS = {2: _F2, 4: _F4}
# algorithm name -> output tile m of F(m x m, 3 x 3)
TILES = {"winograd2": 2, "winograd4": 4, "winograd": 4}


def winograd_unsupported(geo: ConvGeometry) -> str | None:
    """Why Winograd F(m x m, 3 x 3) cannot compute this convolution, or None."""
    if geo.kernel != (3, 3):
        return f"a 3x3 kernel (weight.shape[2:]={geo.kernel})"
    if geo.stride != (1, 1):
        return f"stride 1 (stride={geo.stride})"
    if geo.dilation != (1, 1):
        return f"dilation 1 (dilation={geo.dilation})"
    return None


def transform_kernel(weight: np.ndarray, geo: ConvGeometry, g_mat: np.ndarray,
                     dtype) -> np.ndarray:
    """U = G g G^T for every filter: (K, Cg, 3, 3) -> (alpha^2, G, Kg, Cg) in `dtype`.

    Computed in float64 and rounded once (the kernel is small): in float32 the transform
    then errs by about one rounding, well inside the 11 the error bound allows it."""
    gg = np.kron(g_mat, g_mat)                                       # (alpha^2, 9)
    u = gg @ weight.reshape(geo.k * geo.c_per_group, 9).T.astype(np.float64)
    return u.reshape(-1, geo.groups, geo.k_per_group, geo.c_per_group).astype(dtype)


def _tiles(xp: np.ndarray, m: int, tiles_hw) -> np.ndarray:
    """Read-only view (n, C, th, tw, alpha, alpha) of the overlapping input tiles: tile
    (a, b) is xp[..., a*m : a*m + m + 2, b*m : b*m + m + 2]."""
    n, c, _, _ = xp.shape
    s = xp.strides
    shape = (n, c) + tuple(tiles_hw) + (m + 2, m + 2)
    strides = s[:2] + (s[2] * m, s[3] * m, s[2], s[3])
    return as_strided(xp, shape=shape, strides=strides, writeable=False)


def _both_sides(mat_t: np.ndarray, data: np.ndarray) -> np.ndarray:
    """mat_t @ D @ mat_t^T for every D = data[:, t] (data (a*a, T) -> (b*b, T)) as one
    matrix product over all T at once: vec(P D P^T) = (P kron P) vec(D) (row-major vec).
    One GEMM with an inner length of a*a beats two with an inner length of a (measured on
    the ResNet 3x3 layer: 0.35 against 0.36 ms per sample for the input transform, 0.18
    against 0.25 for the output transform, one thread, float32)."""
    return np.kron(mat_t, mat_t) @ data


def _bytes_per_sample(geo: ConvGeometry, m: int, itemsize: int) -> int:
    """Workspace of one sample: the gathered tiles and their transform, the transformed
    outputs and the output tiles, alpha^2 (2 C + 2 K) per tile."""
    th, tw = (-(-o // m) for o in geo.out)
    return (m + 2) ** 2 * (2 * geo.c + 2 * geo.k) * th * tw * itemsize


def winograd_chunk(geo: ConvGeometry, m: int, itemsize: int,
                   workspace_bytes: int | None) -> int:
    """Samples per chunk under the workspace cap (at least one), as im2col.chunk_size."""
    cap = DEFAULT_WORKSPACE_BYTES if workspace_bytes is None else workspace_bytes
    return max(1, min(geo.n, cap // _bytes_per_sample(geo, m, itemsize)))


def winograd_peak_bytes(geo: ConvGeometry, m: int, itemsize: int, cap: int) -> int:
    """Estimated peak bytes of conv2d_winograd: the result and its whole-tile buffer, the
    transformed kernel, and one chunk's padded input and workspace (_bytes_per_sample)."""
    th, tw = (-(-o // m) for o in geo.out)
    n = winograd_chunk(geo, m, itemsize, cap)
    result = geo.n * geo.k * geo.out[0] * geo.out[1]
    full = geo.n * geo.k * th * m * tw * m
    padded = n * geo.c * (th * m + 2) * (tw * m + 2)
    kernel = (m + 2) ** 2 * geo.k * geo.c_per_group
    return (result + full + padded + kernel) * itemsize + \
        n * _bytes_per_sample(geo, m, itemsize)


def conv2d_winograd(x: np.ndarray, weight: np.ndarray, geo: ConvGeometry, m: int,
                    workspace_bytes: int | None = None, absolute: bool = False) -> np.ndarray:
    """(N, C, H, W) x (K, C // groups, 3, 3) -> (N, K, Ho, Wo) by F(m x m, 3 x 3), no bias.

    Stride 1, dilation 1 (see winograd_unsupported); any padding, any groups. The batch is
    processed in chunks of samples whose workspace fits `workspace_bytes`. `absolute`:
    run the same algorithm with |B|, |G|, |A| (the caller passes |x|, |w|): the magnitude
    behind the error bound (winograd_magnitude).
    """
    b_t, g_mat, a_t = (np.abs(t) if absolute else t for t in TRANSFORMS[m])
    alpha, dtype = m + 2, x.dtype
    b_t, a_t = b_t.astype(dtype), a_t.astype(dtype)
    u = transform_kernel(weight, geo, g_mat, dtype)                  # (a^2, G, Kg, Cg)
    th, tw = (-(-o // m) for o in geo.out)
    (pt, pb), (pl, pr) = geo.pads
    pads = ((pt, th * m + 2 - geo.hw[0] - pt), (pl, tw * m + 2 - geo.hw[1] - pl))
    ragged = geo.out[0] % m or geo.out[1] % m
    # ragged: whole tiles into a buffer, cropped once at the end; else straight into out
    full = np.empty((geo.n, geo.k, th * m, tw * m), dtype=dtype)
    step = winograd_chunk(geo, m, x.itemsize, workspace_bytes)
    for n0 in range(0, geo.n, step):
        xs = x[n0:n0 + step]
        n = xs.shape[0]
        d = np.ascontiguousarray(_tiles(pad2d(xs, pads), m, (th, tw)).transpose(4, 5, 1, 0, 2, 3))
        v = _both_sides(b_t, d.reshape(alpha * alpha, -1))           # (a^2, C*n*th*tw)
        v = v.reshape(alpha * alpha, geo.groups, geo.c_per_group, -1)
        prod = u * v if geo.c_per_group == 1 else np.matmul(u, v)    # (a^2, G, Kg, T)
        y = _both_sides(a_t, prod.reshape(alpha * alpha, -1))        # (m^2, K*n*th*tw)
        y = y.reshape(m, m, geo.k, n, th, tw).transpose(3, 2, 4, 0, 5, 1)
        full[n0:n0 + n].reshape(n, geo.k, th, m, tw, m)[...] = y
    return np.ascontiguousarray(full[..., :geo.out[0], :geo.out[1]]) if ragged else full


def winograd_magnitude(x: np.ndarray, weight: np.ndarray, geo: ConvGeometry,
                       m: int) -> np.ndarray:
    """|A^T| [ sum_c (|G| |g| |G^T|) . (|B^T| |d| |B|) ] |A| per output, in float64: what
    every rounding error of F(m x m, 3 x 3) is proportional to (no cancellation can hide
    it). Shape (N, K, Ho, Wo)."""
    ax, aw = (np.abs(a).astype(np.float64) for a in (x, weight))
    return conv2d_winograd(ax, aw, geo, m, absolute=True)
