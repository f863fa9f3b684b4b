"""Output-size rules and padding normalisation (FORMULAS A1-A3).

The documents write the rule as ``W2 = (W1 - F + 2P)/S + 1`` (seed 000 eq. 2-3). That is only
right when the division is exact; in general it is floored, and with dilation ``d`` the
kernel spans ``d*(F-1) + 1`` pixels:

    out = floor((in + pad_before + pad_after - d*(k - 1) - 1) / s) + 1

Worked example (seed 000): 5x5 image, 3x3 filter, P=0, S=2 -> floor((5 - 3)/2) + 1 = 2.
"""
from __future__ import annotations

from ._validate import _is_int, boolean, check_window_fits, ntuple, pair

Pads = tuple[tuple[int, int], ...]   # one (before, after) per axis: ((top, bottom), (left, right))


def conv_output_size(input_size: int, kernel_size: int, stride: int = 1, padding=0,
                     dilation: int = 1) -> int:
    """Length of one output axis of a convolution.

    `padding` is an int (both sides), a pair `(before, after)`, or 'valid' / 'same' / 'full'.
    Example (seed 000's 7x7x3 -> 3x3x2 layer): conv_output_size(7, 3, stride=2, padding=1)
    == floor((7 + 1 + 1 - 3) / 2) + 1 == 4. The seed's 3x3 comes from its figure, whose
    input is 5x5 plus one ring of zeros (see the errata).
    """
    func = "conv_output_size"
    for name, v in (("input_size", input_size), ("kernel_size", kernel_size),
                    ("stride", stride), ("dilation", dilation)):
        if not _is_int(v):
            raise TypeError(f"{func}: {name} must be an int, got {v!r}")
        if v < 1:
            raise ValueError(f"{func}: {name} must be >= 1, got {v!r}")
    before, after = _axis_padding(padding, kernel_size, dilation, stride, func)
    (span,) = check_window_fits(func, (input_size,), (kernel_size,), ((before, after),),
                                (dilation,), axes=("the axis",))
    return (input_size + before + after - span) // stride + 1


def _axis_padding(padding, kernel_size, dilation, stride, func) -> tuple[int, int]:
    if isinstance(padding, str):
        return _string_padding(padding, kernel_size, dilation, stride, func)
    if _is_int(padding):
        before = after = int(padding)
    elif isinstance(padding, (tuple, list)) and len(padding) == 2 and all(map(_is_int, padding)):
        before, after = int(padding[0]), int(padding[1])
    else:
        raise TypeError(f"{func}: padding must be an int, a pair or 'valid'/'same'/'full', "
                        f"got {padding!r}")
    if before < 0 or after < 0:
        raise ValueError(f"{func}: padding must be >= 0, got {padding!r}")
    return before, after


def _string_padding(mode, kernel_size, dilation, stride, func) -> tuple[int, int]:
    """'valid': none. 'same': output == input at stride 1; an odd total puts the extra pixel
    after (right/bottom), as PyTorch and TensorFlow do. 'full': every partial overlap."""
    total = dilation * (kernel_size - 1)
    if mode == "valid":
        return 0, 0
    if mode == "same":
        if stride != 1:
            raise ValueError(f"{func}: padding='same' needs stride 1 (PyTorch refuses it "
                             f"otherwise), got stride={stride}")
        return total // 2, total - total // 2
    if mode == "full":
        return total, total
    raise ValueError(f"{func}: padding string must be 'valid', 'same' or 'full', got {mode!r}")


def _caller(func, who: str) -> str:
    if not isinstance(func, str):
        raise TypeError(f"{who}: func must be the calling function's name (a str), got "
                        f"{func!r}")
    return func


def _axes_of(*sizes) -> int:
    """The number of spatial axes the size arguments describe: the length most of the
    sequences among them share (1, 2 or 3), 2 when none is a sequence or on a tie (then
    the odd one out is refused by name)."""
    lengths = [len(v) for v in sizes if isinstance(v, (tuple, list)) and len(v) in (1, 2, 3)]
    best = max(set(lengths), key=lengths.count, default=2)
    return best if lengths.count(best) > lengths.count(2) or best == 2 else 2


