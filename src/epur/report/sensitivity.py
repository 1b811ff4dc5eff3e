"""How much the headline averages (energy reduction and speedup of E-PUR with MWL against
the Tegra X1) move when one uncertain assumption moves, the others at their default: a
tornado.

Each assumption has a low and a high value and the reason for them. Assumptions about
the Tegra re-evaluate only the Tegra; assumptions about E-PUR re-evaluate only the mwl
design on the faithful networks (``EpurRunner``); GMAT faithful vs known inputs swaps
one network's figures in the average. An E-PUR field that the architecture does not
have yet (another model's work) is skipped and listed in ``Sensitivity.not_wired``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from epur.arch import ArchConfig, apply_overrides
from epur.errors import EpurError
from epur.report.tegra import TegraConfig, TegraResult, evaluate_tegra
from epur.workload.network import Network

__all__ = [
    "EPUR_ASSUMPTIONS",
    "POWER_RANGE_W",
    "EpurFigures",
    "EpurRunner",
    "Headline",
    "Sensitivity",
    "SensitivityRow",
    "headline",
    "sensitivity",
]


# the Tegra's board power under load, W: not published for an LSTM (the baseline's
# POWER_UNDER_LOAD_W says why 4-10 W is the plausible range)
POWER_RANGE_W = (4.0, 10.0)


@dataclass(frozen=True, slots=True)
class EpurFigures:
    """E-PUR's latency (s) and energy (J, None without an energy model) on one network."""

    latency_s: float
    energy_j: float | None


# E-PUR's figures on each faithful network (by key) for an architecture
EpurRunner = Callable[[ArchConfig], dict[str, EpurFigures]]


@dataclass(frozen=True, slots=True)
class Headline:
    """The averages over the networks of the Tegra's energy / E-PUR's and the Tegra's
    latency / E-PUR's."""

    energy_reduction: float | None
    speedup: float


def headline(epur: dict[str, EpurFigures], tegra: dict[str, TegraResult]) -> Headline:
    keys = list(epur)
    speedup = sum(tegra[k].latency_s / epur[k].latency_s for k in keys) / len(keys)
    energies = [(tegra[k].energy_j, epur[k].energy_j) for k in keys]
    reduction = None
    if all(e is not None for _, e in energies):
        reduction = sum(t / e for t, e in energies if e is not None) / len(energies)
    return Headline(reduction, speedup)


@dataclass(frozen=True, slots=True)
class SensitivityRow:
    """One assumption: its default, low and high values, why, and the headline averages
    with it at low and at high (``None`` where they could not be computed: ``note``)."""

    assumption: str
    default: str
    low: str
    high: str
    reason: str
    energy_reduction_avg: tuple[float, float] | None
    speedup_avg: tuple[float, float] | None
    note: str | None = None

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "assumption": self.assumption,
            "default": self.default,
            "low": self.low,
            "high": self.high,
            "reason": self.reason,
            "energy_reduction_avg": _pair(self.energy_reduction_avg),
            "speedup_avg": _pair(self.speedup_avg),
        }
        if self.note is not None:
            out["note"] = self.note
        return out


