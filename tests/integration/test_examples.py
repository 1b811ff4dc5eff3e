"""Every example runs, and every example network and architecture file loads."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from epur.arch import load_arch
from epur.evaluation import evaluate
from epur.sweep._points import build_tasks
from epur.sweep.spec import load_sweep_spec
from epur.workload import load_network

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("script", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_example_script_runs(
    script: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)  # make_models.py writes its files in the current folder
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out


SWEEPS = [EXAMPLES / "sweep_small.yaml", EXAMPLES / "sweep_large.yaml",
          EXAMPLES / "paper_consistency.yaml"]  # fmt: skip
NETWORKS = [
    p
    for p in sorted([*EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("*.toml")])
    if "arch" not in p.stem and p not in SWEEPS
]


@pytest.mark.parametrize("network", NETWORKS, ids=lambda p: p.name)
def test_example_networks_simulate(network: Path) -> None:
    net = load_network(network)
    arch = load_arch(EXAMPLES / "edge_arch.yaml")
    for flow in ("baseline", "mwl"):
        assert evaluate(net, arch, flow).timing.total.macs == net.macs_per_sequence()


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_example_sweeps_are_valid_specs(path: Path) -> None:
    """Every example sweep validates and builds its points; the small one, which the
    README runs first, has at most 50."""
    spec = load_sweep_spec(path)
    tasks = build_tasks(spec, {ref.name: ref.load() for ref in spec.networks})
    assert tasks and all(t.design is not None for t in tasks), [t.error for t in tasks][:3]
    if path.name == "sweep_small.yaml":
        assert len(tasks) <= 50
