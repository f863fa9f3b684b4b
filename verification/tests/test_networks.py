"""Whole networks (A6, A9): LeNet-5 (seed 003 section 3.3), Table 18-1 (seed 004), seed 000's
figure 1 and pattern, the one-line grammar, `cnnref summary`, and the errata registry.

Every expected number is derived here from the formula (arithmetic shown) and then compared
with the number the document prints (quoted). Where the document is wrong the test asserts
the corrected value and the erratum is in cnnref/report/errata.py.
"""
from __future__ import annotations

import json
import math
import pathlib
import re

import pytest
from hypothesis import given, strategies as st

from cnnref import reference as ref
from cnnref.reference.networks import get_network, summarize
from cnnref import cli
from cnnref.report.errata import ERRATA
from cnnref.report.formulas import seed_text, seeds_dir, shared_dirs
from cnnref.verification.core.strategies import layer_stacks

SEEDS = seeds_dir()

# seed 003, section 3.3, as printed
LENET_QUOTES = {
    "C1": "参数数: $(5*5+1)*6=156$ 连接数: $(5*5+1)*6*28*28=122,304$",
    "S2": "参数数: $(1+1)*6 = 12$ 连接数: $(2*2+1)*14*14*6=5880$",
    "C3": "$$1516 \\begin{cases} (5 * 5 * 3 + 1) * 6 \\\\ (5 * 5 * 4 + 1) * 9 \\\\ "
          "(5 * 5 * 6 + 1) * 1 \\end{cases}$$",
    "C3c": "$$151600 \\begin{cases} (5 * 5 * 3 + 1) * 6 * 10 * 10 \\\\",
    "S4": r"- D. C3 \leftrightarrow S4: 参数个数 12, 链接数 $(2*2+1)*16*5*5=2000$",
    "C5": "参数个数: $5*5*16(S4 \\text{ 层输入}) * 120 + 120*1(C5 \\text{ 层的 bias 数目})=48120$",
    "C5c": "链接数: 48120(全连接)",
    "F6": r"- F. C5 \leftrightarrow F6: 全连接 $(120+1)*84$",
}
# seed 003: the S2 -> C3 table (rows: S2 maps, columns: C3 maps), tabs as printed
SEED003_TABLE = """\t0\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t13\t14\t15
0\tX\t\t\t\tX\tX\tX\t\t\tX\tX\tX\tX\t\tX\tX
1\tX\tX\t\t\t\tX\tX\tX\t\t\tX\tX\tX\tX\t\tX
2\tX\tX\tX\t\t\t\tX\tX\tX\t\t\tX\t\tX\tX\tX
3\t\tX\tX\tX\t\t\tX\tX\tX\tX\t\t\tX\t\tX\tX
4\t\t\tX\tX\tX\t\t\tX\tX\tX\tX\t\tX\tX\t\tX
5\t\t\t\tX\tX\tX\t\t\tX\tX\tX\tX\t\tX\tX\tX"""
# seed 004, Table 18-1 (表18-1 模型各层的参数), as printed
TABLE18_1 = """|1|卷积|2x1x1, S=1|3x28x28|2x28x28|
|2|激活|Relu|2x28x28|2x28x28|
|3|池化|2x2, S=2, Max|2x14x14|2x14x14|
|4|卷积|3x3x3, S=1|2x14x14|3x12x12|
|5|激活|Relu|3x12x12|3x12x12|
|6|池化|2x2, S=2, Max|3x12x12|3x6x6|
|7|全连接|32|108|32|
|8|归一化||32|32|
|9|激活|Relu|32|32|
|10|全连接|6|32|6|
|11|分类|Softmax|6|6|"""


def _seed_text(number: str) -> str:
    text = seed_text(number)
    if text is None:
        pytest.skip(f"seed {number} not found (looked in {SEEDS or ', '.join(map(str, shared_dirs()))}"
                    f"; set CNNREF_SEEDS to the folder of the documents' 0NN_*.txt files)")
    return text


@pytest.mark.parametrize("seed, quote", [("003", q) for q in LENET_QUOTES.values()]
                         + [("003", SEED003_TABLE), ("004", TABLE18_1)]
                         + [(e.seed.split()[0], e.quote) for e in ERRATA])
