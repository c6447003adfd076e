"""One string-keyed registry class for every table of named components (methods, convs, splitters, metrics, ...).

A registry is a read-only mapping from a name to a class or object, filled at import time by ``register``
(as a decorator or a call) or from a dict. Looking up an unknown name raises ``UnknownNameError``, which is
both a ``KeyError`` (so ``get``, ``in`` and other mapping code behave as for a dict) and a ``ValueError``
whose message names what was asked for and lists the valid names, so callers need no try/except of their own.

A table whose entries live in modules with heavy imports registers them by dotted path instead
(``register_lazy("simclr", "molssl.methods.simclr:SimCLR")``): the name is listed at once, and the
module is imported on the first lookup of that name only, so listing or choosing among the names
imports none of them.

Example:
    >>> READOUTS = Registry("readout")
    >>> @READOUTS.register("mean")
    ... class MeanReadout: ...
    >>> READOUTS["sum"]
    Traceback (most recent call last):
    ...
    molssl.registry.UnknownNameError: unknown readout 'sum'; valid readouts: mean
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, TypeVar, overload

T = TypeVar("T")
V = TypeVar("V")


class UnknownNameError(KeyError, ValueError):
    """A name a registry does not hold; the message lists the valid names.

    A ``KeyError`` for mapping code and a ``ValueError`` for callers that treat a bad name as bad input.
    """

    def __str__(self) -> str:  # KeyError would quote the message like a key
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class _Deferred:
    """An entry not imported yet: ``module:attribute``."""

    target: str

    def load(self) -> object:
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)


class Registry(Mapping[str, T]):
    """Names -> components, in registration order, with a lookup error that lists the valid names.

    Args:
        kind: what one entry is, in words, for error messages (``"pretraining method"``).
        entries: initial entries, registered in their order.
        plural: the plural of ``kind`` when it is not ``kind + "s"``.
    """

    def __init__(self, kind: str, entries: Mapping[str, T] | None = None, *, plural: str | None = None) -> None:
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"kind must be a non-empty string naming what an entry is, got {kind!r}")
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self._entries: dict[str, T | _Deferred] = {}
        for name, value in (entries or {}).items():
            self.register(name, value)

    @overload
    def register(self, name: str) -> Callable[[V], V]: ...

    @overload
    def register(self, name: str, value: T) -> T: ...

    def register(self, name: str, value: object = ..., /) -> object:
        """Add ``value`` under ``name``; without ``value``, a decorator that registers what it decorates.

        Raises:
            ValueError: ``name`` is not a non-empty string, or already names a different entry.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if value is ...:
            return lambda decorated: self.register(name, decorated)
        held = self._entries.get(name, value)
        if isinstance(held, _Deferred):
            held = held.load()
        if held is not value:
            raise ValueError(f"{self.kind} {name!r} is already registered as {held!r}; choose another name")
        self._entries[name] = value  # type: ignore[assignment]
        return value

    def register_lazy(self, name: str, target: str) -> None:
        """List ``name`` now; import ``target`` (``"package.module:attribute"``) on its first lookup.

        Raises:
            ValueError: ``name`` is not a non-empty string or is already registered, or ``target`` has no
                ``module:attribute`` form.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        module, colon, attribute = target.partition(":") if isinstance(target, str) else ("", "", "")
        if not (module and colon and attribute):
            raise ValueError(f"{self.kind} {name!r}: target must read 'package.module:attribute', got {target!r}")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered; choose another name")
        self._entries[name] = _Deferred(target)

    def is_loaded(self, name: str) -> bool:
        """Whether ``name``'s entry has been imported (always true for entries registered by value)."""
        return name in self._entries and not isinstance(self._entries[name], _Deferred)

    @contextmanager
    def override(self, name: str, value: T) -> Iterator[T]:
        """Hold ``value`` under ``name`` inside a ``with`` block only, then restore the table as it was.

        For a test's stand-in entry (a toy method, a zoo entry served from a local file); nested overrides
        of one name unwind in order. Entries registered at import time are otherwise never replaced.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        missing = object()
        held = self._entries.get(name, missing)
        self._entries[name] = value
        try:
            yield value
        finally:
            if held is missing:
                self._entries.pop(name, None)
            else:
                self._entries[name] = held  # type: ignore[assignment]

    def unknown(self, name: object) -> UnknownNameError:
        """The error for a lookup of ``name``, listing the valid names (sorted, so messages are stable)."""
        return UnknownNameError(f"unknown {self.kind} {name!r}; valid {self.plural}: {', '.join(sorted(self._entries))}")

    def __getitem__(self, name: str) -> T:
        if isinstance(name, str) and name in self._entries:
            entry = self._entries[name]
            if isinstance(entry, _Deferred):
                entry = self._entries[name] = entry.load()  # type: ignore[assignment]
            return entry  # type: ignore[return-value]
        raise self.unknown(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {', '.join(self._entries)})"


__all__ = ["Registry", "UnknownNameError"]