def normalize_padding(padding, kernel_hw, dilation_hw, stride_hw, func: str) -> Pads:
    """Any accepted padding form -> one (before, after) pair per spatial axis.

    The number of axes is len(kernel_hw) (1, 2 or 3; an int kernel means 2-D). Accepted:
    int, one int per axis ((h, w) in 2-D), one (before, after) pair per axis (((top,
    bottom), (left, right)) in 2-D, ((before, after),) in 1-D), 'valid', 'same', 'full'.
    `func` names the caller in the messages. Example: normalize_padding('same', (3, 4),
    (1, 1), (1, 1), 'conv2d') == ((1, 1), (1, 2)).
    """
    func = _caller(func, "normalize_padding")
    nd = _axes_of(kernel_hw, dilation_hw, stride_hw)
    kernel_hw = ntuple(kernel_hw, nd, "kernel_hw", func, 1)
    dilation_hw = ntuple(dilation_hw, nd, "dilation_hw", func, 1)
    stride_hw = ntuple(stride_hw, nd, "stride_hw", func, 1)
    if isinstance(padding, str):
        return tuple(_string_padding(padding, k, d, s, func)
                     for k, d, s in zip(kernel_hw, dilation_hw, stride_hw))
    if (isinstance(padding, (tuple, list)) and len(padding) == nd
            and all(isinstance(p, (tuple, list)) for p in padding)):
        return tuple(_axis_padding(tuple(p), k, d, s, func)
                     for p, k, d, s in zip(padding, kernel_hw, dilation_hw, stride_hw))
    return tuple((p, p) for p in ntuple(padding, nd, "padding", func, minimum=0))


def conv_output_shape(input_hw, kernel_hw, stride_hw, pads: Pads, dilation_hw,
                      func: str = "conv2d") -> tuple[int, ...]:
    """Output size of a convolution along every spatial axis ((Ho, Wo) in 2-D), with a
    message naming every shape when it is empty. `pads` holds one (before, after) pair per
    axis; `func` names the caller in the messages."""
    func = _caller(func, "conv_output_shape")
    nd = _axes_of(input_hw, kernel_hw, stride_hw, dilation_hw)
    input_hw = ntuple(input_hw, nd, "input_hw", func, 1)
    kernel_hw = ntuple(kernel_hw, nd, "kernel_hw", func, 1)
    stride_hw = ntuple(stride_hw, nd, "stride_hw", func, 1)
    dilation_hw = ntuple(dilation_hw, nd, "dilation_hw", func, 1)
    if not (isinstance(pads, (tuple, list)) and len(pads) == nd):
        raise TypeError(f"{func}: pads must hold one (before, after) pair per axis, got "
                        f"{pads!r}")
    pads = tuple(pair(tuple(p) if isinstance(p, list) else p, "pads", func, 0) for p in pads)
    spans = check_window_fits(func, input_hw, kernel_hw, pads, dilation_hw)
    return tuple((i + pb + pa - span) // s + 1
                 for i, span, s, (pb, pa) in zip(input_hw, spans, stride_hw, pads))


def pool_output_size(input_size: int, kernel_size: int, stride: int, pad_before: int,
                     pad_after: int, dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length of pooling along one axis, PyTorch's rule extended to asymmetric pads.

    ceil_mode rounds the division up, but a last window that would *start* in the right
    padding is dropped (PyTorch `pooling_output_shape`, ONNX reference pooling). Example:
    in=5, k=2, s=2, p=0: floor -> 2, ceil -> 3 (the third window starts at 4 < 5, kept).
    """
    func = "pool_output_size"
    for name, v, low in (("input_size", input_size, 1), ("kernel_size", kernel_size, 1),
                         ("stride", stride, 1), ("pad_before", pad_before, 0),
                         ("pad_after", pad_after, 0), ("dilation", dilation, 1)):
        if not _is_int(v):
            raise TypeError(f"{func}: {name} must be an int, got {v!r}")
        if v < low:
            raise ValueError(f"{func}: {name} must be >= {low}, got {v!r}")
    ceil_mode = boolean(ceil_mode, "ceil_mode", func)
    (span,) = check_window_fits(func, (input_size,), (kernel_size,), ((pad_before, pad_after),),
                                (dilation,), axes=("the axis",))
    numer = input_size + pad_before + pad_after - span
    out = (-(-numer // stride) if ceil_mode else numer // stride) + 1
    if ceil_mode and (out - 1) * stride >= input_size + pad_before:
        out -= 1
    return out
