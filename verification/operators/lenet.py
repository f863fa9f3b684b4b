"""LeNet's trainable subsampling (FORMULAS C14): block sum times a per-map coefficient plus
a per-map bias. Compared with PyTorch by the test suite; not part of `cnnref check`'s
battery (no cases), since it is LeNet's own layer, not a torch.nn.functional one.
"""
from __future__ import annotations

from cnnref.verification.core import tolerances
from cnnref.verification.operators.op import Op

def torch_lenet_subsample(torch, x, coefficient, bias, kernel_size=2):
    """Block sums as a depthwise conv with a ones kernel (exact sums), then * beta + b."""
    c = x.shape[1]
    ones = torch.ones((c, 1, kernel_size, kernel_size), dtype=x.dtype, device=x.device)
    sums = torch.nn.functional.conv2d(x, ones, stride=kernel_size, groups=c)
    return sums * coefficient[:, None, None] + bias[:, None, None]


OPS = (
    Op("lenet_subsample", ("x", "coefficient", "bias"), defaults={"kernel_size": 2},
       torch=torch_lenet_subsample, differentiable=("x", "coefficient", "bias"),
       backward="lenet_subsample_backward", rule=tolerances.lenet_subsample_rule),
    Op("lenet_subsample_backward", ("grad_out", "x", "coefficient", "bias"),
       defaults={"kernel_size": 2}, outputs=("grad_x", "grad_coefficient", "grad_bias"),
       rule=tolerances.lenet_subsample_backward_rule),
)
