"""``docs/datapath.md``, the normative datapath spec, checked against the functional model.

Every worked example of the spec is asserted here with the numbers the spec prints, and
each of the points the spec settles (its section 11) has at least one assertion. A small
reference written from the spec alone (``spec_layer``: ``round_to_format`` and
``activation`` only, exact sums as fractions) runs one LSTM layer in both dataflows and
must give the functional model's values on random cases.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from epur.api import format_settings
from epur.arch import ArchConfig, apply_overrides, paper_preset
from epur.functional.datapath import Datapath, Operand
from epur.functional.model import run_network
from epur.functional.prepared import prepare_weights
from epur.numerics import parse_format, round_to_format
from epur.numerics.activations import activation, activation_table, parse_activation
from epur.numerics.formats import FormatKind, NumberFormat
from epur.workload import LSTMLayer, Network, Stack
from epur.workload.weights import LSTMWeights, NetworkWeights, random_weights

P = parse_format
EXACT = parse_activation("exact")


def arch(fmt: str, act: str = "exact", lanes: int = 4) -> ArchConfig:
    sets = [*format_settings(fmt), f"mfu.activation={act}", f"dpu.lanes={lanes}"]
    return apply_overrides(paper_preset(), sets)


def rnd(x: float, fmt: NumberFormat) -> float:
    return float(round_to_format(np.array([x]), fmt)[0])


# ---- a reference written from the spec alone ---------------------------------------------
def spec_dot(w: np.ndarray, v: np.ndarray, init: float, lanes: int, acc: NumberFormat) -> float:
    """Spec section 4: one dot product on ``lanes`` lanes, accumulator starting at ``init``."""
    if acc.kind is FormatKind.FIXED:  # 4.4: exact sum, one conversion
        total = Fraction(init) + sum(
            (Fraction(a) * Fraction(b) for a, b in zip(w, v, strict=True)), Fraction(0)
        )
        return rnd(float(total), acc)
    width = 1
    while width < lanes:
        width *= 2
    accum = init
    for lo in range(0, len(w), lanes):  # 4.3: chunks in order
        level = [
            rnd(a * b, acc) for a, b in zip(w[lo : lo + lanes], v[lo : lo + lanes], strict=True)
        ]
        level += [0.0] * (width - len(level))  # zero padding (K, then the tree)
        while len(level) > 1:
            level = [rnd(level[i] + level[i + 1], acc) for i in range(0, len(level), 2)]
        accum = rnd(accum + level[0], acc)
    return accum


def spec_layer(
    wd: LSTMWeights,
    xs: np.ndarray,
    fmt: str | tuple[str, str, str],
    act: str,
    lanes: int,
    mwl: bool,
    h_first: bool = False,
):
    """Spec sections 5 and 6: one unidirectional LSTM layer, batch 1; ``(y, c)``. ``fmt``:
    ``--format``'s text, or (storage, accumulator, partial sums). ``h_first``: the
    baseline reads ``[h, x]`` (not the spec: to show that the order is observable)."""
    if isinstance(fmt, str):
        settings = dict(s.split("=") for s in format_settings(fmt))
        fmt = tuple(settings[f"formats.{k}"] for k in ("storage", "accumulator", "partial_sums"))
    st, acc, psum_fmt = (P(name) for name in fmt)
    spec = parse_activation(act)

    def store(a):
        return round_to_format(np.asarray(a, dtype=np.float64), st)

    def r(a):
        return rnd(a, acc)

    def sig(a):
        return float(activation("sigmoid", [a], spec, acc)[0])

    def th(a):
        return float(activation("tanh", [a], spec, acc)[0])

    w, u = store(wd.w), store(wd.u)
    b = round_to_format(store(wd.b), acc)
    p = None if wd.peepholes is None else round_to_format(store(wd.peepholes), acc)
    hsz = u.shape[1]
    h, c = np.zeros(hsz), np.zeros(hsz)
    ys = []
    for x in xs:
        xq = store(x)
        if mwl:
            ps = [rnd(spec_dot(w[n], xq, b[n], lanes, acc), psum_fmt) for n in range(4 * hsz)]
            z = [spec_dot(u[n], h, ps[n], lanes, acc) for n in range(4 * hsz)]
        else:
            wu, v = np.concatenate([w, u], axis=1), np.concatenate([xq, h])
            if h_first:
                wu, v = np.concatenate([u, w], axis=1), np.concatenate([h, xq])
            z = [spec_dot(wu[n], v, b[n], lanes, acc) for n in range(4 * hsz)]
        new_h, new_c = np.zeros(hsz), np.zeros(hsz)
        for n in range(hsz):
            zi, zf, zg, zo = (z[g * hsz + n] for g in range(4))
            if p is not None:
                zi, zf = r(zi + r(p[0, n] * c[n])), r(zf + r(p[1, n] * c[n]))
            i, f, g = sig(zi), sig(zf), th(zg)
            new_c[n] = r(r(f * c[n]) + r(i * g))
            if p is not None:
                zo = r(zo + r(p[2, n] * new_c[n]))
            new_h[n] = r(sig(zo) * th(new_c[n]))
        h, c = store(new_h), new_c
        ys.append(h)
    return np.array(ys), c


CASES = [
    ("fp16", "exact", 3),
    ("bf16", "pwl16", 4),
    ("fp16", "lut98", 2),
    ("q8.8", "exact", 3),
    ("q8.8:trunc", "pwl16", 4),
    ("q6.10:rna:wrap", "lut256", 5),
]


@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
@pytest.mark.parametrize(("fmt", "act", "lanes"), CASES)
def test_a_reference_written_from_the_spec_gives_the_models_values(
    fmt: str, act: str, lanes: int, dataflow: str
) -> None:
    net = Network("n", (Stack("main", 4, (LSTMLayer(7, 3, peepholes=True),)),))
    weights = random_weights(net, np.random.default_rng(11))
    xs = np.random.default_rng(12).standard_normal((4, 1, 7))
    ours = run_network(net, weights, {"main": xs}, arch(fmt, act, lanes), dataflow)
    wd = weights.layers[0][0]
    assert isinstance(wd, LSTMWeights)
    y, c = spec_layer(wd, xs[:, 0], fmt, act, lanes, dataflow == "mwl")
    assert np.array_equal(ours.y[:, 0], y)
    assert np.array_equal(ours.c_n[0][0, 0], c)


# ---- section 2: number formats --------------------------------------------------------------
def test_example_2_fixed_point_rounding_and_overflow() -> None:
    x = 1 + 3 * 2**-9  # halfway between the q8.8 codes 257 and 258
    assert rnd(x, P("q8.8")) == 258 / 256  # rne: the even code
    assert rnd(x - 2**-8, P("q8.8")) == 256 / 256  # 1 + 2**-9: even code 256
    assert rnd(1 + 2**-9, P("q8.8:rna")) == 257 / 256
    assert rnd(-(2**-9), P("q8.8:rna")) == -(2**-8)
    assert rnd(-(2**-9), P("q8.8:trunc")) == -(2**-8)  # toward minus infinity
    assert rnd(200.0, P("q8.8")) == 128 - 2**-8  # saturates
    assert rnd(200.0, P("q8.8:wrap")) == -56.0  # 200 - 256
    assert rnd(-1000.5, P("q8.8:trunc:wrap")) == 23.5  # -1000.5 + 4 * 256


def test_example_2_float_rounding_and_specials() -> None:
    assert rnd(1 + 2**-8, P("bf16")) == 1.0  # tie to even
    assert rnd(1 + 3 * 2**-8, P("bf16")) == 1 + 2**-6
    assert rnd(65519.99, P("fp16")) == 65504.0
    assert rnd(65520.0, P("fp16")) == np.inf  # max + half an ulp overflows
    assert rnd(2**-25, P("fp16")) == 0.0  # a tie with 0: even
    assert rnd(2**-25 + 2**-40, P("fp16")) == 2**-24  # smallest subnormal


# ---- section 3: int8 ------------------------------------------------------------------------
def test_example_3_int8_dequantisation() -> None:
    dp = Datapath(P("int8"), P("fp32"), P("fp32"), 4, EXACT)
    s_w, s_x = 0.5 / 127, 2.0 / 127
    w = Operand.from_codes(np.array([[127.0, -64.0, 3.0]]), s_w)
    x = np.array([[1.0, 0.5, -2.0]])  # codes rint(x / s_x) = 64 (63.5: even), 32, -127
    z = dp.dot(w, x, bias=np.array([0.1]), v_scale=s_x)
    s = s_w * s_x
    codes = 127 * 64 - 64 * 32 + 3 * -127  # 5699
    grid = np.rint(0.1 / s)  # 1613
    assert (codes, grid) == (5699, 1613.0)
    assert z[0, 0] == rnd((codes + grid) * s, P("fp32")) == 0.4533449113368988


# ---- section 4: the DPU ---------------------------------------------------------------------
def test_example_4_pairwise_tree_and_odd_lanes() -> None:
    fp16 = P("fp16")
    e = 2**-11  # half an fp16 ulp of 1
    four = Datapath(fp16, fp16, fp16, 4, EXACT)
    w = Operand(np.array([[1.0, e, e, e]]))
    assert four.dot(w, np.ones((1, 4)))[0, 0] == 1 + 2**-10  # (1+e) + (e+e)
    assert spec_dot(np.array([1.0, e, e, e]), np.ones(4), 0.0, 1, fp16) == 1.0  # one lane
    three = Datapath(fp16, fp16, fp16, 3, EXACT)
    w = Operand(np.array([[e, e, 1.0, e, e]]))
    # chunk 0: (e + e) + (1 + 0) = 1 + 2e; chunk 1: (e + e) + (0 + 0) = 2e
    assert three.dot(w, np.ones((1, 5)), bias=np.array([0.0]))[0, 0] == 1 + 2**-9


def test_example_4_fixed_accumulator_is_wide_and_saturates_once() -> None:
    q = P("q8.8")
    for acc, expected in (("q16.16", 16129.0), ("q16.16:wrap", 16129.0)):
        dp = Datapath(q, P(acc), P(acc), 16, EXACT)
        v = np.array([[127.0, 127.0, 127.0, -127.0, -127.0]])  # partial sums reach 48387
        assert dp.dot(Operand(np.full((1, 5), 127.0)), v)[0, 0] == expected
    v = np.array([[127.0, 127.0, 127.0]])  # 48387 leaves the DPU
    sat = Datapath(q, P("q16.16"), P("q16.16"), 16, EXACT)
    wrap = Datapath(q, P("q16.16:wrap"), P("q16.16:wrap"), 16, EXACT)
    assert sat.dot(Operand(np.full((1, 3), 127.0)), v)[0, 0] == 2**15 - 2**-16
    assert wrap.dot(Operand(np.full((1, 3), 127.0)), v)[0, 0] == 48387 - 2**16


def test_example_4_bias_initialises_the_accumulator() -> None:
    fp16 = P("fp16")
    dp = Datapath(fp16, fp16, fp16, 2, EXACT)
    w = Operand(np.array([[2**-11, 2**-11]]))
    assert dp.dot(w, np.ones((1, 2)), bias=np.array([1.0]))[0, 0] == 1 + 2**-10
    # the bias added last instead would give 1: (e + e) is added to 1, not e to 1 twice
    assert dp.dot(w, np.ones((1, 2)))[0, 0] == 2**-10


# ---- section 7: activations -----------------------------------------------------------------
def test_example_7_lut_segment_rule() -> None:
    lut98 = parse_activation("lut98")
    table = activation_table("tanh", lut98, P("fp32"))
    assert table.breakpoints[49] == -(2**-51)  # -4 + 49 * (8 / 98) in float64
    assert activation("tanh", [-(2**-51)], lut98, P("fp32"))[0] == 0.04079367592930794
    assert activation("tanh", [-(2**-50)], lut98, P("fp32"))[0] == -0.04079367592930794
    # fixed point: a breakpoint's code is ceil(x_k * 2**F); the segment counts codes <= input
    q = P("q16.16")
    bp = activation_table("tanh", lut98, q).breakpoints[1:-1]
    codes = np.ceil(bp * 2**16)
    inputs = np.concatenate([codes - 1, codes, codes + 1])
    expected = table_values = activation_table("tanh", lut98, q).values
    k = (codes[None, :] <= inputs[:, None]).sum(axis=1)
    assert np.array_equal(activation("tanh", inputs * 2**-16, lut98, q), expected[k])
    assert table_values[0] == rnd(np.tanh(-4 + 0.5 * 8 / 98), q)


def test_example_7_pwl_slopes_from_unrounded_samples() -> None:
    q, pwl = P("q8.8"), parse_activation("pwl16")
    table = activation_table("sigmoid", pwl, q)
    y = 1 / (1 + np.exp(-np.linspace(-8.0, 8.0, 17)))
    assert np.array_equal(table.slopes, round_to_format(np.diff(y), q))  # D = 1
    values = table.values  # Y_k = rnd(y_k)
    assert table.slopes[1] == 0.0 and values[2] - values[1] == 2**-8  # y: 0.000576
    assert table.slopes[4] == 8 * 2**-8 and values[5] - values[4] == 7 * 2**-8
    # x = 0.3 in segment 8 (x_8 = 0): y = rnd(Y_8 + rnd(S_8 * 0.3'))
    x = rnd(0.3, q)
    assert x == 77 / 256
    assert activation("sigmoid", [0.3], pwl, q)[0] == rnd(0.5 + rnd(table.slopes[8] * x, q), q)
    assert (
        activation("sigmoid", [0.3], pwl, q)[0] == 146 / 256
    )  # 0.5 + rnd(59/256 * 77/256) = 0.5 + 18/256


def test_example_7_exact_is_the_float64_value_rounded() -> None:
    trunc = P("q16.16:trunc")
    assert activation("sigmoid", [40.0], EXACT, trunc)[0] == 1.0  # float64 gives 1.0
    assert activation("sigmoid", [20.0], EXACT, trunc)[0] == 1 - 2**-16
    assert activation("sigmoid", [40.0], EXACT, P("q8.8"))[0] == 1.0
    assert activation("sigmoid", [17.0], EXACT, P("fp32"))[0] == 1 - 2**-24
    assert activation("sigmoid", [40.0], EXACT, P("fp32"))[0] == 1.0


# ---- the settled points (section 11) --------------------------------------------------------
def one_unit(peepholes: bool = True, b: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4)):
    net = Network("n", (Stack("main", 2, (LSTMLayer(1, 1, peepholes=peepholes),)),))
    wd = LSTMWeights(
        w=np.array([[0.5], [0.25], [1.0], [-0.5]]),
        u=np.array([[0.125], [-0.25], [0.75], [0.5]]),
        b=np.array(b),
        peepholes=np.array([[0.3], [-0.2], [0.1]]) if peepholes else None,
    )
    return net, NetworkWeights(((wd,),))


def test_point_1_bias_and_peepholes_are_stored_then_read_into_the_accumulator() -> None:
    net, weights = one_unit(b=(1 / 3, 0.2, 0.3, 0.4))
    ops = prepare_weights(net, weights, arch("q8.8")).layers[0][0]
    assert ops["b"][0] == 85 / 256  # q8.8, not q16.16's 21845 / 65536
    assert ops["p"][0, 0] == 77 / 256  # 0.3 in q8.8
    fp16 = prepare_weights(net, weights, arch("fp16")).layers[0][0]
    assert fp16["b"][0] == rnd(1 / 3, P("fp16")) != rnd(1 / 3, P("fp32"))
    int8 = prepare_weights(net, weights, arch("int8")).layers[0][0]
    assert int8["b"][0] == 1 / 3 and int8["p"][0, 0] == 0.3  # float64, unrounded


def test_point_2_format_suffixes_reach_accumulator_and_partial_sums() -> None:
    assert format_settings("q8.8:trunc:wrap") == [
        "formats.storage=q8.8:trunc:wrap",
        "formats.accumulator=q16.16:trunc:wrap",
        "formats.partial_sums=q16.16:trunc:wrap",
    ]
    assert format_settings("q8.8:rna")[1] == "formats.accumulator=q16.16:rna"
    assert format_settings("bf16")[1:] == ["formats.accumulator=fp32", "formats.partial_sums=fp32"]


def test_point_7_the_baseline_reads_x_then_h() -> None:
    """fp16 throughout, 2 lanes, I = 3, H = 1: chunks [x0 x1] [x2 h], not [h x0] [x1 x2]."""
    fmts = ("fp16", "fp16", "fp16")
    sets = [
        f"formats.{k}={v}"
        for k, v in zip(("storage", "accumulator", "partial_sums"), fmts, strict=True)
    ]
    a = apply_overrides(paper_preset(), [*sets, "mfu.activation=exact", "dpu.lanes=2"])
    net = Network("n", (Stack("main", 6, (LSTMLayer(3, 1),)),))
    weights = random_weights(net, np.random.default_rng(5))
    xs = np.random.default_rng(6).standard_normal((6, 1, 3)) * 3
    ours = run_network(net, weights, {"main": xs}, a, "baseline")
    wd = weights.layers[0][0]
    assert isinstance(wd, LSTMWeights)
    xh, _ = spec_layer(wd, xs[:, 0], fmts, "exact", 2, False)
    hx, _ = spec_layer(wd, xs[:, 0], fmts, "exact", 2, False, h_first=True)
    assert np.array_equal(ours.y[:, 0], xh)
    assert not np.array_equal(ours.y[:, 0], hx)  # the order is observable


def test_point_8_mwl_rounds_the_partial_sum_to_its_format() -> None:
    dp = Datapath(P("fp16"), P("fp32"), P("fp16"), 4, EXACT)
    z = dp.dot(Operand(np.array([[1.0, 2**-11]])), np.ones((1, 2)), bias=np.array([0.0]))
    assert z[0, 0] == 1 + 2**-11  # fp32 accumulator: exact
    assert dp.rnd_psum(z)[0, 0] == 1.0  # the partial sum, in fp16


def test_point_9_the_sign_of_zero() -> None:
    assert np.signbit(rnd(-1e-30, P("fp16")))  # float: IEEE, the sign of x
    assert not np.signbit(rnd(-1e-30, P("q8.8")))  # fixed point has no -0
    assert not np.signbit(rnd(-(2**-10), P("q8.8")))
    fp16 = P("fp16")
    dp = Datapath(fp16, fp16, fp16, 3, EXACT)
    neg = dp.dot(Operand(np.array([[-1.0, 0.0, 0.0]])), np.array([[0.0, 1.0, 1.0]]))
    assert neg[0, 0] == 0.0 and not np.signbit(neg[0, 0])  # -0 + +0 = +0 in the tree
    assert np.signbit(activation("tanh", [-0.0], EXACT, fp16)[0])


def test_point_10_initial_state_is_zero_unless_given() -> None:
    net, weights = one_unit()
    xs = {"main": np.zeros((2, 1, 1))}
    default = run_network(net, weights, xs, arch("q8.8"), "baseline")
    given = run_network(
        net, weights, xs, arch("q8.8"), "baseline",
        initial={0: (np.zeros((1, 1, 1)), np.zeros((1, 1, 1)))},
    )  # fmt: skip
    assert np.array_equal(default.y, given.y)
    other = run_network(
        net, weights, xs, arch("q8.8"), "baseline",
        initial={0: (np.full((1, 1, 1), 1 / 3), np.full((1, 1, 1), 1 / 3))},
    )  # fmt: skip
    assert not np.array_equal(default.y, other.y)


def test_point_11_pytorch_biases_are_added_in_float64_then_stored() -> None:
    torch = pytest.importorskip("torch")
    from epur.workload.importers.torch import from_torch

    lstm = torch.nn.LSTM(2, 1)
    with torch.no_grad():
        lstm.bias_ih_l0.copy_(torch.tensor([1.0, 2**-20, 0.0, 0.0]))
        lstm.bias_hh_l0.copy_(torch.tensor([2**-30, 2**-20, 0.0, 0.0]))
    model = from_torch(lstm)
    b = model.weights.layers[0][0].b
    assert b[0] == 1 + 2**-30 and b[1] == 2**-19  # exact in float64, not in float32
    ops = prepare_weights(model.network, model.weights, arch("fp16")).layers[0][0]
    assert ops["b"][0] == 1.0  # one rounding of the sum to storage


def test_example_6_one_cell_in_q8_8_with_peepholes() -> None:
    """Spec section 6's worked example: two steps of a one-unit LSTM, x = 1, then -2."""
    net, weights = one_unit()
    xs = {"main": np.array([[[1.0]], [[-2.0]]])}
    for dataflow in ("baseline", "mwl"):
        out = run_network(net, weights, xs, arch("q8.8"), dataflow)
        assert out.y[:, 0, 0].tolist() == [63 / 256, -18 / 256]
        assert out.c_n[0][0, 0, 0] == -5730 * 2**-16
    # step 1 by hand, every operation rounded to q16.16 (section 6.2)
    q = P("q16.16")
    b_i, b_f, b_g, b_o = 26 / 256, 51 / 256, 77 / 256, 102 / 256  # stored in q8.8
    p_o = 26 / 256
    zi, zf, zg, zo = 0.5 + b_i, 0.25 + b_f, 1.0 + b_g, -0.5 + b_o  # h_0 = 0, x_1 = 1

    def mfu(function: str, x: float) -> float:
        return float(activation(function, [x], EXACT, q)[0])

    i, f, g = mfu("sigmoid", zi), mfu("sigmoid", zf), mfu("tanh", zg)
    c = rnd(rnd(f * 0.0, q) + rnd(i * g, q), q)
    zo = rnd(zo + rnd(p_o * c, q), q)
    o, tc = mfu("sigmoid", zo), mfu("tanh", c)
    h = rnd(o * tc, q)
    units = [v * 2**16 for v in (i, f, g, c, zo, o, tc, h)]
    assert units == [42337, 40007, 56487, 36491, -2950, 32031, 33135, 16195]
    assert rnd(h, P("q8.8")) == 63 / 256


