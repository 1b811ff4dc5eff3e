"""Unit tests for ``epur.workload.network``: layer sizes, counts and ``Network`` validation.

Expected parameter counts come from the formula in the benchmarks README
(``tests/data/benchmarks/README.md``, a copy of the project's shared reference):

    one LSTM direction = 4*H*(in + rec) gate weights + 4*H bias (+ 3*H peepholes) (+ H*P projection)
    rec = P if projected, else H

and MACs per step from the same gate matrices: 4*H*(in + rec) (+ H*P for the projection); biases and
peepholes are element-wise work, not multiply-accumulates in the DPU.
"""

from __future__ import annotations

import math

import pytest

from epur.errors import ConfigError
from epur.workload.network import Activation, FCLayer, LSTMLayer, Network, Stack


def lstm_params(
    i: int, h: int, *, bidir: bool = False, peep: bool = False, proj: int | None = None
):
    """The README formula, written out independently of the implementation."""
    rec = proj if proj is not None else h
    per_direction = 4 * h * (i + rec) + 4 * h
    if peep:
        per_direction += 3 * h
    if proj is not None:
        per_direction += h * proj
    return (2 if bidir else 1) * per_direction


def lstm_macs(i: int, h: int, *, bidir: bool = False, proj: int | None = None) -> int:
    rec = proj if proj is not None else h
    per_direction = 4 * h * (i + rec) + (h * proj if proj is not None else 0)
    return (2 if bidir else 1) * per_direction


def net(*layers, seq_len: int = 3, **kwargs) -> Network:
    return Network(name="n", stacks=(Stack("s", seq_len, tuple(layers)),), **kwargs)


def one_line(excinfo: pytest.ExceptionInfo[ConfigError]) -> None:
    assert "\n" not in str(excinfo.value)


# ---- LSTMLayer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        # 4*3*(2+3) + 4*3 = 60 + 12
        (LSTMLayer(2, 3), 72),
        # 2 * (60 + 12 + 3*3)
        (LSTMLayer(2, 3, bidirectional=True, peepholes=True), 162),
        # rec = P = 1: 4*3*(2+1) + 4*3 + 3*1 = 36 + 12 + 3
        (LSTMLayer(2, 3, projection_size=1), 51),
        # 4*3*(2+1) + 12 + 9 + 3
        (LSTMLayer(2, 3, peepholes=True, projection_size=1), 60),
    ],
)
def test_lstm_parameter_count_small_cases_by_hand(layer: LSTMLayer, expected: int) -> None:
    assert layer.parameter_count() == expected


@pytest.mark.parametrize("bidir", [False, True])
@pytest.mark.parametrize("peep", [False, True])
@pytest.mark.parametrize("proj", [None, 7, 512])
@pytest.mark.parametrize(("i", "h"), [(120, 320), (1, 1), (80, 1024), (2048, 1024)])
def test_lstm_parameter_count_matches_readme_formula(
    i: int, h: int, bidir: bool, peep: bool, proj: int | None
) -> None:
    layer = LSTMLayer(i, h, bidirectional=bidir, peepholes=peep, projection_size=proj)
    assert layer.parameter_count() == lstm_params(i, h, bidir=bidir, peep=peep, proj=proj)


@pytest.mark.parametrize("bidir", [False, True])
@pytest.mark.parametrize("peep", [False, True])
@pytest.mark.parametrize("proj", [None, 5])
def test_lstm_macs_per_step(bidir: bool, peep: bool, proj: int | None) -> None:
    layer = LSTMLayer(6, 4, bidirectional=bidir, peepholes=peep, projection_size=proj)
    assert layer.macs_per_step() == lstm_macs(6, 4, bidir=bidir, proj=proj)


def test_lstm_macs_small_case_by_hand() -> None:
    # 4 gates x H=3 rows x (I=2 + H=3) columns
    assert LSTMLayer(2, 3).macs_per_step() == 60
    # + projection 3x1, rec = 1: 4*3*(2+1) + 3
    assert LSTMLayer(2, 3, projection_size=1).macs_per_step() == 39


