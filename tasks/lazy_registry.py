"""One typed registry for every registry of liftbench: tasks, perturbations, evaluation sets,
serializers, pretext generators and methods.

An entry is registered eagerly (`register(name, obj)`, or `@registry.register_class` on a class with a
`name`) or lazily as `"module:attr"` (`register_lazy`), which is imported only when that entry is first
looked up. A registry may also name `sources`: modules that register entries when imported, imported
on the first lookup; `entry_point_group` adds the modules that installed packages declare under that
entry-point group (how liftbench's method families, and a user's own package, make their methods
known without the harness naming a concrete method module).

In the spirit of lm-evaluation-harness's `lm_eval/api/registry.py`: one lookup path, one duplicate
check and one did-you-mean message for every kind of named thing.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from tasks.errors import LiftbenchError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (`what`: "task", "method", ...), looked up with a clear error."""

    def __init__(
        self,
        what: str,
        *,
        sources: Sequence[str] = (),
        entry_point_group: str | None = None,
        hint: str = "",
        check: Callable[[str, T], None] | None = None,
    ) -> None:
        self.what = what
        self._sources = tuple(sources)
        self._group = entry_point_group
        self._hint = hint  # appended to the unknown-name error, e.g. "`liftbench tasks list` shows them all"
        self._check = check  # called on every entry as it is resolved: a malformed entry is a bug
        self._entries: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._sources_loaded = False
        self._loading: str | None = None  # the source module being imported now
        self._origins: dict[str, str | None] = {}  # name -> the source module that registered it

    # --- registering ---------------------------------------------------------------------------------

    def register(self, name: str, obj: T) -> T:
        self._claim(name)
        self._lazy.pop(name, None)
        if self._check is not None:
            self._check(name, obj)
        self._entries[name] = obj
        return obj

    def register_class(self, cls: T) -> T:
        """Class decorator: register `cls` under its `name` attribute."""
        return self.register(cls.name, cls)  # type: ignore[attr-defined]

    def register_lazy(self, name: str, target: str) -> None:
        """Register `"module:attr"`, imported when `name` is first looked up."""
        if ":" not in target:
            raise ValueError(f"{self.what} {name!r}: a lazy entry is 'module:attr', not {target!r}")
        self._claim(name)
        self._entries.pop(name, None)
        self._lazy[name] = target

    def unregister(self, name: str) -> None:
        """Remove an entry (tests that register a throw-away entry remove it again)."""
        self._entries.pop(name, None)
        self._lazy.pop(name, None)
        self._origins.pop(name, None)

    def _claim(self, name: str) -> None:
        """Refuse a second entry of one name, except from the source module that registered it, imported
        again because its first import was interrupted (Ctrl-C, a cancelled Ray task): Python forgets a
        half-imported module, and the next lookup imports it anew."""
        if name in self._entries or name in self._lazy:
            if self._loading is None or self._origins.get(name) != self._loading:
                raise ValueError(f"{self.what} {name!r} is registered twice")
        self._origins[name] = self._loading

    # --- looking up ----------------------------------------------------------------------------------

    def get(self, name: str) -> T:
        """The entry `name`; an unknown name is a LiftbenchError with the nearest names."""
        self._load_sources()
        if name in self._lazy:
            return self._resolve(name)
        try:
            return self._entries[name]
        except KeyError:
            raise self.unknown(name) from None

    def unknown(self, name: str, where: str = "") -> LiftbenchError:
        names = self.names()
        hint = f"; {self._hint}" if self._hint else f"; known: {', '.join(sorted(names))}"
        return LiftbenchError(f"{where}unknown {self.what} {name!r}{did_you_mean(name, names)}{hint}")

    def names(self) -> list[str]:
        """Every registered name, in registration order; lazy entries are not imported."""
        self._load_sources()
        return [*self._entries, *self._lazy]

    def items(self) -> dict[str, T]:
        """Every entry by name, lazy ones imported."""
        self._load_sources()
        for name in list(self._lazy):
            self._resolve(name)
        return dict(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _resolve(self, name: str) -> T:
        module, _, attr = self._lazy[name].partition(":")
        obj = getattr(importlib.import_module(module), attr)
        if self._check is not None:
            self._check(name, obj)
        del self._lazy[name]
        self._entries[name] = obj
        return obj

    def _load_sources(self) -> None:
        if self._sources_loaded or self._loading is not None:  # done, or a source looking itself up
            return
        for module in self._source_modules():
            self._loading = module
            try:
                importlib.import_module(module)
            finally:
                self._loading = None
        self._sources_loaded = True  # only now: an interrupted import is retried on the next lookup

    @functools.cache  # noqa: B019 - registries live as long as the process; entry points do not change
    def _source_modules(self) -> tuple[str, ...]:
        """The modules that register entries: the named sources, then the entry-point group's (read once)."""
        group = () if self._group is None else tuple(ep.value for ep in entry_points(group=self._group))
        return (*self._sources, *group)

    def sources_declared(self) -> bool:
        """Whether any source module is known (an entry-point group is empty when not installed)."""
        return bool(self._source_modules())