def _pair(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else list(pair)


@dataclass(frozen=True, slots=True)
class Sensitivity:
    default: Headline
    rows: tuple[SensitivityRow, ...]
    not_wired: tuple[str, ...]  # E-PUR fields the architecture does not have yet

    def _band(self, pick: Callable[[SensitivityRow], tuple[float, float] | None]) -> list[float]:
        return [v for row in self.rows if (p := pick(row)) is not None for v in p]

    def energy_reduction_range(self) -> tuple[float, float] | None:
        """The lowest and highest average energy reduction over every row and the default."""
        if self.default.energy_reduction is None:
            return None
        values = [self.default.energy_reduction, *self._band(lambda r: r.energy_reduction_avg)]
        return min(values), max(values)

    def speedup_range(self) -> tuple[float, float]:
        values = [self.default.speedup, *self._band(lambda r: r.speedup_avg)]
        return min(values), max(values)

    def json(self) -> list[dict[str, Any]]:
        return [row.json() for row in self.rows]


@dataclass(frozen=True, slots=True)
class _EpurAssumption:
    key: str  # an architecture field
    low: str
    high: str
    reason: str


EPUR_ASSUMPTIONS = (
    _EpurAssumption(
        "technology.sram_periphery", "itrs-lstp", "itrs-hp",
        "E-PUR's SRAM periphery is not published: low-standby-power (little leakage, "
        "slower) against high-performance (faster, leakier) transistors",
    ),
    _EpurAssumption(
        "dram.energy_per_bit_j", "4e-12", "1.4e-11",
        "LPDDR4 energy per bit as published figures spread (docs/sources.md, LPDDR4 "
        "energy per bit): about 4 pJ/bit (CACTI-3DD's core model, HBM2) to 13-14 pJ/bit "
        "(Ha, Stanford 2018)",
    ),
    _EpurAssumption(
        "dram.idle_policy", "active_standby", "self_refresh",
        "what LPDDR4 does between E-PUR's bursts is not published: kept active "
        "(most background power) or put in self refresh (least)",
    ),
    _EpurAssumption(
        "logic.overhead_factor", "1.0", "2.0",
        "control, clock tree and wiring beyond the operators are not in the operator "
        "energies: none, or as much again as the operators",
    ),
    _EpurAssumption(
        "options.constants_in_mfu", "false", "true",
        "whether biases and peepholes sit in a register file beside the MFU instead of "
        "being read from the weight buffer every step (not published)",
    ),
    _EpurAssumption(
        "options.double_buffered_weights", "false", "true",
        "whether weight fills go to a bank the DPU is not reading, so they do not hold "
        "the weight buffer's port (not published)",
    ),
    _EpurAssumption(
        "options.prefetch_next_layer", "false", "true",
        "whether a phase's first weights are fetched in the previous phase's idle "
        "main-memory time (not published)",
    ),
    _EpurAssumption(
        "options.input_steps_per_weight_read", "1", "8",
        "MWL's input phase serving k steps per weight-buffer read (k input registers "
        "and accumulators per lane): 1 as modelled, 8 [assumed] as a generous design",
    ),
)  # fmt: skip


def _field(arch: ArchConfig, key: str) -> tuple[bool, Any]:
    node: Any = arch
    for part in key.split("."):
        if not hasattr(node, part):
            return False, None
        node = getattr(node, part)
    return True, node


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "value"):  # enums
        return str(value.value)
    return str(value)


def _epur_rows(
    arch: ArchConfig,
    default: dict[str, EpurFigures],
    tegra: dict[str, TegraResult],
    run: EpurRunner,
) -> tuple[list[SensitivityRow], list[str]]:
    rows, missing = [], []
    for a in EPUR_ASSUMPTIONS:
        exists, current = _field(arch, a.key)
        if not exists:
            missing.append(a.key)
            continue
        ends: list[Headline] = []
        note = None
        for value in (a.low, a.high):
            try:
                changed = apply_overrides(arch, [f"{a.key}={value}"])
                figures = default if changed == arch else run(changed)
            except EpurError as exc:
                note = f"{a.key}={value}: {exc}"
                break
            ends.append(headline(figures, tegra))
        rows.append(_row(a.key, _shown(current), a.low, a.high, a.reason, ends, note))
    return rows, missing


def _row(
    name: str, default: str, low: str, high: str, reason: str, ends: list[Headline],
    note: str | None,
) -> SensitivityRow:  # fmt: skip
    if note is not None or len(ends) != 2:
        return SensitivityRow(name, default, low, high, reason, None, None, note)
    lo, hi = ends
    red = None
    if lo.energy_reduction is not None and hi.energy_reduction is not None:
        red = (lo.energy_reduction, hi.energy_reduction)
    return SensitivityRow(name, default, low, high, reason, red, (lo.speedup, hi.speedup))


def _fractions(config: TegraConfig, kind: str) -> dict[str, float]:
    keys = (f"{kind}_bandwidth_fraction", f"{kind}_flops_fraction")
    return {k: getattr(config, k) for k in keys}