@pytest.mark.parametrize(
    ("layer", "directions", "recurrent", "output"),
    [
        (LSTMLayer(10, 8), 1, 8, 8),
        (LSTMLayer(10, 8, bidirectional=True), 2, 8, 16),
        (LSTMLayer(10, 8, projection_size=3), 1, 3, 3),
        (LSTMLayer(10, 8, bidirectional=True, projection_size=3), 2, 3, 6),
    ],
)
def test_lstm_sizes(layer: LSTMLayer, directions: int, recurrent: int, output: int) -> None:
    assert layer.directions == directions
    assert layer.recurrent_size == recurrent
    assert layer.output_size == output


def test_layers_are_frozen() -> None:
    layer = LSTMLayer(2, 3)
    with pytest.raises(AttributeError):
        layer.hidden_size = 4  # type: ignore[misc]


# ---- FCLayer --------------------------------------------------------------------------------


@pytest.mark.parametrize(("i", "o"), [(1, 1), (640, 46), (512, 101)])
def test_fc_counts(i: int, o: int) -> None:
    layer = FCLayer(i, o, Activation.RELU)
    assert layer.parameter_count() == o * i + o  # weights + one bias per output
    assert layer.macs_per_step() == o * i


def test_fc_default_activation_is_none() -> None:
    assert FCLayer(3, 2).activation is Activation.NONE
    assert Activation("tanh") is Activation.TANH


# ---- Network --------------------------------------------------------------------------------


def _two_stack() -> Network:
    enc = Stack("enc", 5, (LSTMLayer(4, 3, bidirectional=True), LSTMLayer(6, 3)))
    dec = Stack("dec", 7, (LSTMLayer(9, 3), FCLayer(3, 2)), autoregressive=True)
    return Network(name="s2s", stacks=(enc, dec), batch=2)


def test_network_counts_sum_over_layers() -> None:
    network = _two_stack()
    params = lstm_params(4, 3, bidir=True) + lstm_params(6, 3) + lstm_params(9, 3) + (2 * 3 + 2)
    assert network.parameter_count() == params
    enc_macs = lstm_macs(4, 3, bidir=True) + lstm_macs(6, 3)
    dec_macs = lstm_macs(9, 3) + 2 * 3
    assert network.macs_per_sequence() == 2 * (5 * enc_macs + 7 * dec_macs)
    assert network.num_layers == 4


def test_network_layers_in_execution_order() -> None:
    network = _two_stack()
    pairs = list(network.layers())
    assert [stack.name for stack, _ in pairs] == ["enc", "enc", "dec", "dec"]
    assert [layer for _, layer in pairs] == [*network.stacks[0].layers, *network.stacks[1].layers]


def test_network_is_autoregressive_and_with_known_inputs() -> None:
    network = _two_stack()
    assert network.is_autoregressive
    known = network.with_known_inputs()
    assert not known.is_autoregressive
    assert [s.autoregressive for s in known.stacks] == [False, False]
    # everything else is kept, and the original is untouched
    assert [s.layers for s in known.stacks] == [s.layers for s in network.stacks]
    assert [s.seq_len for s in known.stacks] == [5, 7]
    assert known.batch == network.batch and known.name == network.name
    assert network.stacks[1].autoregressive


def test_with_seq_len_sets_every_stack() -> None:
    network = _two_stack()
    longer = network.with_seq_len(11)
    assert [s.seq_len for s in longer.stacks] == [11, 11]
    per_step = sum(layer.macs_per_step() for _, layer in network.layers())
    assert longer.macs_per_sequence() == network.batch * 11 * per_step
    assert longer.is_autoregressive  # the stacks keep their kind
    assert [s.seq_len for s in network.stacks] == [5, 7]


def test_with_seq_len_is_validated() -> None:
    with pytest.raises(
        ConfigError, match=r"^stacks\[0\]\.seq_len must be a positive integer, not 0$"
    ):
        _two_stack().with_seq_len(0)


def test_provenance_is_not_compared() -> None:
    a = net(LSTMLayer(2, 3))
    b = Network(name="n", stacks=a.stacks, provenance="somewhere")
    assert a == b


def test_external_features_allowed_above_the_layer_below() -> None:
    # GNMT decoder: input = output of the layer below (3) + 6 external features
    network = net(LSTMLayer(4, 3), LSTMLayer(9, 3, residual=True))
    assert network.stacks[0].layers[1].input_size == 9


def test_residual_on_first_layer_with_equal_sizes() -> None:
    assert net(LSTMLayer(8, 8, residual=True)).num_layers == 1
    # bidirectional with projection: output 2*P = 8 equals the input 8
    layer = LSTMLayer(8, 16, bidirectional=True, projection_size=4, residual=True)
    assert net(layer).stacks[0].layers == (layer,)


