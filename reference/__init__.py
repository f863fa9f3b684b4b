"""cnnref reference: plain NumPy implementations of the mathematics of CNNs.

Arrays are NCHW, weights (C_out, C_in // groups, kH, kW); names and arguments follow
torch.nn.functional, gradients come from `*_backward(grad_out, <same inputs>)`.
NumPy is the only dependency. No function mutates its inputs.
"""
from .conv import ALGORITHMS, conv1d, conv2d, conv3d
from .conv_auto import choose_algorithm
from .conv_winograd import TILES as WINOGRAD_TILES
from .conv_backward import (METHODS as BACKWARD_METHODS, conv1d_backward, conv2d_backward,
                            conv3d_backward)
from .conv_transpose import (conv_transpose1d, conv_transpose1d_backward, conv_transpose2d,
                             conv_transpose2d_backward, conv_transpose3d,
                             conv_transpose3d_backward)
from .im2col import DEFAULT_WORKSPACE_BYTES
from .shapes import conv_output_shape, conv_output_size, normalize_padding, pool_output_size
from .signal import convolve1d, convolve2d, correlate2d, rot180
from .pooling import (avg_pool1d, avg_pool1d_backward, avg_pool2d, avg_pool2d_backward,
                      avg_pool3d, avg_pool3d_backward, global_avg_pool2d,
                      global_avg_pool2d_backward, global_max_pool2d,
                      global_max_pool2d_backward, max_pool1d, max_pool1d_backward,
                      max_pool2d, max_pool2d_backward, max_pool3d, max_pool3d_backward)
from .pooling_adaptive import (adaptive_avg_pool1d, adaptive_avg_pool1d_backward,
                               adaptive_avg_pool2d, adaptive_avg_pool2d_backward,
                               adaptive_avg_pool3d, adaptive_avg_pool3d_backward,
                               adaptive_bins, adaptive_max_pool1d,
                               adaptive_max_pool1d_backward, adaptive_max_pool2d,
                               adaptive_max_pool2d_backward, adaptive_max_pool3d,
                               adaptive_max_pool3d_backward, lp_pool1d, lp_pool1d_backward,
                               lp_pool2d, lp_pool2d_backward, lp_pool3d, lp_pool3d_backward,
                               max_unpool1d, max_unpool1d_backward, max_unpool2d,
                               max_unpool2d_backward, max_unpool3d, max_unpool3d_backward)
from .unfold import fold, fold_backward, unfold, unfold_backward
from .pooling_documents import (avg_pool2d_backward_kronecker, lenet_subsample,
                                lenet_subsample_backward, max_pool2d_backward_documents)
from .batchnorm import batch_norm, batch_norm_backward, batch_norm_running_stats
from .normalization import (group_norm, group_norm_backward, instance_norm,
                            instance_norm_backward, layer_norm, layer_norm_backward)
from .activations import (leaky_relu, leaky_relu_backward, log_softmax, log_softmax_backward,
                          relu, relu_backward, sigmoid, sigmoid_backward, softmax,
                          softmax_backward, tanh, tanh_backward)
from .losses import (binary_cross_entropy, binary_cross_entropy_backward, cross_entropy,
                     cross_entropy_backward, nll_loss,
                     nll_loss_backward, one_hot, output_error_cross_entropy,
                     output_error_quadratic, quadratic_loss, quadratic_loss_backward)
from .dense import backprop_error, dense, dense_backward, sgd_step
from .counting import (ACTIVATION_FLOPS, NORM_FLOPS, Counts, WeightSharing, activation_bytes,
                       activation_counts, adaptive_pool2d_counts, batchnorm_counts,
                       conv2d_counts, conv_transpose2d_counts, linear_counts,
                       lp_pool2d_counts, norm_counts, pool2d_counts, subsample2d_counts,
                       weight_sharing)
from .receptive import INPUT_FIELD, ReceptiveField, coverage_map, receptive_field_step
from .netspec import (CONNECTION_TABLES, LECUN_C3, Activation, AdaptivePool, BatchNorm, Conv,
                      Deconv, Dense, Flatten, Input, LPPool, Network, Norm, Pool, Subsample,
                      architecture_pattern,
                      format_layer, format_network, parse_network, pattern_of)
