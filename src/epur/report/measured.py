"""Measured baselines beside E-PUR and the modelled Tegra X1 (``epur reproduce
--baseline-json FILE...``).

Each file is one ``epur baseline`` measurement (schema ``epur-baseline/1``,
``epur.baselines.measured``): a network run with PyTorch on a real CPU or GPU. For each
one the report shows the device's latency and energy per sequence and E-PUR's speedup
(measured latency / E-PUR latency) and energy ratio (measured energy / E-PUR energy),
against the mwl design (E-PUR's dataflow on the paper preset, as the headline averages
are); the modelled Tegra X1 on the same network beside it, for reference. GMAT is E-PUR's
faithful case (its autoregressive decoder).

* A file whose network is not one of the reproduced networks is refused
  (``ConfigError``, naming the file and ``network``): there is no E-PUR figure to
  compare it with.
* A file measured at another batch than E-PUR's (batch 1: one sequence at a time) is
  shown, labelled with its batch and a note: its figures are per sequence of a batch
  processed together, so the ratios compare cost per sequence, not the latency a
  streaming application sees.
* A file without energy (``energy_j: null``) shows ``n/a`` with its ``energy_reason``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from epur.baselines.measured import MeasuredBaseline, load_measured_baseline
from epur.errors import ConfigError
from epur.report._format import sig
from epur.report.case_results import CaseResults
from epur.report.tables import format_table
from epur.workload.zoo import ZOO_NAMES

__all__ = [
    "EPUR_DESIGN",
    "MEASURED_HEADERS",
    "BaselineFile",
    "EpurFigures",
    "MeasuredComparison",
    "Versus",
    "compare",
    "load_baselines",
    "measured_comparisons",
    "measured_notes",
    "measured_rows",
    "measured_text",
]

EPUR_DESIGN = "mwl"  # the design every measured baseline is compared with

MEASURED_HEADERS = ["network", "platform", "date", "dtype", "batch", "latency/seq ms",
                    "spread ms", "energy/seq mJ", "E-PUR speedup", "E-PUR energy ratio",
                    "source"]  # fmt: skip


@dataclass(frozen=True, slots=True)
class BaselineFile:
    """One loaded ``--baseline-json`` file: its path as given, the measurement, and the
    zoo key of its network."""

    path: str
    baseline: MeasuredBaseline
    network: str


def _zoo_key(name: str) -> str | None:
    key = name.strip().lower()
    return key if key in ZOO_NAMES else None


def load_baselines(paths: Sequence[str]) -> tuple[BaselineFile, ...]:
    """Read and check every file (all of them, before any evaluation): a ``ConfigError``
    naming the file and the field for one that is not a valid ``epur-baseline/1`` file
    or whose network is not one of the reproduced networks."""
    out = []
    for path in paths:
        baseline = load_measured_baseline(path)
        key = _zoo_key(baseline.network)
        if key is None:
            raise ConfigError(
                f"baseline file {path}: network must be one of the reproduced networks "
                f"({', '.join(ZOO_NAMES)}), not {baseline.network!r}"
            )
        out.append(BaselineFile(path, baseline, key))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class EpurFigures:
    """E-PUR (``design``, storing ``dtype``) on one network: latency and energy per
    sequence at ``batch`` (energy None without an energy model)."""

    design: str
    dtype: str
    batch: int
    latency_s: float
    energy_j: float | None

    def json(self) -> dict[str, Any]:
        return {
            "design": self.design,
            "dtype": self.dtype,
            "batch": self.batch,
            "latency_s": self.latency_s,
            "energy_j": self.energy_j,
        }


@dataclass(frozen=True, slots=True)
class Versus:
    """A platform's latency and energy per sequence on one network, and E-PUR's speedup
    (its latency / E-PUR's) and energy ratio (its energy / E-PUR's); the ratio is None,
    with ``energy_reason``, where either energy is unknown."""

    latency_s: float
    energy_j: float | None
    epur_speedup: float
    epur_energy_ratio: float | None
    energy_reason: str | None

    def json(self) -> dict[str, Any]:
        return {
            "latency_s": self.latency_s,
            "energy_j": self.energy_j,
            "epur_speedup": self.epur_speedup,
            "epur_energy_ratio": self.epur_energy_ratio,
            "energy_reason": self.energy_reason,
        }


def _versus(
    latency_s: float, energy_j: float | None, reason: str | None, epur: EpurFigures
) -> Versus:
    ratio = None
    if energy_j is None:
        reason = reason or "not measured (the file gives no reason)"
    elif epur.energy_j is None:
        reason = "E-PUR's energy was not modelled (no SRAM backend)"
    else:
        ratio, reason = energy_j / epur.energy_j, None
    return Versus(latency_s, energy_j, latency_s / epur.latency_s, ratio, reason)


@dataclass(frozen=True, slots=True)
class MeasuredComparison:
    """One measured baseline (``measured``, from ``file``) against E-PUR (``epur``) on
    its network, with the modelled Tegra X1 (``tegra_x1``, in ``tegra_scenario``) on the
    same network for reference. Latencies and energies are per sequence (s, J)."""

    file: str
    network: str  # the zoo key
    network_name: str
    device: str
    device_kind: str
    date: str
    dtype: str
    batch: int
    latency_spread_s: float
    energy_source: str | None
    measured: Versus
    epur: EpurFigures
    tegra_x1: Versus
    tegra_scenario: str
    tegra_precision: str
    notes: tuple[str, ...]

    @property
    def platform(self) -> str:
        """``<device> (<kind>, measured)``: how the tables name the measured device."""
        return f"{self.device} ({self.device_kind}, measured)"

    def json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "measured": True,
            "network": self.network,
            "device": {"name": self.device, "kind": self.device_kind},
            "date": self.date,
            "dtype": self.dtype,
            "batch": self.batch,
            "latency_spread_s": self.latency_spread_s,
            "energy_source": self.energy_source,
            **self.measured.json(),
            "epur": self.epur.json(),
            "tegra_x1": self.tegra_x1.json()
            | {"modelled": True, "scenario": self.tegra_scenario,
               "precision": self.tegra_precision},
            "notes": list(self.notes),
        }  # fmt: skip


def _batch_note(batch: int, epur_batch: int) -> tuple[str, ...]:
    if batch == epur_batch:
        return ()
    return (
        f"batch {batch} (E-PUR: batch {epur_batch}): per sequence of {batch} sequences "
        f"processed together, which share each weight read; E-PUR's are at batch "
        f"{epur_batch}, so the ratios compare the cost per sequence, not the latency a "
        "streaming application sees",
    )


def compare(
    file: BaselineFile,
    network_name: str,
    epur: EpurFigures,
    tegra: tuple[float, float],
    tegra_scenario: str,
    tegra_precision: str,
) -> MeasuredComparison:
    """``file``'s measurement against ``epur`` on its network; ``tegra``: the modelled
    Tegra X1's latency and energy per sequence on it (s, J)."""
    b = file.baseline
    return MeasuredComparison(
        file=file.path,
        network=file.network,
        network_name=network_name,
        device=b.device.name,
        device_kind=b.device.kind,
        date=b.date,
        dtype=b.dtype,
        batch=b.batch,
        latency_spread_s=b.latency_spread_s,
        energy_source=b.energy_source,
        measured=_versus(b.latency_s, b.energy_j, b.energy_reason, epur),
        epur=epur,
        tegra_x1=_versus(tegra[0], tegra[1], None, epur),
        tegra_scenario=tegra_scenario,
        tegra_precision=tegra_precision,
        notes=_batch_note(b.batch, epur.batch),
    )