def test_frame_period_and_batch_are_kept() -> None:
    network = net(LSTMLayer(2, 3), batch=4, frame_period_s=0.01)
    assert network.batch == 4
    assert network.frame_period_s == 0.01
    assert net(LSTMLayer(2, 3)).frame_period_s is None


# ---- validation errors ----------------------------------------------------------------------


PERIOD = r"frame_period_s must be a number of seconds in \(0, 3600\]"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, r"^name must be a non-empty string, not ''$"),
        ({"batch": 0}, r"^batch must be a positive integer, not 0$"),
        ({"batch": -2}, r"^batch must be a positive integer, not -2$"),
        ({"batch": True}, r"^batch must be a positive integer, not True$"),
        ({"batch": 1.0}, r"^batch must be a positive integer, not 1\.0$"),
        ({"frame_period_s": 0.0}, rf"^{PERIOD}, not 0\.0$"),
        ({"frame_period_s": -0.01}, rf"^{PERIOD}, not -0\.01$"),
        ({"frame_period_s": math.nan}, rf"^{PERIOD}, not nan$"),
        ({"frame_period_s": math.inf}, rf"^{PERIOD}, not inf$"),
        ({"frame_period_s": 3600.5}, rf"^{PERIOD}, not 3600\.5$"),
        ({"frame_period_s": True}, rf"^{PERIOD}, not True$"),
        ({"batch": 2**24 + 1}, r"^batch must be at most 2\*\*24 = 16777216, not 16777217$"),
        ({"stacks": ()}, r"^stacks must hold at least one stack, not 0$"),
    ],
)
def test_network_field_errors(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"name": "n", "stacks": (Stack("s", 2, (LSTMLayer(2, 3),)),)}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=message) as excinfo:
        Network(**args)  # type: ignore[arg-type]
    one_line(excinfo)