from .networks import (BUILTIN as BUILTIN_NETWORKS, get_network, layer_counts, layer_names,
                       network_counts, output_shapes, receptive_fields, summarize)


__all__ = [
    "ALGORITHMS", "BACKWARD_METHODS", "WINOGRAD_TILES", "DEFAULT_WORKSPACE_BYTES",
    "conv2d", "conv2d_backward", "choose_algorithm",
    "conv1d", "conv1d_backward", "conv3d", "conv3d_backward",
    "conv_transpose1d", "conv_transpose1d_backward", "conv_transpose2d",
    "conv_transpose2d_backward", "conv_transpose3d", "conv_transpose3d_backward",
    "conv_output_shape", "conv_output_size", "normalize_padding", "pool_output_size",
    "convolve1d", "convolve2d", "correlate2d", "rot180",
    # pooling, batch norm, activations, losses, dense
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "max_pool1d", "max_pool1d_backward", "avg_pool1d", "avg_pool1d_backward",
    "max_pool3d", "max_pool3d_backward", "avg_pool3d", "avg_pool3d_backward",
    "adaptive_avg_pool1d", "adaptive_avg_pool1d_backward", "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_backward", "adaptive_avg_pool3d", "adaptive_avg_pool3d_backward",
    "adaptive_bins", "adaptive_max_pool1d", "adaptive_max_pool1d_backward",
    "adaptive_max_pool2d", "adaptive_max_pool2d_backward", "adaptive_max_pool3d",
    "adaptive_max_pool3d_backward", "lp_pool1d", "lp_pool1d_backward", "lp_pool2d",
    "lp_pool2d_backward", "lp_pool3d", "lp_pool3d_backward", "max_unpool1d",
    "max_unpool1d_backward", "max_unpool2d", "max_unpool2d_backward", "max_unpool3d",
    "max_unpool3d_backward", "unfold", "unfold_backward", "fold", "fold_backward",
    "global_avg_pool2d", "global_avg_pool2d_backward", "global_max_pool2d",
    "global_max_pool2d_backward", "max_pool2d_backward_documents",
    "avg_pool2d_backward_kronecker", "lenet_subsample", "lenet_subsample_backward",
    "batch_norm", "batch_norm_backward", "batch_norm_running_stats",
    "layer_norm", "layer_norm_backward", "group_norm", "group_norm_backward",
    "instance_norm", "instance_norm_backward",
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid",
    "sigmoid_backward", "tanh", "tanh_backward", "softmax", "softmax_backward",
    "log_softmax", "log_softmax_backward",
    "quadratic_loss", "quadratic_loss_backward", "binary_cross_entropy",
    "binary_cross_entropy_backward", "cross_entropy", "cross_entropy_backward", "one_hot",
    "nll_loss", "nll_loss_backward",
    "output_error_quadratic", "output_error_cross_entropy",
    "dense", "dense_backward", "backprop_error", "sgd_step",
    # counts, receptive fields, networks
    "ACTIVATION_FLOPS", "Counts", "WeightSharing", "activation_bytes", "activation_counts",
    "batchnorm_counts", "conv2d_counts", "linear_counts", "pool2d_counts",
    "subsample2d_counts", "weight_sharing", "NORM_FLOPS", "adaptive_pool2d_counts",
    "conv_transpose2d_counts", "lp_pool2d_counts", "norm_counts",
    "INPUT_FIELD", "ReceptiveField", "coverage_map", "receptive_field_step",
    "CONNECTION_TABLES", "LECUN_C3", "Activation", "BatchNorm", "Conv", "Dense", "Flatten",
    "Input", "Network", "Pool", "Subsample", "architecture_pattern",
    "AdaptivePool", "Deconv", "LPPool", "Norm", "format_layer",
    "format_network", "parse_network", "pattern_of",
    "BUILTIN_NETWORKS", "get_network", "layer_counts", "layer_names", "network_counts",
    "output_shapes", "receptive_fields", "summarize",
]
