"""The paper's four networks (EESEN, GMAT, BYSDNE, RLDRADSPR), built from packaged data.

``data/networks.json`` and ``data/PROVENANCE.md`` are verbatim copies of
the project's benchmark reference (kept beside the repository): every size carries its
source. This module only maps that JSON onto ``Network`` objects:

* layers with ``role: decoder`` form an autoregressive stack of ``seq_len_decoder``
  steps (GNMT's decoder); all other layers form the first stack;
* ``frame_rate_ms`` becomes the frame period that gives the real-time factor.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from epur.errors import ConfigError
from epur.workload.network import LSTMLayer, Network, Stack

__all__ = ["ZOO_NAMES", "zoo_network", "zoo_record"]

ZOO_NAMES = ("eesen", "gmat", "bysdne", "rldradspr")


@cache
def _records() -> dict[str, dict[str, Any]]:
    text = resources.files("epur.workload").joinpath("data/networks.json").read_text("utf-8")
    return {rec["name"].lower(): rec for rec in json.loads(text)}


def zoo_record(name: str) -> dict[str, Any]:
    """The raw provenance record of a zoo network (task, dataset, sources, confidence)."""
    key = name.lower()
    if key not in _records():
        raise ConfigError(f"network must be one of {', '.join(ZOO_NAMES)} or a file, not {name!r}")
    return _records()[key]


def _lstm(spec: dict[str, Any], name: str) -> LSTMLayer:
    if spec["type"] != "lstm":
        raise ConfigError(f"zoo layer {name} has unsupported type {spec['type']!r}")
    return LSTMLayer(
        input_size=spec["input"],
        hidden_size=spec["hidden"],
        bidirectional=spec["bidirectional"],
        peepholes=spec["peephole"],
        projection_size=spec["projection"],
        residual=spec["residual"],
        name=name,
    )


def zoo_network(name: str) -> Network:
    """The zoo network ``name``: ``eesen``, ``gmat``, ``bysdne`` or ``rldradspr`` (any case)."""
    rec = zoo_record(name)
    encoder = [spec for spec in rec["layers"] if spec.get("role") != "decoder"]
    decoder = [spec for spec in rec["layers"] if spec.get("role") == "decoder"]
    first = "encoder" if decoder else "main"
    stacks = [Stack(first, rec["seq_len"], _layers(encoder, "enc" if decoder else "L"))]
    if decoder:
        stacks.append(
            Stack("decoder", rec["seq_len_decoder"], _layers(decoder, "dec"), autoregressive=True)
        )
    period = rec.get("frame_rate_ms")
    return Network(
        name=rec["name"],
        stacks=tuple(stacks),
        batch=1,
        frame_period_s=None if period is None else period * rec.get("frame_subsampling", 1) / 1e3,
        description=f"{rec['task']} ({rec['dataset']})",
        provenance=rec["source_notes"],
    )


def _layers(specs: list[dict[str, Any]], prefix: str) -> tuple[LSTMLayer, ...]:
    return tuple(_lstm(spec, f"{prefix}{k + 1}") for k, spec in enumerate(specs))
