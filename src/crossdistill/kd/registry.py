"""Name -> implementation registries, so a YAML config can name a distance, schedule, decision or combination."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """A small named registry: ``@REG.register("name")`` to add, ``REG.get("name")`` to look up.

    Unknown names raise ``ValueError`` listing what is known, so a typo in a config is caught at start-up.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries))
            raise ValueError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


DISTANCES: Registry[Callable] = Registry("distance")
SCHEDULES: Registry[Callable] = Registry("schedule")
DECISIONS: Registry[Callable] = Registry("weight decision")
COMBINATIONS: Registry[Callable] = Registry("loss combination")