def measured_comparisons(
    files: Sequence[BaselineFile],
    networks: Sequence[CaseResults],
    batches: Mapping[str, int],
    epur_dtype: str,
    tegra_precision: str,
) -> tuple[MeasuredComparison, ...]:
    """Every file against the ``EPUR_DESIGN`` design (storing ``epur_dtype``) on its
    (faithful) network of ``networks``, whose batch is ``batches[key]``; in the order of
    the networks, then of the files."""
    out = []
    for case in networks:
        design = case.designs[EPUR_DESIGN]
        batch = batches[case.key]
        energy = None if design.energy is None else design.energy.energy_per_sequence_j
        epur = EpurFigures(EPUR_DESIGN, epur_dtype, batch, design.latency_s / batch, energy)
        t = case.tegra_x1
        tegra = (t.latency_s / batch, t.energy_per_sequence_j)
        for f in (f for f in files if f.network == case.key):
            out.append(compare(f, case.name, epur, tegra, t.scenario, tegra_precision))
    return tuple(out)


def _x(value: float | None) -> str:
    return "n/a" if value is None else sig(value, 3)


def _energy_mj(value: float | None) -> str:
    return "n/a" if value is None else sig(value * 1e3)


def measured_rows(comparisons: Sequence[MeasuredComparison]) -> list[list[str]]:
    """Rows of the measured-baselines table (``MEASURED_HEADERS``): each network's
    measured devices, then the modelled Tegra X1 and E-PUR on it for reference."""
    rows = []
    for k, c in enumerate(comparisons):
        m = c.measured
        rows.append([
            c.network_name, c.platform, c.date[:10], c.dtype, str(c.batch),
            sig(m.latency_s * 1e3), sig(c.latency_spread_s * 1e3), _energy_mj(m.energy_j),
            _x(m.epur_speedup), _x(m.epur_energy_ratio), PurePath(c.file).name,
        ])  # fmt: skip
        last = k + 1 == len(comparisons) or comparisons[k + 1].network != c.network
        if last:
            t = c.tegra_x1
            rows.append([
                c.network_name, "Tegra X1 (modelled)", "", c.tegra_precision,
                str(c.epur.batch), sig(t.latency_s * 1e3), "", _energy_mj(t.energy_j),
                _x(t.epur_speedup), _x(t.epur_energy_ratio), "epur",
            ])  # fmt: skip
            e = c.epur
            rows.append([
                c.network_name, f"E-PUR {e.design} (modelled)", "", e.dtype, str(e.batch),
                sig(e.latency_s * 1e3), "", _energy_mj(e.energy_j), "1",
                "n/a" if e.energy_j is None else "1",
                "epur",
            ])  # fmt: skip
    return rows


