"""server.cache.BoundedLru: both bounds, LRU order and byte accounting."""

from __future__ import annotations

from collections import OrderedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.cache import BoundedLru


def filled(max_entries: int, max_bytes: int, *items: tuple[str, int]) -> BoundedLru[str, str]:
    """A cache after putting each (key, size) in order; a key's value is its upper case."""
    cache: BoundedLru[str, str] = BoundedLru(max_entries, max_bytes)
    for key, size in items:
        cache.put(key, key.upper(), size)
    return cache


def keys(cache: BoundedLru[str, str]) -> str:
    """The keys present, least recently used first; peeks inside because get() would reorder."""
    return "".join(cache._items)


def test_bounded_by_entries() -> None:
    cache = filled(2, 1000, ("a", 1), ("b", 1), ("c", 1))
    assert (len(cache), keys(cache), cache.evictions, cache.total_bytes) == (2, "bc", 1, 2)
    assert cache.get("a") is None


def test_bounded_by_bytes() -> None:
    cache = filled(10, 10, ("a", 4), ("b", 4), ("c", 4))
    assert (keys(cache), cache.evictions, cache.total_bytes) == ("bc", 1, 8)


def test_one_big_put_evicts_several() -> None:
    cache = filled(10, 10, ("a", 3), ("b", 3), ("c", 3), ("d", 9))
    assert (keys(cache), cache.evictions, cache.total_bytes) == ("d", 3, 9)


def test_exact_fit_is_accepted() -> None:
    cache = filled(10, 10, ("a", 10))
    assert (keys(cache), cache.total_bytes) == ("a", 10)


def test_get_refreshes() -> None:
    cache = filled(2, 1000, ("a", 1), ("b", 1))
    assert cache.get("a") == "A"
    cache.put("c", "C", 1)
    assert keys(cache) == "ac"  # b was the least recently used


def test_put_refreshes_and_replaces() -> None:
    cache = filled(2, 1000, ("a", 1), ("b", 1))
    assert cache.put("a", "new", 5)
    cache.put("c", "C", 1)
    assert (keys(cache), cache.get("a"), cache.total_bytes, cache.evictions) == ("ac", "new", 6, 1)


def test_replacing_is_not_an_eviction() -> None:
    cache = filled(1, 10, ("a", 4), ("a", 6))
    assert (len(cache), cache.total_bytes, cache.evictions) == (1, 6, 0)


def test_oversize_is_refused() -> None:
    cache = filled(10, 10, ("a", 4))
    assert cache.put("big", "BIG", 11) is False
    assert (keys(cache), cache.total_bytes, cache.evictions) == ("a", 4, 0)
    assert cache.get("big") is None


def test_oversize_replacement_drops_the_old_value() -> None:
    """A value that can no longer be cached must not leave its stale predecessor behind."""
    cache = filled(10, 10, ("a", 4))
    assert cache.put("a", "huge", 11) is False
    assert (cache.get("a"), cache.total_bytes, len(cache)) == (None, 0, 0)


def test_pop_accounts_bytes() -> None:
    cache = filled(10, 100, ("a", 4), ("b", 6))
    assert cache.pop("a") == "A"
    assert (cache.pop("a"), cache.pop("zz")) == (None, None)
    assert (keys(cache), cache.total_bytes, cache.evictions) == ("b", 6, 0)
    assert cache.pop("b") == "B"
    assert (len(cache), cache.total_bytes) == (0, 0)


def test_zero_byte_budget_holds_free_entries() -> None:
    cache = filled(2, 0, ("a", 0), ("b", 1), ("c", 0))
    assert (keys(cache), cache.total_bytes) == ("ac", 0)


@pytest.mark.parametrize(("max_entries", "max_bytes"), [(0, 10), (-1, 10), (1, -1)])
def test_invalid_bounds(max_entries: int, max_bytes: int) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        BoundedLru(max_entries, max_bytes)


# A reference model: the same operations on a plain OrderedDict, checked after each step.
OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["put", "get", "pop"]), st.sampled_from("abcde"), st.integers(0, 12)),
    max_size=60,
)


@given(OPERATIONS)
def test_matches_a_reference_model(operations: list[tuple[str, str, int]]) -> None:
    cache: BoundedLru[str, str] = BoundedLru(3, 20)
    model: OrderedDict[str, int] = OrderedDict()
    evictions = 0
    for operation, key, size in operations:
        if operation == "get":
            assert (cache.get(key) is not None) == (key in model)
            if key in model:
                model.move_to_end(key)
        elif operation == "pop":
            assert (cache.pop(key) is not None) == (key in model)
            model.pop(key, None)
        else:
            cache.put(key, key, size)
            model.pop(key, None)
            model[key] = size
            while len(model) > 3 or sum(model.values()) > 20:
                model.popitem(last=False)
                evictions += 1
        assert list(cache._items) == list(model)
        assert cache.total_bytes == sum(model.values()) <= 20
        assert cache.evictions == evictions
