"""The CACTI 7 adapter: the only module that touches CACTI (external tools sit behind one).

CACTI is the binary that the PyPI package ``zigzag-dse`` (3.9.1) ships under
``zigzag/cacti/cacti_master/`` with its technology files; zigzag itself is never
imported. For an SRAM, ``run_cacti`` writes a configuration (the shipped template
``cache.cfg_temp`` with E-PUR's settings: a scratchpad ``ram`` with one read/write
port, no ECC, line = port width), runs the binary in a temporary folder that links
``tech_params/`` (without it CACTI crashes), parses its report into a typed result
and caches it (below).
CACTI exits 0 on configurations it rejects, so its text is what decides (these
behaviours were measured with the binary: docs/sources.md, **CACTI 7**).

Leakage: CACTI prints it per bank plus the H-tree share (its "of a bank" figure is one
bank's ``power`` plus the routing to the banks: ``uca.cc``, ``UCA::compute_power_energy``);
the total is ``banks * (bank - htree) + htree`` [measured], for the subthreshold and the
gate leakage alike, each with its own H-tree line. Area is the whole array.

The cache (``epur.energy.cache``, in ``$XDG_CACHE_HOME/epur/cacti`` or
``~/.cache/epur/cacti``) is keyed by the exact configuration text and the identity of
the CACTI that ran it: the SHA-256 of the binary and of every technology file, so a
reinstalled or different CACTI never reuses another's figures. Every entry is checked
on read: the SramResult fields exactly, finite real numbers, energies, area and times
positive, leakages zero or positive (``_RANGES``); anything else is recomputed.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from epur.energy.cache import EntrySchema, Range, read_entry, user_cache_dir, write_entry
from epur.errors import BackendError

__all__ = [
    "CACHE_SCHEMA",
    "CactiInstall",
    "CactiRejectedError",
    "SramResult",
    "SramSpec",
    "SramSpecError",
    "cacti_config",
    "cacti_identity",
    "find_cacti",
    "run_cacti",
]

CELL_TYPES = ("itrs-hp", "itrs-lstp", "itrs-lop")


@dataclass(frozen=True, slots=True)
class SramSpec:
    """An SRAM as CACTI sees it (SI units but for the node, which CACTI takes in nm)."""

    capacity_bytes: int
    port_bits: int
    banks: int = 1
    node_nm: int = 28
    cell_type: str = "itrs-lstp"
    periphery_type: str = "itrs-lstp"
    temperature_k: int = 360

    def __post_init__(self) -> None:
        if self.capacity_bytes < 64:
            raise SramSpecError(
                "capacity_bytes", f"must be at least 64 for CACTI, not {self.capacity_bytes}"
            )
        if self.port_bits < 8 or self.port_bits % 8:
            raise SramSpecError(
                "port_bits", f"must be a positive multiple of 8, not {self.port_bits}"
            )
        if self.banks < 1 or self.banks & (self.banks - 1):
            raise SramSpecError("banks", f"must be a power of two for CACTI, not {self.banks}")
        if not 22 <= self.node_nm <= 90:
            raise SramSpecError("node_nm", f"must be within CACTI's 22-90 nm, not {self.node_nm}")
        for name in ("cell_type", "periphery_type"):
            if getattr(self, name) not in CELL_TYPES:
                raise SramSpecError(name, f"must be one of {', '.join(CELL_TYPES)}, "
                                          f"not {getattr(self, name)!r}")  # fmt: skip


class CactiRejectedError(BackendError):
    """CACTI ran but gave no result for this configuration (e.g. banks too small to
    organise): the memory cannot be built that way, unlike a CACTI that cannot run."""


class SramSpecError(BackendError):
    """An SRAM that CACTI cannot model: which ``SramSpec`` field, and what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class SramResult:
    """What CACTI reports for one SRAM, in SI units."""

    read_energy_j: float  # per access of the full port width
    write_energy_j: float
    leakage_w: float  # all banks, subthreshold
    gate_leakage_w: float
    area_mm2: float
    access_time_s: float
    cycle_time_s: float


@dataclass(frozen=True, slots=True)
class CactiInstall:
    binary: Path
    tech_params: Path
    template: Path


