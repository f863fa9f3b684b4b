"""The errata registry: every number or statement of the documents that does not hold.

One `Erratum` per mistake. The test named in `test` asserts the corrected value (derived
there from the formula) and checks that the document really prints the wrong one, so an
entry cannot go stale silently; verification/tests/test_networks.py checks every entry's quote
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
        test="verification/tests/test_networks.py::test_a6_lenet5_s4"),
    Erratum(
        id="E-A9-table18_1-row3-input", formula_id="A9", seed="004 表18-1 row 3",
        quote="|3|池化|2x2, S=2, Max|2x14x14|2x14x14|",
        wrong="the pooling layer's input size is 2x14x14",
        corrected="2x28x28",
        derivation="row 3's input is row 2's output, 2x28x28 (row 1: 1x1 conv, stride 1: "
                   "(28 - 1)/1 + 1 = 28); a 2x2 pool with stride 2 then gives "
                   "(28 - 2)/2 + 1 = 14, the printed output 2x14x14",
        test="verification/tests/test_networks.py::test_a9_table18_1_rows"),
    # --- found by a full read of seeds 000-004 ----------------------------------------
    Erratum(
        id="E-B8-seed000-7x7x3-pad-1", formula_id="B8", seed="000 式4 figure",
        quote="我们可以看到7*7*3输入，经过两个3*3*3filter的卷积(步幅为2)，得到了3*3*2的输出。"
              "另外我们也会看到下图的Zero padding是1",
        wrong="a 7x7x3 input with zero padding 1, 3x3 filters, stride 2 gives 3x3x2",
        corrected="4x4x2 (or: the input is 5x5x3, the 7x7 already includes the padding)",
        derivation="floor((7 + 2*1 - 3)/2) + 1 = 4; the figure's 7x7 is a 5x5 input plus "
                   "one ring of zeros: floor((5 + 2 - 3)/2) + 1 = 3",
        test="verification/tests/test_seed_conv_examples.py::"
             "test_b8_seed000_two_3x3x3_filters_stride_2_pad_1"),
    Erratum(
        id="E-A1-seed000-no-floor", formula_id="A1", seed="000 式2-3",
        quote="事实上，它们满足下面的关系",
        wrong="W2 = (W1 - F + 2P)/S + 1 (eq. 2-3, an image, as FORMULAS.md transcribes it), "
              "no floor",
        corrected="W2 = floor((W1 - F + 2P)/S) + 1",
        derivation="W1 = 6, F = 3, P = 0, S = 2: (6 - 3)/2 + 1 = 2.5 is not a size; the "
                   "windows start at columns 0 and 2, so W2 = floor(1.5) + 1 = 2",
        test="verification/tests/test_seed_conv_examples.py::test_a1_floor_is_needed"),
    Erratum(
        id="E-A1-seed003-no-floor", formula_id="A1", seed="003 3.2.1 (5)",
        quote=r"$o = \frac{i-k+2p}{s} + 1$",
        wrong="o = (i - k + 2p)/s + 1, no floor",
        corrected="o = floor((i - k + 2p)/s) + 1",
        derivation="i = 6, k = 3, p = 0, s = 2: (6 - 3)/2 + 1 = 2.5; two windows fit: 2",
        test="verification/tests/test_seed_conv_examples.py::test_a1_floor_is_needed"),
    Erratum(
        id="E-A1-seed000-H1-width", formula_id="A1", seed="000 式2-3",
        quote="H1是卷积前图像的宽度",
        wrong="H1 is the width of the input image",
        corrected="H1 is the height of the input image",
        derivation="a 7-high, 5-wide image, F = 3, S = 2: H2 = (7 - 3)/2 + 1 = 3 from the "
                   "height; the width would give 2",
        test="verification/tests/test_errata.py::test_a1_seed000_h1_is_the_input_height"),
    Erratum(
        id="E-C9-seed000-D-N-swapped", formula_id="C9", seed="000 filter数量为N时的误差传递",
        quote="先使用第d个filter对第j层相应的第d个sensitivity map进行卷积，得到一组N个j-1层的偏"
              "sensitivity map。依次用每个filter做这种卷积，就得到D组偏sensitivity map。最后在"
              "各组之间将N个偏sensitivity map 按元素相加，得到最终的N个j-1层的sensitivity map",
        wrong="each filter gives a group of N partial maps; D groups; N final maps",
        corrected="each filter gives a group of D partial maps (one per input channel); N "
                  "groups (one per filter); summing the N groups gives the D maps of layer j-1",
        derivation="layer j-1 has depth D; filter k maps its error map back through its D "
                   "kernels; grad_x = sum over the N filters (checked with D = 2, N = 3)",
        test="verification/tests/test_errata.py::"
             "test_c9_seed000_partial_maps_d_per_filter_summed_over_n"),
    Erratum(
        id="E-C3-seed003-bce-derivative-sign", formula_id="C3", seed="003 公式4",
        quote=r"\left(-\frac{Y}{A^{(L)}} - \frac{(1 - Y)}{(1 - A^{(L)})} \right)",
        wrong="dC/dA = -Y/A - (1 - Y)/(1 - A)",
        corrected="dC/dA = -Y/A + (1 - Y)/(1 - A) = (A - Y)/(A(1 - A))",
        derivation="d/dA[-(1 - Y) ln(1 - A)] = +(1 - Y)/(1 - A); at A = 1/4, Y = 0: 4/3, "
                   "not -4/3 (the printed end result (A - Y)/(A(1 - A)) is right)",
        test="verification/tests/test_errata.py::test_c3_seed003_cross_entropy_derivative_sign"),
    Erratum(
        id="E-B7-seed003-loop-bounds", formula_id="B7", seed="003 3.3.1",
        quote="output(w, h, m) += input(w+x, h+y, c) * filter(m, x, y, c)",
        wrong="loops 'for w in 1..W', 'for h in 1..H' reading input(w+x, h+y, c), x, y in 1..K",
        corrected="w in 1..W-K+1, h in 1..H-K+1, reading input(w+x-1, h+y-1, c)",
        derivation="the output has W - K + 1 columns (A1 with p = 0, s = 1); as printed the "
                   "read index reaches W + K, past the input",
        test="verification/tests/test_errata.py::test_b7_seed003_pseudocode_loop_bounds"),
    Erratum(
        id="E-C7-seed004-a122-label", formula_id="C7", seed="004 3 有多个输入时的梯度计算",
        quote=r"\frac{\partial J}{\partial a_{111}}&=\frac{\partial J}{\partial z_{11}}"
              r"\frac{\partial z_{11}}{\partial a_{122}}",
        wrong="the left-hand side reads dJ/da_111",
        corrected="dJ/da_122 (= delta_z11 w_122 + delta_z12 w_121 + delta_z21 w_112 + "
                  "delta_z22 w_111, as printed on the right)",
        derivation="a_122 enters z11, z12, z21, z22 with w_122, w_121, w_112, w_111 (eq. "
                   "10-13); a_111 enters z11 only: dJ/da_111 = delta_z11 w_111",
        test="verification/tests/test_errata.py::test_c7_seed004_gradient_labels_a122_a222"),
    Erratum(
        id="E-C7-seed004-a222-label", formula_id="C7", seed="004 3 有多个输入时的梯度计算",
        quote=r"\frac{\partial J}{\partial a_{211}}&=\frac{\partial J}{\partial z_{11}}"
              r"\frac{\partial z_{11}}{\partial a_{222}}",
        wrong="the left-hand side reads dJ/da_211",
        corrected="dJ/da_222 (= delta_z11 w_222 + delta_z12 w_221 + delta_z21 w_212 + "
                  "delta_z22 w_211)",
        derivation="as for a_122, in the second input channel",
        test="verification/tests/test_errata.py::test_c7_seed004_gradient_labels_a122_a222"),
    Erratum(
        id="E-C11-seed004-bias-gradient-is-a-sum", formula_id="C11", seed="004 3 偏移的梯度计算",
        quote=r"\delta_b = \delta_{in} \tag{13}",
        wrong="delta_b = delta_in (the error map itself)",
        corrected="delta_b = sum of all elements of delta_in (a scalar per filter)",
        derivation="dJ/db = sum_ij dJ/dz_ij * 1, the line above it (eq. 12)",
        test="verification/tests/test_errata.py::test_c11_seed004_bias_gradient_is_the_sum"),
    Erratum(
        id="E-C13-seed004-mean-pool-partials", formula_id="C13", seed="004 4 Mean Pooling",
        quote="因为a,b,e,f对w都有贡献，所以偏导数都为1",
        wrong="the partial derivatives of the mean are all 1",
        corrected="each is 1/4 (as the formulas just above it say)",
        derivation="w = (a + b + e + f)/4, dw/da = 1/4",
        test="verification/tests/test_errata.py::test_c13_seed004_mean_pool_partials_are_a_quarter"),
    Erratum(
        id="E-B9-seed004-blur-0.11", formula_id="B9", seed="004 卷积的效果 (blur)",
        quote="0.11,0.11,0.11 <br>0.11,0.11,0.11<br>0.11,0.11,0.11",
        wrong="blur kernel with 0.11 in each of its 9 taps (weights sum to 0.99)",
        corrected="1/9 = 0.111... in each tap (weights sum to 1)",
        derivation="9 * 0.11 = 0.99: a flat region of 100 becomes 99, the 'average' darkens "
                   "by 1 %",
        test="verification/tests/test_seed_kernels.py::test_b9_seed004_blur_0_11_sums_to_0_99"),
    Erratum(
        id="E-B10-seed004-coefficient-0.586", formula_id="B10", seed="004 1.实现颜色分类 公式1",
        quote=r"Y &= 0.299 \cdot R + 0.586 \cdot G + 0.114 \cdot B",
        wrong="Y = 0.299 R + 0.586 G + 0.114 B, and (255, 255, 0) -> 225.675",
        corrected="Y = 0.299 R + 0.587 G + 0.114 B (the code above it), (255, 255, 0) -> 225.93",
        derivation="0.299*255 + 0.587*255 = 76.245 + 149.685 = 225.93 (225.675 is the "
                   "arithmetic with 0.586); with 0.586 the weights sum to 0.999, not 1",
        test="verification/tests/test_seed_misc.py::test_b10_seed004_worked_number"),
    Erratum(
        id="E-B10-seed004-pink-is-yellow", formula_id="B10", seed="004 1.实现颜色分类",
        quote="也就是说粉色的数值本来是(255,255,0)",
        wrong="(255, 255, 0) is pink",
        corrected="(255, 255, 0) is yellow",
        derivation="additive RGB: full red + full green, no blue = yellow "
                   "(reference.datasets.COLOURS['yellow'] == (1, 1, 0))",
        test="verification/tests/test_seed_misc.py::test_b10_seed004_255_255_0_is_yellow"),
    Erratum(
        id="E-B10-seed004-gray-branch-no-loop", formula_id="B10", seed="004 ConvertToGray",
        quote="        elif C == 1: # gray\n            new_data[i] = data[i,0].reshape(1,784)",
        wrong="the grey branch assigns new_data[i] without a loop over i",
        corrected="new_data = data[:, 0].reshape(N, H*W) (every sample)",
        derivation="running the printed function on a (2, 1, 28, 28) batch raises NameError "
                   "(i is only bound by the colour branch's loop)",
        test="verification/tests/test_seed_misc.py::test_b10_seed004_convert_to_gray_gray_branch"),
    Erratum(
        id="E-A4-seed004-alexnet-neurons", formula_id="A4", seed="004 0.经典的卷积神经网络模型",
        quote="AlexNet有60 million个参数和65000个神经元",
        wrong="AlexNet has 65000 neurons",
        corrected="about 650,000 (659,272 units in its layers); 60 million parameters holds "
                  "(60,965,224)",
        derivation="55*55*96 + 27*27*256 + 2*13*13*384 + 13*13*256 + 4096 + 4096 + 1000 = "
                   "659,272 (Krizhevsky et al. 2012: 650,000 neurons)",
        test="verification/tests/test_errata.py::test_a4_seed004_alexnet_neurons_and_parameters"),
    Erratum(
        id="E-B3-seed004-6-rotated-90", formula_id="B3", seed="004 旋转不变性",
        quote="一个极端的例子是当6旋转90度时，谁也不能确定它到底是6还是9",
        wrong="a 6 rotated by 90 degrees could be a 6 or a 9",
        corrected="rotated by 180 degrees",
        derivation="rot180 of a seven-segment 6 is exactly the 9; rot90 gives a 3 x 5 glyph",
        test="verification/tests/test_errata.py::test_b3_seed004_six_rotated_180_is_nine"),
    Erratum(
        id="E-B5-seed004-kernel-3x1x3x3", formula_id="B5", seed="004 卷积后续的运算",
        quote="我们对原始图片使用了一个3x1x3x3的卷积核，因为原始图片为彩色图片，所以第一个维度是3，"
              "对应RGB三个彩色通道；我们希望只输出一张feature map，以便于说明，所以第二维是1",
        wrong="the RGB -> one map kernel is 3x1x3x3 (input channels first)",
        corrected="1x3x3x3: (output, input, kH, kW), 004's own WBShape order (FilterCount, "
                  "KernalCount, KernalHeight, KernalWidth) and PyTorch's",
        derivation="conv2d accepts (1, 3, 3, 3) on (N, 3, H, W) and gives one map; "
                   "(3, 1, 3, 3) has 1 input channel per filter and is rejected",
        test="verification/tests/test_errata.py::test_b5_seed004_rgb_to_one_map_kernel_is_1x3x3x3"),
    # --- a second, independent read of the seeds ------------------------------------
    Erratum(
        id="E-C7-seed000-delta-row-label", formula_id="C7", seed="000 卷积层的训练",
        quote="表示第j-1 层第j行第j列的误差项",
        wrong="the error term of layer j-1 'at row j, column j'",
        corrected="at row i, column j (delta^(j-1)_(i,j))",
        derivation="seed 000's example: 3x3 input, 2x2 filter: delta^(j-1) is 3x3 and its "
                   "entry (1, 0) = w00 d(1,0) + w10 d(0,0) differs from entry (0, 0) = w00 "
                   "d(0,0): both indices are needed",
        test="verification/tests/test_errata.py::test_c7_seed000_error_term_labels"),
    Erratum(
        id="E-C7-seed000-net-layer-label", formula_id="C7", seed="000 卷积层的训练",
        quote="表示第j-1行神经元的加权输入",
        wrong="the weighted input of the neurons of 'row j-1'",
        corrected="of layer j-1 (net^(j-1)_(i,j), a 3x3 map in the example)",
        derivation="net^(j-1) has the input's shape (3, 3): one entry per neuron of layer "
                   "j-1, not one row",
        test="verification/tests/test_errata.py::test_c7_seed000_error_term_labels"),
    Erratum(
        id="E-C7-seed000-delta-layer-row-swapped", formula_id="C7", seed="000 卷积层的训练",
        quote="表示第i层第j行第j列的误差项",
        wrong="the error term 'of layer i, row j, column j'",
        corrected="of layer j, row i, column j (delta^j_(i,j), the 2x2 error map)",
        derivation="delta^j has the feature map's shape (2, 2) = (3 - 2 + 1, 3 - 2 + 1); i "
                   "is a row index, the layers are j-1 and j",
        test="verification/tests/test_errata.py::test_c7_seed000_error_term_labels"),
    Erratum(
        id="E-C7-seed000-eq8-superscript", formula_id="C7", seed="000 式8",
        quote="注意式8中的d^i-1, d^j , net^j-1都是矩阵",
        wrong="d^i-1 in eq. 8",
        corrected="d^j-1 (the 3x3 error map of layer j-1, the left-hand side of eq. 8)",
        derivation="eq. 8 is delta^(j-1) = delta^j * W (full, rotated) .* f'(net^(j-1)): "
                   "the result has net^(j-1)'s shape (3, 3); no layer i appears",
        test="verification/tests/test_errata.py::test_c7_seed000_error_term_labels"),
    Erratum(
        id="E-B5-seed000-eq4-image-symbol", formula_id="B5", seed="000 式4",
        quote="ad,ai,aj表示图像的第d层第i行第j列像素",
        wrong="a_(d,i,j) names the image's pixels in eq. 4",
        corrected="x_(d,i,j): the seed names the image x (用xi,xj表示图像的第i行第j列元素) "
                  "and the feature map a (用ai,aj表示Feature Map)",
        derivation="eq. 4, a_(i,j) = f(sum_d sum_m sum_n w_(d,m,n) x_(d,i+m,j+n) + w_b), "
                   "evaluated with x the image equals conv2d (checked on 3 channels)",
        test="verification/tests/test_errata.py::test_b5_seed000_eq4_reads_the_image_x"),
    Erratum(
        id="E-C11-seed004-forward-equation-numbers", formula_id="C11",
        seed="004 偏移的梯度计算",
        quote="根据前向计算公式1，2，3，4，可以得到：",
        wrong="the bias gradient follows 'from forward equations 1, 2, 3, 4'",
        corrected="from forward equations 10-13 (eqs. 1-4 are the definitions of "
                  "convolution); the bias results are then numbered 12 and 13 a second time",
        derivation="in seed 004, tags 1, 2 and 4 label the convolution integrals and sums; "
                   "the forward equations z_11..z_22 with + b are tags 10-13",
        test="verification/tests/test_errata.py::test_c11_seed004_bias_gradient_equation_numbers"),
    Erratum(
        id="E-B5-seed004-filter-kernel-inverted", formula_id="B5", seed="004 偏移的梯度计算",
        quote="每个卷积核W可能会有多个filter，或者叫子核",
        wrong="each kernel W may hold several filters (sub-kernels)",
        corrected="each filter holds one kernel per input channel (its sub-kernels) and "
                  "one bias: the seed's own 每个Filter内都有一个或多个卷积核Kernal; the "
                  "sentence's second half (one bias however many sub-kernels) holds",
        derivation="weight (FilterCount, KernalCount, kH, kW) = (K, C, kH, kW), bias (K,): "
                   "2 filters of 3 sub-kernels 2x2 have (3*2*2 + 1) * 2 = 26 parameters",
        test="verification/tests/test_errata.py::test_b5_seed004_a_filter_holds_the_kernels"),
    Erratum(
        id="E-A4-seed004-zfnet-layers-3-5", formula_id="A4", seed="004 ZFNet (2013)",
        quote="第3，4，5卷积层转变为384，384，256",
        wrong="ZF Net changed AlexNet's conv layers 3, 4, 5 into 384, 384, 256 filters",
        corrected="AlexNet's layers 3, 4, 5 already have 384, 384, 256 filters, so this is "
                  "no change (Zeiler & Fergus 2013 keep them; the variant often quoted, "
                  "e.g. by CS231n, uses 512, 1024, 512)",
        derivation="AlexNet (Krizhevsky et al. 2012): conv3 3x3x256 -> 384, conv4 "
                   "3x3x192 -> 384, conv5 3x3x192 -> 256 (the parameter count 60,965,224 "
                   "of E-A4-seed004-alexnet-neurons uses exactly these)",
        test="verification/tests/test_errata.py::test_a4_seed004_alexnet_neurons_and_parameters"),
    Erratum(
        id="E-D3-seed004-geometry-networks-named-twice", formula_id="D3",
        seed="004 2.实现几何图形分类",
        quote="#### 用卷积神经网络解决问题 vs 用卷积神经网络解决问题",
        wrong="the geometry task compares the CNN with itself (both bullets: 卷积神经网络)",
        corrected="用前馈神经网络解决问题 vs 用卷积神经网络解决问题: the first bullet (89.8 % "
                  "test accuracy) is the dense (feed-forward) net, as in the colour task",
        derivation="a comparison of one network with itself says nothing; the seed's "
                   "next such heading reads 用前馈神经网络来解决问题 vs 用卷积神经网络来解决问题",
        test="verification/tests/test_errata.py::test_d3_seed004_geometry_comparison_names_two_nets"),
]


def by_formula(formula_id: str) -> list[Erratum]:
    """The errata of one FORMULAS.md ID."""
    return [e for e in ERRATA if e.formula_id == formula_id]
