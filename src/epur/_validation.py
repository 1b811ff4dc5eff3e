"""Turn pydantic validation errors into one-line ``ConfigError`` messages.

The message names the field (as a dotted path), the offending value and what is
allowed, e.g. ``layers[2].hidden: must be greater than 0, not -3``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from epur.errors import ConfigError

__all__ = ["config_error", "dotted", "load_json_model", "one_line", "shown"]

_M = TypeVar("_M", bound=BaseModel)


def dotted(loc: tuple[int | str, ...]) -> str:
    """``("layers", 2, "hidden")`` -> ``"layers[2].hidden"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


_MAX_VALUE_CHARS = 60


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) as one blank."""
    return " ".join(text.split())


def shown(value: Any) -> str:
    """``repr(value)`` on one line, cut to a readable length."""
    text = one_line(repr(value))
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 5] + "[...]" + text[-1]  # keep a closing quote
    return text


def _describe(error: Any) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.endswith("]")))
    kind, msg = error["type"], one_line(str(error["msg"]))
    # pydantic's tagged unions put the tag in the location: drop it for readability
    loc = tuple(p for p in loc if p not in {"lstm", "fc"})
    if kind == "extra_forbidden":
        return f"{dotted(loc)}: unknown field"
    if kind == "missing":
        return f"{dotted(loc)}: required field is missing"
    msg = msg.removeprefix("Value error, ")
    msg = msg[0].lower() + msg[1:] if msg else msg
    msg = msg.replace("input should be", "must be")
    value = error.get("input")
    if kind.startswith("union_tag") or isinstance(value, dict | list):
        return f"{dotted(loc)}: {msg}"
    if f"not {value!r}" in msg:
        return f"{dotted(loc)}: {msg}"
    return f"{dotted(loc)}: {msg}, not {shown(value)}"


def config_error(exc: ValidationError, source: str) -> ConfigError:
    """A one-line ``ConfigError`` for the first problem pydantic found (the rest are
    counted)."""
    errors = exc.errors()
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return ConfigError(one_line(f"{source}: {_describe(errors[0])}{more}"))


def schema_is_one(value: Any) -> Any:
    """A ``schema_version`` field's check: exactly the int 1 (``Literal[1]`` would take
    ``True`` and ``1.0``). For ``field_validator(..., mode="before")``."""
    if type(value) is not int:
        raise ValueError("must be 1 (the only schema version)")
    return value


def load_json_model(path: str | Path, model: type[_M], what: str, hint: str) -> _M:
    """``model`` read from the JSON file ``path``: a one-line ``ConfigError`` naming
    ``what`` (e.g. "baseline file"), the file and the field for a file that cannot be
    read or is not a valid ``model``, followed by ``hint`` (what a valid file is)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{what} {p}: cannot read it ({exc.strerror})") from None
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise ConfigError(f"{config_error(exc, f'{what} {p}')} ({hint})") from None
