"""Typed payloads and results: a handler's annotations say what its job carries.

``async def send_email(payload: Email, ctx) -> Receipt`` declares a payload type and a result
type. Any type pydantic can validate works: a pydantic model, a dataclass, a TypedDict, a
plain ``list[int]``. A :class:`Codec` checks a value against the type and turns it into JSON
for the database (``dump``), and turns stored JSON back into the typed value (``load``).

Unannotated handlers, and annotations of ``Any``/``object``, are untyped: values pass through
as they are. Plain JSON annotations (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``,
``None``, and ``dict[str, X]``, ``list[X]``, ``X | None`` of those) are checked by a few
``isinstance`` calls, strictly (no coercion), with no pydantic. Other types need pydantic
(``pip install -e '.[typed]' in a pgjobs checkout``).
"""

from __future__ import annotations

import dataclasses
import inspect
import types
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
    #: :meth:`load` as one call, or None when there is nothing to check (untyped): what a
    #: worker calls for each job's payload.
    loader: Callable[[Any], Any] | None = dataclasses.field(
        init=False, repr=False, compare=False, default=None
    )

    def __post_init__(self) -> None:
        adapter = self._adapter
        loader = None if adapter is None else adapter.validate_python
        object.__setattr__(self, "loader", loader)

    @classmethod
    def for_type(cls, tp: Any) -> Codec:
        if tp is None or tp is Any or tp is object or tp is inspect.Parameter.empty:
            return cls()
        if _plain(tp):
            return cls(tp, _PlainAdapter(tp))
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

    def json_schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the declared type as pydantic writes it (``$defs``, ``$ref``,
        ``anyOf``...), which the database checks every payload against (payload schemas);
        None for an untyped codec or a plain JSON annotation checked without pydantic."""
        if isinstance(self._adapter, _PlainAdapter) or self._adapter is None:
            return None
        schema: dict[str, Any] = self._adapter.json_schema()
        return schema

    def dump(self, value: Any) -> Any:
        """A value (typed object or plain JSON) -> checked JSON for the database."""
        if self._adapter is None:
            return value
        return self._adapter.dump_python(self._adapter.validate_python(value), mode="json")


_SCALARS: dict[Any, tuple[type, ...]] = {
    str: (str,), int: (int,), float: (int, float), bool: (bool,), type(None): (type(None),),
    dict: (dict,), list: (list,),
}  # fmt: skip


def _plain(tp: Any) -> bool:
    """A JSON shape checked without pydantic (see the module's docstring)."""
    if tp is Any or tp is object or tp is None or tp in _SCALARS:
        return True
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return len(args) == 1 and _plain(args[0])
    if origin is dict:
        return len(args) == 2 and args[0] is str and _plain(args[1])
    if origin is typing.Union or origin is types.UnionType:
        return all(_plain(a) for a in args)
    return False


Checker = Callable[[Any, str], None]


def _checker(tp: Any) -> Checker:
    """The strict check of a plain JSON shape (see the module's docstring), compiled once per
    type: a handler's payload is checked per job, so the annotation is not read again on
    every value. The checker raises ValueError saying where the value differs."""
    if tp is Any or tp is object:
        return lambda value, where: None
    kinds = _SCALARS.get(type(None) if tp is None else tp)
    if kinds is not None:
        return _scalar_checker(tp, kinds)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return _list_checker(_checker(args[0]))
    if origin is dict:
        return _dict_checker(_checker(args[1]), args[1] is int)
    return _union_checker([_checker(arg) for arg in args])


def _scalar_checker(tp: Any, kinds: tuple[type, ...]) -> Checker:
    numeric = tp in (int, float)
    exact = tp if tp in (int, str, float, bool, dict, list) else None

    def scalar(value: Any, where: str) -> None:
        if exact is not None and type(value) is exact:
            return  # the common case: exactly the type (a bool is not an int here)
        if not isinstance(value, kinds) or (numeric and isinstance(value, bool)):
            raise ValueError(f"{where}: expected {getattr(tp, '__name__', tp)}, got {value!r:.80}")

    return scalar


def _list_checker(item: Checker) -> Checker:
    def a_list(value: Any, where: str) -> None:
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list, got {value!r:.80}")
        for i, element in enumerate(value):
            item(element, f"{where}[{i}]")

    return a_list


def _dict_checker(item: Checker, of_int: bool) -> Checker:
    def a_dict(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object, got {value!r:.80}")
        for key, element in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string")
            if of_int and type(element) is int:
                continue  # the common case, checked here (a bool is not an int here)
            item(element, f"{where}[{key!r}]")

    return a_dict


def _union_checker(options: list[Checker]) -> Checker:
    def one_of(value: Any, where: str) -> None:
        errors = []
        for option in options:
            try:
                option(value, where)
                return
            except ValueError as error:
                errors.append(str(error))
        raise ValueError("; ".join(errors))

    return one_of


class _PlainAdapter:
    """pydantic's TypeAdapter calls Codec uses, for a plain JSON annotation."""

    def __init__(self, tp: Any) -> None:
        self.tp = tp
        self._check = check = _checker(tp)

        def validate_python(value: Any) -> Any:  # one call less per value than a method
            check(value, "value")
            return value

        self.validate_python = validate_python

    def dump_python(self, value: Any, mode: str = "json") -> Any:
        return value


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