def find_cacti(folder: Path | None = None) -> CactiInstall:
    """The CACTI binary of the installed ``zigzag-dse`` (or in ``folder``)."""
    if folder is None:
        spec = find_spec("zigzag")
        if spec is None or not spec.submodule_search_locations:
            raise BackendError(
                "CACTI is not installed: it ships with zigzag-dse==3.9.1, a dependency of epur "
                "(pip install -e . or pip install zigzag-dse==3.9.1 puts it back); or use "
                "--energy-backend table (recorded CACTI results) or none (timing only)"
            )
        folder = Path(next(iter(spec.submodule_search_locations))) / "cacti" / "cacti_master"
    install = CactiInstall(folder / "cacti", folder / "tech_params", folder / "cache.cfg_temp")
    for path in (install.binary, install.tech_params, install.template):
        if not path.exists():
            raise BackendError(f"CACTI installation in {folder} is incomplete: {path.name} missing")
    return install


def cacti_config(spec: SramSpec, install: CactiInstall) -> str:
    """The exact configuration text given to CACTI (template + E-PUR's settings)."""
    settings = {
        r"-size \(bytes\)": f"-size (bytes) {spec.capacity_bytes}",
        r"-block size \(bytes\)": f"-block size (bytes) {spec.port_bits // 8}",
        r"-output/input bus width": f"-output/input bus width {spec.port_bits}",
        r"-read-write port": "-read-write port 1",
        r"-exclusive read port": "-exclusive read port 0",
        r"-exclusive write port": "-exclusive write port 0",
        r"-UCA bank count": f"-UCA bank count {spec.banks}",
        r"-technology \(u\)": f"-technology (u) {spec.node_nm / 1000:.3f}",
        r"-Data array cell type -": f'-Data array cell type - "{spec.cell_type}"',
        r"-Data array peripheral type -": f'-Data array peripheral type - "{spec.periphery_type}"',
        r"-Tag array cell type -": f'-Tag array cell type - "{spec.cell_type}"',
        r"-Tag array peripheral type -": f'-Tag array peripheral type - "{spec.periphery_type}"',
        r"-operating temperature \(K\)": f"-operating temperature (K) {spec.temperature_k}",
        r"-cache type": '-cache type "ram"',
        r"-Add ECC -": '-Add ECC - "false"',
    }
    text = install.template.read_text()
    for key, line in settings.items():
        text, count = re.subn(rf"^{key}.*$", line, text, flags=re.M)
        if count != 1:
            raise BackendError(f"CACTI template {install.template} has {count} lines for {key!r}")
    return text


_FIELDS = {
    "access_ns": r"^\s*Access time \(ns\):\s*(\S+)",
    "cycle_ns": r"^\s*Cycle time \(ns\):\s*(\S+)",
    "read_nj": r"^\s*Total dynamic read energy per access \(nJ\):\s*(\S+)",
    "write_nj": r"^\s*Total dynamic write energy per access \(nJ\):\s*(\S+)",
    "bank_leak_mw": r"^\s*Total leakage power of a bank \(mW\):\s*(\S+)",
    "bank_gate_mw": r"^\s*Total gate leakage power of a bank \(mW\):\s*(\S+)",
    "htree_leak_mw": r"^\s*Total leakage power in H-tree .*?\(\(mW\)\):\s*(\S+)",
    "htree_gate_mw": r"^\s*Total gate leakage power in H-tree .*?\(\(mW\)\):\s*(\S+)",
    "area_mm2": r"^\s*Data array: Area \(mm2\):\s*(\S+)",
}


def parse_cacti(text: str, banks: int) -> SramResult:
    """The typed result of a CACTI report; ``BackendError`` if CACTI rejected the input."""
    values: dict[str, float] = {}
    for name, pattern in _FIELDS.items():
        match = re.search(pattern, text, flags=re.M)
        if match is None:
            first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "no output")
            raise CactiRejectedError(f"CACTI rejected the configuration: {first}")
        values[name] = float(match.group(1))
    leak = _all_banks(banks, values["bank_leak_mw"], values["htree_leak_mw"])
    gate = _all_banks(banks, values["bank_gate_mw"], values["htree_gate_mw"])
    return SramResult(
        read_energy_j=values["read_nj"] * 1e-9,
        write_energy_j=values["write_nj"] * 1e-9,
        leakage_w=leak * 1e-3,
        gate_leakage_w=gate * 1e-3,
        area_mm2=values["area_mm2"],
        access_time_s=values["access_ns"] * 1e-9,
        cycle_time_s=values["cycle_ns"] * 1e-9,
    )


