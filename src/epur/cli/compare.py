"""``epur compare scalesim``: the network's GEMMs on SCALE-Sim beside E-PUR (epur[peers]).

Loads the network and the architecture, checks the outputs and that SCALE-Sim is
installed before the work, runs ``epur.peers.compare_scalesim`` in a temporary folder
(or keeps SCALE-Sim's inputs, reports and log in ``--out``), prints the comparison and
writes its JSON.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from epur._files import check_output_file, check_output_folder, write_folder
from epur.cli._common import adjust, arch, load_spec, write_json
from epur.energy.backend import sram_backend
from epur.peers import Array, SystolicDataflow, compare_scalesim
from epur.peers.report import comparison_json, comparison_text
from epur.peers.scalesim import CONFIG, LAYOUT, REPORTS, RUN_NAME, TOPOLOGY, installed_version

__all__ = ["main"]

LOG = "scalesim.log"
OWNED = (CONFIG, TOPOLOGY, LAYOUT, LOG, *REPORTS)


def main(args: argparse.Namespace) -> None:
    if args.json:
        check_output_file(args.json, "--json")  # before the work
    if args.out:
        check_output_folder(args.out, "--out", OWNED, CONFIG)
    array = Array.parse(args.array) if args.array else None
    if args.network:
        given = load_spec(args.network)
    else:
        from epur.cli.simulate import _imported

        given = _imported(args)
    network = adjust(given, args)
    design = arch(args)
    installed_version()  # the install command, before the work
    with tempfile.TemporaryDirectory(prefix="epur-scalesim-") as tmp:
        result = compare_scalesim(
            network, design, Path(tmp), array, SystolicDataflow(args.scalesim_dataflow),
            args.sample_cycles, sram_backend(args.energy_backend),
        )  # fmt: skip
        if args.out:
            work, reports = Path(tmp), Path(tmp) / "out" / RUN_NAME
            files = {n: (work / n).read_bytes() for n in (CONFIG, TOPOLOGY, LAYOUT, LOG)}
            files |= {n: (reports / n).read_bytes() for n in REPORTS}
            write_folder(args.out, files, "--out", OWNED, CONFIG)
    print(comparison_text(result))
    if args.json:
        write_json(args.json, comparison_json(result))
