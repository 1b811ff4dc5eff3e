"""Buffer sizing: at the sized capacities nothing is re-fetched or spilled; below, it is."""

from __future__ import annotations

import pytest

from epur.arch import apply_overrides
from epur.evaluation import evaluate
from epur.timing import required_sizes
from epur.workload import Network, zoo_network
from epur.workload.zoo import ZOO_NAMES

CASES = [(n, known) for n in ZOO_NAMES for known in (False, True) if n == "gmat" or not known]


def network(name: str, known: bool) -> Network:
    net = zoo_network(name)
    return net.with_known_inputs() if known else net


@pytest.mark.parametrize(("name", "known"), CASES)
@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
def test_sized_buffers_refetch_and_spill_nothing(
    name: str, known: bool, dataflow: str, paper
) -> None:
    net = network(name, known)
    need = required_sizes(net, paper, dataflow)
    arch = apply_overrides(
        paper,
        [
            f"weight_buffer.capacity_bytes={need.weight_buffer_bytes}",
            f"input_buffer.capacity_bytes={need.input_buffer_bytes}",
            f"intermediate_memory.capacity_bytes={need.intermediate_memory_bytes}",
        ],
    )
    t = evaluate(net, arch, dataflow).timing
    assert t.total.dram_weight_bytes == net.parameter_count() * paper.storage_bits // 8
    assert not any("spill" in n or "re-fetched" in n for n in t.notes)

    # one byte less of weight buffer: something is re-fetched
    smaller = apply_overrides(
        arch, [f"weight_buffer.capacity_bytes={need.weight_buffer_bytes - 1}"]
    )
    t = evaluate(net, smaller, dataflow).timing
    assert t.total.dram_weight_bytes > net.parameter_count() * paper.storage_bits // 8
    # one byte less of intermediate memory: something spills
    if need.intermediate_memory_bytes:
        smaller = apply_overrides(
            arch, [f"intermediate_memory.capacity_bytes={need.intermediate_memory_bytes - 1}"]
        )
        assert any("spill" in n for n in evaluate(net, smaller, dataflow).timing.notes)


def test_mwl_needs_only_u_while_baseline_needs_w_and_u(paper) -> None:
    net = network("gmat", known=True)
    # largest layer per gate: W 1024 x 2048 and U 1024 x 1024 in fp16, plus a bias per row
    assert (
        required_sizes(net, paper, "baseline").weight_buffer_bytes == 1024 * (2048 + 1024 + 1) * 2
    )
    assert required_sizes(net, paper, "mwl").weight_buffer_bytes == 1024 * 1024 * 2