def test_quotes_are_verbatim(seed, quote):
    assert quote in _seed_text(seed), f"quote not found in seed {seed}: {quote!r}"


def _lenet(name):
    rows = {r["name"]: r for r in summarize(get_network("lenet5"))["layers"]}
    return rows[name]


def _check(name, field, got, derived, printed=None):
    assert got == derived, f"{name} {field}={got}, but should be {derived} [summarize(lenet5)]"
    if printed is not None:
        assert printed == derived, f"seed prints {name} {field}={printed}, derived {derived}"


@pytest.mark.formulas("A6")
def test_a6_lenet5_c1():
    """C1: 6 maps, 5x5 on 1x32x32 -> 28x28 (32 - 5 + 1). params (5*5*1 + 1)*6 = 156;
    connections 156 * 28*28 = 122304."""
    row = _lenet("C1")
    assert row["out_shape"] == [6, 32 - 5 + 1, 32 - 5 + 1]
    _check("C1", "params", row["params"], (5 * 5 * 1 + 1) * 6, 156)
    _check("C1", "connections", row["connections"], (5 * 5 + 1) * 6 * 28 * 28, 122304)


@pytest.mark.formulas("A6")
def test_a6_lenet5_s2():
    """S2: 2x2 trainable subsampling of 6x28x28 -> 6x14x14. params (1 coef + 1 bias)*6 = 12;
    connections (2*2 + 1) * 14*14 * 6 = 5880."""
    row = _lenet("S2")
    assert row["out_shape"] == [6, 28 // 2, 28 // 2]
    _check("S2", "params", row["params"], (1 + 1) * 6, 12)
    _check("S2", "connections", row["connections"], (2 * 2 + 1) * 14 * 14 * 6, 5880)


@pytest.mark.formulas("A6")
def test_a6_lenet5_c3_table_and_counts():
    """C3: the seed's table read column by column is LECUN_C3; 6 maps read 3 S2 maps, 9 read
    4, 1 reads 6. params (5*5*3+1)*6 + (5*5*4+1)*9 + (5*5*6+1)*1 = 456 + 909 + 151 = 1516;
    connections 1516 * 10*10 = 151600 (output 14 - 5 + 1 = 10)."""
    rows = [line.split("\t")[1:] for line in SEED003_TABLE.splitlines()[1:]]
    columns = tuple(tuple(r for r in range(6) if rows[r][c] == "X") for c in range(16))
    assert columns == ref.LECUN_C3, f"LECUN_C3={ref.LECUN_C3}, but the seed's table is {columns}"
    assert sorted(len(c) for c in columns) == [3] * 6 + [4] * 9 + [6]
    row = _lenet("C3")
    params = (5 * 5 * 3 + 1) * 6 + (5 * 5 * 4 + 1) * 9 + (5 * 5 * 6 + 1) * 1
    assert params == 456 + 909 + 151
    assert row["out_shape"] == [16, 14 - 5 + 1, 14 - 5 + 1]
    _check("C3", "params", row["params"], params, 1516)
    _check("C3", "connections", row["connections"], params * 10 * 10, 151600)


@pytest.mark.formulas("A6")
def test_a6_lenet5_s4():
    """S4: 2x2 subsampling of 16x10x10 -> 16x5x5. params (1+1)*16 = 32 -- the seed prints 12
    (erratum E-A6-S4-params); connections (2*2+1)*16*5*5 = 2000 holds."""
    row = _lenet("S4")
    assert row["out_shape"] == [16, 5, 5]
    printed = int(re.search(r"参数个数 (\d+)", LENET_QUOTES["S4"]).group(1))
    assert printed == 12 and (1 + 1) * 16 == 32 != printed
    _check("S4", "params", row["params"], (1 + 1) * 16)
    _check("S4", "connections", row["connections"], (2 * 2 + 1) * 16 * 5 * 5, 2000)
    erratum = next(e for e in ERRATA if e.id == "E-A6-S4-params")
    assert "32" in erratum.corrected and erratum.test.endswith("test_a6_lenet5_s4")


@pytest.mark.formulas("A6")
def test_a6_lenet5_c5_f6():
    """C5: 120 maps of 5x5x16 on 16x5x5 -> 120x1x1, i.e. fully connected: params
    5*5*16*120 + 120 = 48120 = connections (one output position). F6: (120 + 1)*84 = 10164
    (the seed prints only the expression)."""
    c5, f6 = _lenet("C5"), _lenet("F6")
    assert c5["out_shape"] == [120, 1, 1] and f6["out_shape"] == [84]
    _check("C5", "params", c5["params"], 5 * 5 * 16 * 120 + 120, 48120)
    _check("C5", "connections", c5["connections"], (5 * 5 * 16 + 1) * 120 * 1 * 1, 48120)
    _check("F6", "params", f6["params"], (120 + 1) * 84)
    assert (120 + 1) * 84 == 10164


@pytest.mark.formulas("A6")
def test_a6_lenet5_matches_torch():
    """Every layer's parameter count and output shape against the torch model."""
    torch = pytest.importorskip("torch")
    from cnnref.verification.training.torch_layers import torch_network
    net = get_network("lenet5")
    model, h = torch_network(net), torch.randn(2, *net.input.shape)
    for name, module, row in zip(ref.layer_names(net), model, summarize(net)["layers"]):
        h = module(h)
        numel = sum(p.numel() for p in module.parameters())
        assert (row["params"], row["out_shape"]) == (numel, list(h.shape[1:])), \
            f"{name}: (params, out_shape)={(row['params'], row['out_shape'])}, but should " \
            f"be {(numel, list(h.shape[1:]))} [summarize(lenet5)]"


def _shape(s: str) -> list[int]:
    return [int(v) for v in s.split("x")]


@pytest.mark.formulas("A9")
def test_a9_table18_1_rows():
    """Each row's sizes derived from the previous one:
    1 conv 2@1x1/1: 3x28x28 -> 2 x ((28-1)/1+1 = 28) x 28      2 relu: same
    3 max 2x2/2:    2x28x28 -> 2 x ((28-2)/2+1 = 14) x 14      4 conv 3@3x3/1: -> 3 x (14-3+1 = 12)
    5 relu: same     6 max 2x2/2: -> 3 x ((12-2)/2+1 = 6) x 6   7 FC 32: 3x6x6 (3*6*6 = 108) -> 32
    8 BN, 9 relu: 32 -> 32     10 FC 6: 32 -> 6     11 softmax: 6 -> 6.
    Row 3's printed input 2x14x14 is wrong (erratum E-A9-table18_1-row3-input): 2x28x28."""
    derived = [([3, 28, 28], [2, 28, 28]), ([2, 28, 28], [2, 28, 28]),
               ([2, 28, 28], [2, (28 - 2) // 2 + 1, 14]), ([2, 14, 14], [3, 14 - 3 + 1, 12]),
               ([3, 12, 12], [3, 12, 12]), ([3, 12, 12], [3, (12 - 2) // 2 + 1, 6]),
               ([3, 6, 6], [32]), ([32], [32]), ([32], [32]), ([32], [6]), ([6], [6])]
    rows = summarize(get_network("table18_1"))["layers"]
    printed = [line.strip("|").split("|") for line in TABLE18_1.splitlines()]
    assert len(rows) == len(printed) == len(derived) == 11
    for row, (rid, _, _, p_in, p_out), (d_in, d_out) in zip(rows, printed, derived):
        got = (row["in_shape"], row["out_shape"])
        assert got == (d_in, d_out), f"row {rid} (in, out)={got}, but should be " \
                                     f"{(d_in, d_out)} [summarize(table18_1)]"
        assert _shape(p_out) == d_out, f"row {rid}: printed output {p_out}, derived {d_out}"
        if rid == "3":
            assert _shape(p_in) == [2, 14, 14] != d_in   # the erratum, corrected above
        else:   # row 7 prints the flattened size: 3*6*6 = 108
            d_in = d_in if len(_shape(p_in)) == len(d_in) else [math.prod(d_in)]
            assert _shape(p_in) == d_in, f"row {rid}: printed input {p_in}, derived {d_in}"
    assert any(e.id == "E-A9-table18_1-row3-input" for e in ERRATA)


@pytest.mark.formulas("A9")
def test_a9_table18_1_layer_types_and_params():
    """Types and the 参数 column: 卷积 2x1x1 = 2 filters of 1x1, S=1; 池化 2x2, S=2, Max; ...
    Parameter counts: c1 2*3*1*1 + 2 = 8, c2 3*2*3*3 + 3 = 57, f3 108*32 + 32 = 3488,
    bn3 2*32 = 64, f4 32*6 + 6 = 198; total 3815."""
    net = get_network("table18_1")
    kinds = {"卷积": ref.Conv, "激活": ref.Activation, "池化": ref.Pool, "全连接": ref.Dense,
             "归一化": ref.BatchNorm, "分类": ref.Activation}
    for layer, line in zip(net.layers, TABLE18_1.splitlines()):
        rid, kind, param = line.strip("|").split("|")[:3]
        assert isinstance(layer, kinds[kind]), f"row {rid}: {layer} is not a {kind}"
        if kind == "卷积":
            k, kh, kw = _shape(param.split(",")[0])
            assert (layer.out_channels, layer.kernel_size, layer.stride) == (k, (kh, kw), (1, 1))
        if kind == "池化":
            assert (layer.kernel_size, layer.stride, layer.mode) == ((2, 2), (2, 2), "max")
        if kind == "全连接":
            assert layer.out_features == int(param)
    params = [r["params"] for r in summarize(net)["layers"] if r["params"]]
    want = [2 * 3 * 1 * 1 + 2, 3 * 2 * 3 * 3 + 3, 108 * 32 + 32, 2 * 32, 32 * 6 + 6]
    assert params == want and sum(want) == 3815, f"params={params}, but should be {want}"


@pytest.mark.formulas("A9")
def test_a9_seed000_figure1_pattern():
    """Figure 1: INPUT -> CONV -> POOL -> CONV -> POOL -> FC -> FC, "N=1, M=2, K=2"; depth 1
    input ("它的深度为1"), 3 filters then 5 ("三个Filter", "它有5个Filter")."""
    net = get_network("seed000")
    assert ref.pattern_of(net) == ((1, 1), 2)
    convs = [l.out_channels for l in net.layers if isinstance(l, ref.Conv)]
    assert net.input.shape[0] == 1 and convs == [3, 5]
    generic = ref.parse_network(ref.architecture_pattern(1, 2, 2))
    assert ref.pattern_of(generic) == ((1, 1), 2)


@pytest.mark.formulas("A9")
@given(n=st.integers(1, 3), m=st.integers(1, 4), k=st.integers(1, 3), pool=st.booleans())
def test_a9_pattern_expansion(n, m, k, pool):
    """[[CONV]*N -> POOL?]*M -> [FC]*K expands to N*M convs, M pools, K FCs (without the
    optional pool the blocks merge into one run of N*M convs)."""
    spec = ref.architecture_pattern(n, m, k, pool="POOL 2" if pool else None)
    net = ref.parse_network(spec)
    want = ((n,) * m, k) if pool else ((n * m,), k)
    assert ref.pattern_of(net) == want, f"pattern_of={ref.pattern_of(net)}, but should be " \
                                        f"{want} [parse_network({spec!r})]"
    assert len(ref.output_shapes(net)) == n * m + (m if pool else 0) + k


@pytest.mark.formulas("A9")
@given(net=layer_stacks())
def test_a9_one_line_form_round_trips(net):
    text = ref.format_network(net)
    assert ref.parse_network(text) == net, f"parse_network(format_network(net)) != net [{text!r}]"


@pytest.mark.formulas("A9")
@pytest.mark.parametrize("text", [
    "CONV 6@5x5", "INPUT 32 -> CONV 6@5x5", "INPUT 1x8x8 -> CONV 6", "INPUT 1x8x8 -> CONV 0@3",
    "INPUT 1x8x8 -> CONV 2@3 dil=0", "INPUT 1x8x8 -> CONV 2@3 table=nope", "INPUT 1x8x8 -> POOL",
    "INPUT 1x8x8 -> FC", "INPUT 1x8x8 -> RELU 3", "INPUT 1x8x8 -> [CONV 2@3", "INPUT 1x8x8 -> DROP",
    "INPUT 1x8x8 -> SUBSAMPLE 2+1", "INPUT 1x8x8 -> POOL 0"])
def test_a9_parse_errors_name_the_parser(text):
    with pytest.raises(ValueError, match="parse_network"):
        ref.parse_network(text)


@pytest.mark.formulas("A9")
@pytest.mark.parametrize("text, match", [
    ("INPUT 1x4x4 -> CONV 2@5x5", "layer 1"), ("INPUT 1x8x8 -> FC 3 -> CONV 2@3", "FC or FLATTEN"),
    ("lenet6", "built-in"), ("INPUT 3x8x8 -> CONV 2@3 groups=2", "groups=2")])
def test_a9_invalid_networks_raise(text, match):
    with pytest.raises(ValueError, match=match):
        ref.output_shapes(get_network(text))


@pytest.mark.formulas("A9")
def test_a9_grammar_docstring_example():
    net = ref.parse_network("INPUT 1x8x8 -> [CONV 4@3x3+1 -> RELU]*2 -> POOL 2 -> FC 10")
    kinds = [type(l).__name__ for l in net.layers]
    assert kinds == ["Conv", "Activation", "Conv", "Activation", "Pool", "Dense"]
    assert ref.output_shapes(net)[-2:] == [(4, 4, 4), (10,)]


def test_cli_summary_lenet5(capsys):
    assert cli.main(["summary", "lenet5"]) == 0
    out = capsys.readouterr().out
    for text in ("MACs", "FLOPs fwd", "FLOPs bwd", "connections", "122,304", "5,880",
                 "151,600", "2,000", "48,120", "10,164", "table=lecun_c3", "fully connected"):
        assert text in out, f"{text!r} missing from `cnnref summary lenet5`:\n{out}"
    s4 = next(line for line in out.splitlines() if line.startswith("S4 "))
    assert s4.split()[4] == "32", f"S4 row shows {s4!r}, but its params should be 32"
    total = next(line for line in out.splitlines() if line.startswith("total"))
    want = 156 + 12 + 1516 + 32 + 48120 + 10164 + (84 + 1) * 10
    assert total.split()[1] == f"{want:,}", f"total row {total!r}, params should be {want:,}"


def test_cli_summary_table18_1(capsys):
    assert cli.main(["summary", "table18_1"]) == 0
    out = capsys.readouterr().out
    for text in ("2x28x28", "2x14x14", "3x12x12", "3x6x6", "SOFTMAX", "3,815"):
        assert text in out, f"{text!r} missing from `cnnref summary table18_1`:\n{out}"


def test_cli_summary_one_line_spec_and_json(capsys):
    """The brief's LeNet-like spec with full C3: 156 + (16*6*25 + 16 = 2416) +
    (16*5*5*120 + 120 = 48120) + (120*84 + 84 = 10164) + (84*10 + 10 = 850) = 61706."""
    spec = ("INPUT 1x32x32 -> CONV 6@5x5 -> POOL 2 -> CONV 16@5x5 -> POOL 2 -> FC 120 "
            "-> FC 84 -> FC 10")
    assert cli.main(["summary", spec, "--json", "--batch", "4"]) == 0
    data = json.loads(capsys.readouterr().out)
    want = 156 + 2416 + 48120 + 10164 + 850
    assert data["totals"]["params"] == want == 61706, f"params={data['totals']['params']}"
    assert data == summarize(get_network(spec), batch=4)
    assert [r["out_shape"] for r in data["layers"]][:4] == [[6, 28, 28], [6, 14, 14],
                                                            [16, 10, 10], [16, 5, 5]]
    assert data["layers"][0]["macs"] == 4 * 6 * 28 * 28 * 25    # batch 4
    assert cli.main(["summary", spec]) == 0
    assert "61,706" in capsys.readouterr().out


def test_cli_summary_bad_spec_is_an_error(capsys):
    assert cli.main(["summary", "INPUT 1x4x4 -> CONV 2@9"]) == 2
    assert "cnnref summary" in capsys.readouterr().err


def test_errata_registry_is_consistent():
    ids = [e.id for e in ERRATA]
    assert len(ids) == len(set(ids)), f"duplicate erratum ids: {ids}"
    here = pathlib.Path(__file__).read_text(encoding="utf-8")
    for e in ERRATA:
        path, _, test = e.test.partition("::")
        if path.endswith("test_networks.py"):
            assert f"def {test}(" in here, f"{e.id}: test {e.test} does not exist"
        assert e.formula_id and e.quote and e.wrong and e.corrected and e.derivation
