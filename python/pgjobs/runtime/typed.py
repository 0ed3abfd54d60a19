"""Typed payloads and results: a handler's annotations say what its job carries.

``async def send_email(payload: Email, ctx) -> Receipt`` declares a payload type and a result
type. Any type pydantic can validate works: a pydantic model, a dataclass, a TypedDict, a
plain ``list[int]``. A :class:`Codec` checks a value against the type and turns it into JSON
for the database (``dump``), and turns stored JSON back into the typed value (``load``).

Unannotated handlers, and annotations of ``Any``/``object``, are untyped: values pass through
as they are. Typed handlers need pydantic (``pip install -e '.[typed]' in a pgjobs checkout``).
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["Codec", "InvalidPayload", "InvalidResult", "handler_codecs"]


class InvalidPayload(ValueError):
    """A payload does not match its task's payload type (never retried: it cannot heal)."""


class InvalidResult(ValueError):
    """A handler returned a value that does not match its task's result type."""


@dataclasses.dataclass(frozen=True)
class Codec:
    """Validation and JSON conversion for one declared type (``None``: untyped)."""

    type: Any = None
    _adapter: Any = None

    @classmethod
    def for_type(cls, tp: Any) -> Codec:
        if tp is None or tp is Any or tp is object or tp is inspect.Parameter.empty:
            return cls()
        try:
            from pydantic import TypeAdapter
        except ImportError:  # pragma: no cover - pydantic is in the dev extras
            raise TypeError(
                f"handler annotation {tp!r} asks for validation, which needs pydantic: "
                "pip install -e '.[typed]' in a pgjobs checkout (or drop the annotation)"
            ) from None
        return cls(tp, TypeAdapter(tp))

    @property
    def typed(self) -> bool:
        return self._adapter is not None

    def load(self, value: Any) -> Any:
        """Stored JSON -> the declared type (raises ValueError from pydantic when invalid)."""
        return value if self._adapter is None else self._adapter.validate_python(value)

    def dump(self, value: Any) -> Any:
        """A value (typed object or plain JSON) -> checked JSON for the database."""
        if self._adapter is None:
            return value
        return self._adapter.dump_python(self._adapter.validate_python(value), mode="json")


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception as error:  # unresolvable forward references
        raise TypeError(f"cannot resolve the annotations of {fn!r}: {error}") from error


def handler_codecs(
    fn: Callable[..., Any], payload_type: Any = None, result_type: Any = None
) -> tuple[Codec, Codec]:
    """The payload and result codecs of a handler: explicit types win over annotations."""
    hints = _hints(fn)
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if payload_type is None and params:
        payload_type = hints.get(params[0].name)
    if result_type is None:
        result_type = hints.get("return")
        if result_type is type(None):
            result_type = None
        origin = typing.get_origin(result_type)
        if origin is not None and getattr(origin, "__name__", "") in {"Awaitable", "Coroutine"}:
            result_type = typing.get_args(result_type)[-1]
    return Codec.for_type(payload_type), Codec.for_type(result_type)
