"""The one Registry type: eager and lazy entries, sources imported on the first lookup, clear errors,
and a source whose import was interrupted (Ctrl-C, a cancelled Ray task) imported again cleanly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tasks.errors import LiftbenchError
from tasks.lazy_registry import Registry


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on the path for throw-away modules; `lazyreg_holder.REGISTRY` is the registry under test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "lazyreg_holder.py").write_text("REGISTRY = None\n")
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("lazyreg_")]:
        del sys.modules[name]


def test_eager_and_lazy_entries_and_did_you_mean(module_dir: Path) -> None:
    (module_dir / "lazyreg_target.py").write_text("VALUE = {'heavy': True}\n")
    registry: Registry[object] = Registry("widget")
    registry.register("small", 1)
    registry.register_lazy("large", "lazyreg_target:VALUE")
    assert registry.names() == ["small", "large"]
    assert "lazyreg_target" not in sys.modules  # listing names imports nothing
    assert registry.get("large") == {"heavy": True}
    with pytest.raises(LiftbenchError, match="unknown widget 'smal' \\(did you mean: small"):
        registry.get("smal")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("small", 2)


def test_sources_register_on_first_lookup(module_dir: Path) -> None:
    registry: Registry[int] = Registry("gadget", sources=("lazyreg_source",))
    (module_dir / "lazyreg_source.py").write_text(
        "import lazyreg_holder\nlazyreg_holder.REGISTRY.register('one', 1)\n"
    )
    _hold(registry)
    assert registry.get("one") == 1 and registry.items() == {"one": 1}


def test_an_interrupted_source_import_is_retried_on_the_next_lookup(module_dir: Path) -> None:
    """The first import registers one entry and is then interrupted, as a cancelled Ray task is; the
    next lookup imports the module again and finds every entry instead of 'unknown gadget'."""
    registry: Registry[int] = Registry("gadget", sources=("lazyreg_flaky",))
    marker = module_dir / "interrupted-once"
    (module_dir / "lazyreg_flaky.py").write_text(
        "from pathlib import Path\n"
        "import lazyreg_holder\n"
        "lazyreg_holder.REGISTRY.register('first', 1)\n"
        f"marker = Path({str(marker)!r})\n"
        "if not marker.exists():\n"
        "    marker.touch()\n"
        "    raise KeyboardInterrupt\n"
        "lazyreg_holder.REGISTRY.register('second', 2)\n"
    )
    _hold(registry)
    with pytest.raises(KeyboardInterrupt):
        registry.get("second")
    assert registry.get("second") == 2 and registry.get("first") == 1


def _hold(registry: Registry[int]) -> None:
    import lazyreg_holder

    lazyreg_holder.REGISTRY = registry
