"""Plain JSON annotations (dict[str, int], list[str], X | None ...) are checked without
pydantic, strictly, at a few isinstance calls per value: a worker whose handlers are
annotated that way needs no optional dependency."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from pgjobs.runtime.typed import Codec, handler_codecs


def test_plain_annotations_need_no_pydantic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pydantic", None)  # `import pydantic` now fails

    async def handler(payload: dict[str, int]) -> list[str | None]:
        return []

    payload, result = handler_codecs(handler)
    assert payload.typed and result.typed
    assert payload.load({"i": 1}) == {"i": 1}
    assert result.dump(["a", None]) == ["a", None]
    with pytest.raises(TypeError, match="pydantic"):
        Codec.for_type(tuple[int, int])  # not a plain JSON shape: pydantic's job


@pytest.mark.parametrize(
    ("tp", "good", "bad"),
    [
        (dict[str, int], {"a": 1}, {"a": "1"}),
        (dict[str, int], {}, {"a": True}),
        (list[float], [1, 2.5], [1, "2"]),
        (str | None, None, 3),
        (dict[str, list[int]], {"a": [1]}, {"a": [None]}),
        (dict, {"x": object()}, []),
        (int, 3, 3.0),
    ],
)
def test_plain_checks_are_strict(tp: Any, good: Any, bad: Any) -> None:
    codec = Codec.for_type(tp)
    assert codec.load(good) is good
    with pytest.raises(ValueError, match=r"expected|key|value"):
        codec.load(bad)
    # The worker's one call per payload (Codec.loader) is load itself.
    assert codec.loader is not None and codec.loader(good) is good
    with pytest.raises(ValueError, match=r"expected|key|value"):
        codec.loader(bad)


def test_an_untyped_codec_has_no_loader_and_loads_as_is() -> None:
    """No annotation: nothing to check, so the worker calls nothing per payload."""
    value = {"anything": [1, "x"]}
    for codec in (Codec(), Codec.for_type(Any), Codec.for_type(None)):
        assert codec.loader is None and codec.load(value) is value


@pytest.mark.parametrize(
    ("tp", "bad", "message"),
    [
        (dict[str, int], {"i": True}, "value['i']: expected int, got True"),
        (dict[str, int], {1: 2}, "value: key 1 is not a string"),
        (dict[str, int], [1], "value: expected an object, got [1]"),
        (list[int], [1, "a"], "value[1]: expected int, got 'a'"),
        (dict[str, list[int | None]], {"k": [1, "x"]},
         "value['k'][1]: expected int, got 'x'; value['k'][1]: expected NoneType, got 'x'"),
        (float, True, "value: expected float, got True"),
    ],
)  # fmt: skip
def test_plain_checks_say_where_the_value_differs(tp: Any, bad: Any, message: str) -> None:
    """The checker is compiled once per type (a worker checks every payload): its messages
    still name the place in the value that does not match."""
    with pytest.raises(ValueError) as raised:
        Codec.for_type(tp).load(bad)
    assert str(raised.value) == message


def test_plain_checks_take_subclasses_as_isinstance_does() -> None:
    class Count(int):
        pass

    assert Codec.for_type(dict[str, int]).load({"n": Count(2)}) == {"n": 2}
    assert Codec.for_type(float).load(3) == 3  # an int is a float here, a bool is not
