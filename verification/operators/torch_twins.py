"""The PyTorch twin of each forward op, as the registry holds it: `twin(torch, *tensors,
**kwargs)`. The torch module is handed in by the caller (verification/harness.py),
so that this module, and the registry that every `cnnref check` worker imports, never
imports torch: a worker that checks NumPy code must not pay two seconds for it.
"""
from __future__ import annotations

from cnnref import reference as ref
from cnnref.verification.core.cases import pair


def conv2d(torch, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """F.conv2d, with asymmetric or 'full' padding applied by F.pad (torch has neither);
    'same' and 'valid' go to torch as strings so that its own rule is what is tested."""
    F = torch.nn.functional
    if padding in ("same", "valid"):
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    (t, b), (l, r) = ref.normalize_padding(padding, tuple(weight.shape[-2:]), pair(dilation),
                                           pair(stride), "conv2d")
    if t == b and l == r:
        return F.conv2d(x, weight, bias, stride, (t, l), dilation, groups)
    return F.conv2d(F.pad(x, (l, r, t, b)), weight, bias, stride, 0, dilation, groups)


def max_pool2d(torch, x, kernel_size, **kwargs):
    return torch.nn.functional.max_pool2d(x, kernel_size, **kwargs)


def avg_pool2d(torch, x, kernel_size, **kwargs):
    return torch.nn.functional.avg_pool2d(x, kernel_size, **kwargs)


def lenet_subsample(torch, x, coefficient, bias, kernel_size=2):
    """Block sums as a depthwise conv with a ones kernel (exact sums), then * beta + b."""
    c = x.shape[1]
    ones = torch.ones((c, 1, kernel_size, kernel_size), dtype=x.dtype, device=x.device)
    sums = torch.nn.functional.conv2d(x, ones, stride=kernel_size, groups=c)
    return sums * coefficient[:, None, None] + bias[:, None, None]


def batch_norm(torch, x, running_mean, running_var, weight=None, bias=None, **kwargs):
    return torch.nn.functional.batch_norm(x, running_mean, running_var, weight, bias,
                                          **kwargs)


def relu(torch, x):
    return torch.nn.functional.relu(x)


def leaky_relu(torch, x, **kwargs):
    return torch.nn.functional.leaky_relu(x, **kwargs)


def sigmoid(torch, x):
    return torch.sigmoid(x)


def tanh(torch, x):
    return torch.tanh(x)


def softmax(torch, x, dim):
    return torch.nn.functional.softmax(x, dim)


def log_softmax(torch, x, dim):
    return torch.nn.functional.log_softmax(x, dim)


def cross_entropy(torch, logits, target):
    return torch.nn.functional.cross_entropy(logits, target)


def dense(torch, x, weight, bias=None):
    return torch.nn.functional.linear(x, weight, bias)
