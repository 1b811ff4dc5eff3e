"""Energy and area of arithmetic, per operation and number format, scaled to the node.

Sources (full references in ``docs/sources.md``):

* Energies at 45 nm, 0.9 V: M. Horowitz, "Computing's Energy Problem (and what we
  can do about it)", ISSCC 2014, keynote, table of operation energies (as quoted by
  PMC8934428 table 3 and by Dally 2019): int8 add 0.03 pJ, int16 add 0.05, int32 add
  0.1, int8 multiply 0.2, int32 multiply 3.1, fp16 add 0.4, fp16 multiply 1.1, fp32
  add 0.9, fp32 multiply 3.7.
* Areas at 45 nm (um^2): the table of the same figures popularised by S. Han and
  W. Dally's talks [recalled, not checked against the original]: int8 add 36, int16
  add 67, int32 add 137, int8 multiply 282, int32 multiply 3495, fp16 add 1360, fp32
  add 4184, fp16 multiply 1640, fp32 multiply 7700.
* Scaling from 45 nm: A. Stillmaker and B. Baas, "Scaling equations for the accurate
  prediction of CMOS device performance from 180 nm to 7 nm", Integration 58:74-81,
  2017 (HP polynomials; 28 and 22 nm log-interpolated between their 32 and 20 nm
  nodes): energy x0.531 (32 nm), x0.42 (28), x0.28 (22); area x0.45,
  x0.37, x0.25.

These figures are the defaults of ``ArchConfig.logic`` (``epur.arch``), where each has
its provenance and can be overridden (``--set logic.mul_fp16_pj=0.9``). Assumed (no
published figure): an int16 multiply costs 1.0 pJ and 993 um^2 at 45 nm (between int8
and int32; "about 1 pJ is often assumed"); bf16 costs what fp16 does; a
sigmoid or tanh costs one multiply and one add of its format (one PWL segment), a
ReLU one add.
"""

from __future__ import annotations

from epur.arch import LogicConfig
from epur.errors import ConfigError
from epur.numerics import FormatKind, NumberFormat

__all__ = ["AREA_SCALE", "ENERGY_SCALE", "op_area_m2", "op_class", "op_energy_j"]

ENERGY_SCALE = {45: 1.0, 32: 0.531, 28: 0.42, 22: 0.28}  # Stillmaker & Baas 2017
AREA_SCALE = {45: 1.0, 32: 0.45, 28: 0.37, 22: 0.25}  # Stillmaker & Baas 2017


def op_class(fmt: NumberFormat) -> str:
    """The tabulated arithmetic a format's operations cost: int8/16/32, fp16 or fp32."""
    if fmt.kind == FormatKind.FLOAT:
        return "fp32" if fmt.bits > 16 else "fp16"
    for width in (8, 16, 32):
        if fmt.bits <= width:
            return f"int{width}"
    raise ConfigError(f"no energy figures for {fmt.name} ({fmt.bits} bits; at most 32)")


def _scale(table: dict[int, float], node_nm: int) -> float:
    if node_nm not in table:
        raise ConfigError(f"technology.node_nm must be one of {sorted(table)}, not {node_nm}")
    return table[node_nm]


def op_energy_j(op: str, fmt: NumberFormat, logic: LogicConfig, node_nm: int) -> float:
    """Energy of one ``op`` ("add" or "mul") in ``fmt`` at ``node_nm``, in joules."""
    pj: float = getattr(logic, f"{op}_{op_class(fmt)}_pj")
    return pj * 1e-12 * _scale(ENERGY_SCALE, node_nm)


def op_area_m2(op: str, fmt: NumberFormat, logic: LogicConfig, node_nm: int) -> float:
    """Area of one ``op`` unit in ``fmt`` at ``node_nm``, in square metres."""
    um2: float = getattr(logic, f"{op}_{op_class(fmt)}_um2")
    return um2 * 1e-12 * _scale(AREA_SCALE, node_nm)