def _tegra_rows(
    config: TegraConfig,
    scenarios: Mapping[str, TegraConfig],
    networks: Mapping[str, Network],
    epur: dict[str, EpurFigures],
) -> list[SensitivityRow]:
    def ends(**changes: list[Any]) -> list[Headline]:
        out = []
        for i in (0, 1):
            changed = config.replace(**{k: v[i] for k, v in changes.items()})
            out.append(headline(epur, {k: evaluate_tegra(networks[k], changed) for k in epur}))
        return out

    steps = sorted(c.step_fixed_s for c in scenarios.values())
    rows = [
        _row(
            "tegra.step_fixed_s", f"{config.step_fixed_s:.3g}", f"{steps[0]:.3g}",
            f"{steps[-1]:.3g}",
            "launch and synchronisation cost per recurrent step (not measured on the TX1): "
            "from the scenarios' least (the floor) to their most (paper_calibrated)",
            ends(step_fixed_s=[steps[0], steps[-1]]), None,
        ),
        _row(
            "tegra.power_w", f"{config.power_w:g}", f"{POWER_RANGE_W[0]:g}",
            f"{POWER_RANGE_W[1]:g}",
            "board power under an LSTM load is not published: a light GPU load to the "
            "10 W power envelope (NVIDIA Tegra X1)",
            ends(power_w=list(POWER_RANGE_W)), None,
        ),
        _row(
            "tegra.precision", config.precision, "fp16", "fp32",
            "the paper does not say in which precision the TX1 ran: fp16 (as E-PUR) or fp32 "
            "(as the measured kernels; twice the bytes, half the peak)",
            ends(precision=["fp16", "fp32"]), None,
        ),
    ]  # fmt: skip
    fitted = scenarios.get("cudnn_measured", config)  # efficiencies fitted to measurements
    for kind in ("gemv", "gemm"):
        low, high = _fractions(fitted, kind), {k: 1.0 for k in _fractions(fitted, kind)}
        rows.append(
            _row(
                f"tegra.{kind}_fractions",
                _shown_fractions(_fractions(config, kind)),
                _shown_fractions(low),
                _shown_fractions(high),
                f"achieved fractions of peak bandwidth and arithmetic of the {kind.upper()} "
                "kernels: as fitted to measured TX1 kernels (DeepBench, cuDNN 5) or peak",
                ends(**{k: [low[k], high[k]] for k in low}),
                None,
            )
        )
    return rows


def _shown_fractions(fractions: dict[str, float]) -> str:
    return ", ".join(f"{v:.3g}" for v in fractions.values()) + " (bandwidth, flops)"


def sensitivity(
    arch: ArchConfig,
    networks: dict[str, Network],
    epur: dict[str, EpurFigures],
    tegra: dict[str, TegraResult],
    config: TegraConfig,
    scenarios: Mapping[str, TegraConfig],
    gmat_known_inputs: tuple[EpurFigures, TegraResult] | None,
    run: EpurRunner,
) -> Sensitivity:
    """The tornado of the headline averages about ``epur`` and ``tegra`` (the faithful
    networks' mwl figures and the Tegra ``config``'s, the default scenario)."""
    rows = _tegra_rows(config, scenarios, networks, epur)
    epur_rows, missing = _epur_rows(arch, epur, tegra, run)
    rows += epur_rows
    if gmat_known_inputs is not None and "gmat" in epur:
        known_epur = epur | {"gmat": gmat_known_inputs[0]}
        known_tegra = tegra | {"gmat": gmat_known_inputs[1]}
        rows.append(
            _row(
                "gmat_inputs",
                "faithful",
                "faithful",
                "known inputs",
                "GMAT's decoder runs autoregressively (faithful, each step's input its own "
                "output) or with its inputs given (teacher forcing, as MWL's published "
                "result on it needs)",
                [headline(epur, tegra), headline(known_epur, known_tegra)],
                None,
            )
        )
    return Sensitivity(headline(epur, tegra), tuple(rows), tuple(missing))
