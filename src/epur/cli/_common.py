"""What several subcommands share: loading networks and architectures, writing JSON."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from epur._files import write_text
from epur.arch import ArchConfig, load_arch
from epur.errors import ConfigError
from epur.workload import ZOO_NAMES, Network, load_network, zoo_network

__all__ = ["adjust", "arch", "load_spec", "note", "write_json"]


def load_spec(spec: str, flag: str = "--network") -> Network:
    """A zoo network by name, or a network file."""
    if spec.lower() in ZOO_NAMES:
        return zoo_network(spec)
    if Path(spec).suffix.lower() in {".yaml", ".yml", ".toml"}:
        return load_network(spec)
    raise ConfigError(
        f"{flag} must be one of {', '.join(ZOO_NAMES)} or a .yaml/.toml file, not {spec!r}"
    )


def adjust(network: Network, args: argparse.Namespace) -> Network:
    """Apply ``--known-inputs``, ``--seq-len`` and ``--batch``.

    ``--known-inputs`` on a network without an autoregressive stack changes nothing,
    and says so.
    """
    if args.known_inputs:
        if network.is_autoregressive:
            network = network.with_known_inputs()
        else:
            note(f"--known-inputs changes nothing: {network.name} has no autoregressive stack")
    if args.seq_len is not None:
        network = network.with_seq_len(args.seq_len)
    if args.batch is not None:
        network = replace(network, batch=args.batch)
    return network


def arch(args: argparse.Namespace) -> ArchConfig:
    """The paper preset with ``--arch`` and ``--set`` applied."""
    return load_arch(args.arch, args.assignments)


def note(text: str) -> None:
    """A remark the user should see that is not an error (on stderr: stdout holds results)."""
    print(f"note: {text}", file=sys.stderr)


def write_json(path: str, data: Any, flag: str = "--json") -> None:
    """Write ``data`` as JSON to ``path``, the file of option ``flag``: all or nothing, and
    a path that cannot be written is one line naming ``flag``."""
    write_text(path, json.dumps(data, indent=2) + "\n", flag)