def _all_banks(banks: int, bank_mw: float, htree_mw: float) -> float:
    """The whole array's leakage from CACTI's "of a bank" figure, which holds the H-tree
    once: every bank without it, plus the H-tree once."""
    return banks * (bank_mw - htree_mw) + htree_mw


# What physics allows each cached figure (an entry outside these is recomputed): no
# access is free, no array has zero area, no access or cycle is instantaneous; leakage
# is a power drawn, zero at the least (CACTI rounds its figures).
_RANGES = {
    "read_energy_j": Range.POSITIVE,
    "write_energy_j": Range.POSITIVE,
    "leakage_w": Range.NON_NEGATIVE,
    "gate_leakage_w": Range.NON_NEGATIVE,
    "area_mm2": Range.POSITIVE,
    "access_time_s": Range.POSITIVE,
    "cycle_time_s": Range.POSITIVE,
}
CACHE_SCHEMA = EntrySchema(
    label="CACTI",
    kind="cacti-sram",
    version=2,  # 2: the gate leakage of several banks counts the H-tree once
    fields=tuple((f.name, _RANGES[f.name]) for f in fields(SramResult)),  # every field
)


def run_cacti(
    spec: SramSpec,
    install: CactiInstall | None = None,
    cache_dir: Path | None = None,
    timeout_s: float = 120.0,
) -> SramResult:
    """CACTI's figures for ``spec``, from the cache when this exact configuration ran
    with this CACTI and the entry is valid (else CACTI runs and the entry is replaced)."""
    install = install or find_cacti()
    config = cacti_config(spec, install)
    folder = cache_dir if cache_dir is not None else user_cache_dir("cacti")
    identity = cacti_identity(install)
    if folder is None or identity is None:  # no home folder, or a CACTI we cannot read
        return parse_cacti(_execute(install, config, timeout_s), spec.banks)
    lookup = read_entry(folder, CACHE_SCHEMA, {"config": config, "cacti": identity})
    if lookup.values is not None:
        return SramResult(**lookup.values)
    result = parse_cacti(_execute(install, config, timeout_s), spec.banks)
    write_entry(lookup, asdict(result))
    return result


def cacti_identity(install: CactiInstall) -> str | None:
    """SHA-256 of the binary and of every technology file (None if one cannot be read).

    Hashed once per process for each state (size, mtime) of the files (2.5 MB: ms)."""
    try:
        tech = sorted(p for p in install.tech_params.rglob("*") if p.is_file())
        named = [("cacti", install.binary)]
        named += [(f"tech_params/{p.relative_to(install.tech_params)}", p) for p in tech]
        states = []
        for name, path in named:
            info = path.stat()
            states.append((name, str(path), info.st_size, info.st_mtime_ns))
        return _hash_files(tuple(states))
    except OSError:
        return None


@lru_cache(maxsize=8)
def _hash_files(states: tuple[tuple[str, str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, path, _, _ in states:
        data = Path(path).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


_INSTEAD = (
    " (reinstall zigzag-dse==3.9.1, or use --energy-backend table for the recorded CACTI "
    "results or none for timing alone)"
)


def _execute(install: CactiInstall, config: str, timeout_s: float) -> str:
    with tempfile.TemporaryDirectory(prefix="epur-cacti-") as tmp:
        work = Path(tmp)
        (work / "tech_params").symlink_to(install.tech_params, target_is_directory=True)
        (work / "cache.cfg").write_text(config)
        try:
            proc = subprocess.run(
                [str(install.binary), "-infile", "cache.cfg"],
                cwd=work,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BackendError(f"CACTI did not finish within {timeout_s:g} s{_INSTEAD}") from None
        except OSError as exc:
            raise BackendError(
                f"cannot run CACTI {install.binary}: {exc.strerror}{_INSTEAD}"
            ) from None
    if proc.returncode != 0:  # it ran, so the configuration is what it could not handle
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [""]
        raise CactiRejectedError(f"CACTI failed (exit code {proc.returncode}): {tail[0]}")
    return proc.stdout