@pytest.mark.parametrize(
    ("stacks", "message"),
    [
        (
            (Stack("a", 2, (LSTMLayer(2, 3),)), Stack("b", 0, (LSTMLayer(2, 3),))),
            r"^stacks\[1\]\.seq_len must be a positive integer, not 0$",
        ),
        (
            (Stack("a", True, (LSTMLayer(2, 3),)),),
            r"^stacks\[0\]\.seq_len must be a positive integer, not True$",
        ),
        ((Stack("a", 2, ()),), r"^stacks\[0\]\.layers must hold at least one layer, not 0$"),
        (
            (Stack("a", 2, (LSTMLayer(2, 3), LSTMLayer(3, -3))),),
            r"^stacks\[0\]\.layers\[1\]\.hidden_size must be a positive integer, not -3$",
        ),
        (
            (Stack("a", 2, (LSTMLayer(0, 3),)),),
            r"^stacks\[0\]\.layers\[0\]\.input_size must be a positive integer, not 0$",
        ),
        (
            (Stack("a", 2, (LSTMLayer(4.0, 3),)),),  # type: ignore[arg-type]
            r"^stacks\[0\]\.layers\[0\]\.input_size must be a positive integer, not 4\.0$",
        ),
        (
            (Stack("a", 2, (LSTMLayer(2, 3, projection_size=0),)),),
            r"^stacks\[0\]\.layers\[0\]\.projection_size must be a positive integer, not 0$",
        ),
        (
            (Stack("a", 2, (FCLayer(2, 0),)),),
            r"^stacks\[0\]\.layers\[0\]\.output_size must be a positive integer, not 0$",
        ),
        (
            # bidirectional H=8 gives 16 outputs; 8 inputs above are too few
            (Stack("a", 2, (LSTMLayer(4, 8, bidirectional=True), LSTMLayer(8, 8))),),
            r"^stacks\[0\]\.layers\[1\]\.input_size must be at least the output size of the "
            r"layer below \(16\), not 8$",
        ),
        (
            (Stack("a", 2, (LSTMLayer(2, 3),)), Stack("b", 2, (LSTMLayer(4, 5), FCLayer(4, 2)))),
            r"^stacks\[1\]\.layers\[1\]\.input_size must be at least the output size of the "
            r"layer below \(5\), not 4$",
        ),
        (
            (Stack("a", 2, (LSTMLayer(4, 8, residual=True),)),),
            r"^stacks\[0\]\.layers\[0\]\.residual needs the layer's output size \(8\) to equal "
            r"the size of its input from below \(4\)$",
        ),
        (
            # the shortcut is the output of the layer below (3), not the wider input (9)
            (Stack("a", 2, (LSTMLayer(4, 3), LSTMLayer(9, 9, residual=True))),),
            r"^stacks\[0\]\.layers\[1\]\.residual needs the layer's output size \(9\) to equal "
            r"the size of its input from below \(3\)$",
        ),
    ],
)
def test_stack_and_layer_errors_name_the_path(stacks: tuple[Stack, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as excinfo:
        Network(name="n", stacks=stacks)
    one_line(excinfo)


def test_non_layer_object_is_a_config_error() -> None:
    with pytest.raises(
        ConfigError, match=r"^stacks\[0\]\.layers\[0\] must be an LSTMLayer or an FCLayer, not 5$"
    ):
        Network(name="n", stacks=(Stack("a", 2, (5,)),))  # type: ignore[arg-type]


def test_non_numeric_frame_period_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^frame_period_s must be .+, not '10ms'$"):
        net(LSTMLayer(2, 3), frame_period_s="10ms")  # type: ignore[arg-type]


# ---- limits: what no network can be -------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "field"),
    [
        (LSTMLayer(2**24 + 1, 3), "input_size"),
        (LSTMLayer(2, 2**24 + 1), "hidden_size"),
        (LSTMLayer(2, 3, projection_size=2**24 + 1), "projection_size"),
        (FCLayer(2**24 + 1, 3), "input_size"),
        (FCLayer(2, 2**30), "output_size"),
    ],
)
def test_sizes_above_2_to_the_24_are_refused(layer: LSTMLayer | FCLayer, field: str) -> None:
    value = getattr(layer, field)
    assert net(FCLayer(2**24, 2**24)).stacks[0].layers[0].input_size == 2**24  # the largest
    with pytest.raises(
        ConfigError,
        match=rf"^stacks\[0\]\.layers\[0\]\.{field} must be at most 2\*\*24 = 16777216, "
        rf"not {value}$",
    ) as excinfo:
        net(layer)
    one_line(excinfo)


def test_sequence_lengths_above_2_to_the_24_are_refused() -> None:
    assert net(LSTMLayer(2, 3)).with_seq_len(2**24).stacks[0].seq_len == 2**24
    with pytest.raises(
        ConfigError, match=r"^stacks\[0\]\.seq_len must be at most 2\*\*24 = 16777216, not "
    ):
        net(LSTMLayer(2, 3)).with_seq_len(10**12)


@pytest.mark.parametrize(("per_stack", "stacks"), [(10_001, 1), (5_001, 2), (1, 10_001)])
def test_more_than_10000_layers_are_refused_before_any_layer_is_checked(
    per_stack: int, stacks: int
) -> None:
    """All stacks together; the count comes first, so 50,000 broken layers cost nothing."""
    layers = (LSTMLayer(3, 3),) * per_stack
    with pytest.raises(
        ConfigError,
        match=rf"^layers must be at most 10000, all stacks together, not "
        rf"{per_stack * stacks}$",
    ):
        Network("n", tuple(Stack(f"s{k}", 2, layers) for k in range(stacks)))
    assert Network("n", (Stack("s", 2, (LSTMLayer(3, 3),) * 10_000),)).num_layers == 10_000
    broken = (LSTMLayer(0, 3),) * 50_000
    with pytest.raises(ConfigError, match=r"^layers must be at most 10000"):
        Network("n", (Stack("s", 2, broken),))


def test_an_fc_activation_may_be_given_by_name() -> None:
    """Built from Python with a string, the layer still runs (it used to fail at run time)."""
    assert FCLayer(8, 3, activation="tanh").activation is Activation.TANH  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"activation must be one of none, relu, sigmoid, tanh"):
        FCLayer(8, 3, activation="softmax")  # type: ignore[arg-type]


def test_the_sequence_duration_is_the_first_stacks_steps_times_the_frame_period() -> None:
    layer = LSTMLayer(8, 16)
    framed = Network("n", (Stack("a", 250, (layer,)), Stack("b", 7, (layer,))),
                     frame_period_s=0.01)  # fmt: skip
    assert framed.sequence_duration_s == pytest.approx(2.5)
    assert Network("n", (Stack("a", 250, (layer,)),)).sequence_duration_s is None