def measured_notes(comparisons: Sequence[MeasuredComparison]) -> list[str]:
    """What the table's reader must know: E-PUR's design and the Tegra's scenario, every
    n/a energy with its reason (and the file's full path), and every batch that differs
    from E-PUR's."""
    scenario = comparisons[0].tegra_scenario if comparisons else ""
    notes = [
        "measured: latency and energy per sequence as epur baseline measured them "
        f"(median latency; spread: the interquartile range); E-PUR: the {EPUR_DESIGN} "
        "design (modelled; GMAT with its autoregressive decoder); Tegra X1: the modelled "
        f"default scenario ({scenario}); E-PUR speedup = the platform's latency / E-PUR's; "
        "E-PUR energy ratio = the platform's energy / E-PUR's"
    ]
    for c in comparisons:
        who = f"{c.network_name}, {c.platform}, {c.dtype}, batch {c.batch} ({c.file})"
        if c.measured.energy_reason is not None:
            what = "energy" if c.measured.energy_j is None else "energy ratio"
            notes.append(f"{who}: {what} n/a: {c.measured.energy_reason}")
        notes += [f"{who}: {n}" for n in c.notes]
    return notes


def measured_text(comparisons: Sequence[MeasuredComparison]) -> str:
    """The measured-baselines part of the text report."""
    table = format_table(MEASURED_HEADERS, measured_rows(comparisons), right={4, 5, 6, 7, 8, 9})
    return (
        "measured baselines:\n"
        + table
        + "\n\n"
        + "\n".join(f"* {n}" for n in measured_notes(comparisons))
    )