def test_point_12_the_output_peephole_reads_the_new_cell_state() -> None:
    net, weights = one_unit()
    xs = {"main": np.array([[[1.0]]])}
    ours = run_network(net, weights, xs, arch("fp32"), "baseline")
    wd = weights.layers[0][0]
    y_new, _ = spec_layer(wd, xs["main"][:, 0], "fp32", "exact", 4, False)
    assert np.array_equal(ours.y[:, 0], y_new)
    # with c_{t-1} = 0 the output peephole would add nothing: another h
    no_po = LSTMWeights(wd.w, wd.u, wd.b, np.array([[0.3], [-0.2], [0.0]]))
    y_old, _ = spec_layer(no_po, xs["main"][:, 0], "fp32", "exact", 4, False)
    assert not np.array_equal(ours.y[:, 0], y_old)


def test_int8_baseline_and_mwl_differ_in_the_cell_state() -> None:
    """Spec 5.3's note: int8 MWL rounds W x + b and U h separately (fp32), the baseline
    once; the stored outputs agreed here, the cell states do not."""
    net = Network("n", (Stack("main", 7, (LSTMLayer(9, 6, peepholes=True),)),))
    weights = random_weights(net, np.random.default_rng(2))
    x = {"main": np.random.default_rng(3).standard_normal((7, 2, 9))}
    a = run_network(net, weights, x, arch("int8"), "baseline")
    b = run_network(net, weights, x, arch("int8"), "mwl")
    assert not np.array_equal(a.c_n[0], b.c_n[0])
    assert np.abs(a.c_n[0] - b.c_n[0]).max() <= 2**-23
