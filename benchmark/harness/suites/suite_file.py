"""Suite files: reading, validating and expanding the YAML that describes a grid of runs.

A suite file::

    name: smoke
    description: what it is for
    include: [default, ../mine/extra.yaml]   # shipped names, or paths relative to this file
    defaults:                                # axes for every block of this file; a block's own wins
      split_seeds: [0, 1, 2]
    blocks:                                  # or a single `grid:` mapping
      - tasks: [iris, {name: moons, params: {n: 200}}]
        methods: [majority, {name: logreg, params: {C: 1.0}}]
        seeds: [0]

Axes are lists; the singular key gives one value (`seed: 0` is `seeds: [0]`):
tasks/task and methods/method (a name or `{name, params}`), seeds/seed and split_seeds/split_seed
(integers >= 0), split_protocols/split_protocol (a name), train_sizes/train_size (a positive integer,
or `all`/null for the whole training split), perturbations/perturbation (`clean`/null, a name or
`{name, params}`), serializers/serializer (null, a name or `{name, params}`; params become the
serializer options), models/model (null or a model id). Baselines ignore serializer and model, so give
those in the blocks of LIFT methods: on a baseline they would only make a second hash for the same run.

`evaluations` is not an axis: its list (names or `{name, params}`, e.g. `evaluations: [grid]`) is the
set of extra evaluation sets that every run of the block predicts (`tasks.evaluation_sets`); an empty
list asks for none.

A block expands to the cartesian product of its axes (tasks outermost, seeds innermost); a suite is
its included suites (each expanded with its own defaults) followed by its blocks, de-duplicated by
run hash keeping the first occurrence. Task and method names are not checked here (the runner owns
the registries); `validate_names` does it given the registered names.
"""

from __future__ import annotations

import importlib.resources
import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmark.core.runspec import Evaluation, FrozenParams, Perturbation, RunSpec, parse_named
from tasks.errors import LiftbenchError, did_you_mean

SHIPPED_PACKAGE = "benchmark.harness.suites"  # the shipped `<name>.yaml` files live beside this module
_TOP_LEVEL_KEYS = ("name", "description", "include", "defaults", "grid", "blocks")
_REQUIRED_AXES = ("tasks", "methods")


class SuiteLoader(yaml.SafeLoader):
    """Safe YAML that reads `1e-3` as a float (YAML 1.1 needs a dot) and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r} (keep only one)", key_node.start_mark
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


SuiteLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _fail(where: str, problem: str) -> LiftbenchError:
    return LiftbenchError(f"{where}: {problem}")


def _parse_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(where, f"{value!r} is not a whole number >= 0; write integers, e.g. [0, 1, 2]")
    return value


def _parse_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, f"{value!r} is not a name; write a non-empty string")
    return value


def _parse_train_size(value: Any, where: str) -> int | None:
    if value is None or value == "all":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(
            where, f"{value!r} is not a training-set size; write a positive integer, or all for every row"
        )
    return value


def _parse_perturbation(value: Any, where: str) -> Perturbation | None:
    if value == "clean":
        return None
    name, params = parse_named(value, where, nullable=True)
    return None if name is None else Perturbation(name, params)


def _parse_model(value: Any, where: str) -> str | None:
    return None if value is None else _parse_name(value, where)


def _parse_evaluations(value: Any, where: str) -> tuple[Evaluation, ...]:
    """The whole list of evaluation sets every run of a block predicts (one value, not alternatives)."""
    if not isinstance(value, list):
        raise _fail(where, f"{value!r} is not a list; write evaluations: [grid] (or [] for none)")
    named = [parse_named(item, f"{where}[{i}]") for i, item in enumerate(value)]
    names = [name for name, _ in named]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise _fail(f"{where}[{i}]", f"evaluation set {name!r} is listed twice; give each once")
    return tuple(Evaluation(name, params) for name, params in named)


# Axis (plural key) -> (singular key, parser of one value). This order is the product order.
_AXES: dict[str, tuple[str, Callable[[Any, str], Any]]] = {
    "tasks": ("task", parse_named),
    "methods": ("method", parse_named),
    "split_protocols": ("split_protocol", _parse_name),
    "split_seeds": ("split_seed", _parse_int),
    "train_sizes": ("train_size", _parse_train_size),
    "perturbations": ("perturbation", _parse_perturbation),
    "serializers": ("serializer", lambda value, where: parse_named(value, where, nullable=True)),
    "models": ("model", _parse_model),
    "seeds": ("seed", _parse_int),
    "evaluations": ("evaluations", _parse_evaluations),
}
_WHOLE_LIST_KEYS = ("evaluations",)  # keys whose list is one value for every run, not a product axis
_SINGULAR = {singular: axis for axis, (singular, _) in _AXES.items()}
_AXIS_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "split_protocols": ("default",),
    "split_seeds": (0,),
    "train_sizes": (None,),
    "perturbations": (None,),
    "serializers": ((None, FrozenParams()),),
    "models": (None,),
    "seeds": (0,),
    "evaluations": ((),),
}


@dataclass(frozen=True)
class Block:
    """One grid of a suite file: every axis's values and where in the file each axis was written."""

    source: Path
    axes: Mapping[str, tuple[Any, ...]]
    origins: Mapping[str, str]  # axis -> the key path it came from, e.g. "defaults.seeds"

    def expand(self) -> Iterator[RunSpec]:
        for values in itertools.product(*(self.axes[axis] for axis in _AXES)):
            combo = dict(zip(_AXES, values, strict=True))
            (task, task_params), (method, method_params) = combo["tasks"], combo["methods"]
            serializer, serializer_options = combo["serializers"]
            yield RunSpec(
                task=task,
                task_params=task_params,
                method=method,
                method_params=method_params,
                split_protocol=combo["split_protocols"],
                split_seed=combo["split_seeds"],
                train_size=combo["train_sizes"],
                perturbation=combo["perturbations"],
                serializer=serializer,
                serializer_options=serializer_options,
                model=combo["models"],
                seed=combo["seeds"],
                evaluations=combo["evaluations"],
            )


@dataclass(frozen=True)
class Suite:
    """A loaded suite file with its included suites, ready to expand."""

    name: str
    path: Path
    description: str
    includes: tuple[Suite, ...]
    blocks: tuple[Block, ...]

    def all_blocks(self) -> Iterator[Block]:
        """Blocks of the included suites (depth first, in order), then this file's own."""
        for included in self.includes:
            yield from included.all_blocks()
        yield from self.blocks

    def expand(self) -> list[RunSpec]:
        """Every run of the suite once, in a deterministic order (first occurrence wins)."""
        runs: dict[str, RunSpec] = {}
        for block in self.all_blocks():
            for spec in block.expand():
                runs.setdefault(spec.hash, spec)
        return list(runs.values())


def _parse_axes(raw: Any, where: str) -> dict[str, tuple[tuple[Any, ...], str]]:
    """A `defaults`, `grid` or block mapping -> axis -> (parsed values, key path)."""
    if not isinstance(raw, Mapping):
        raise _fail(where, f"{type(raw).__name__} is not a mapping; write axis: [values], e.g. seeds: [0, 1]")
    out: dict[str, tuple[tuple[Any, ...], str]] = {}
    for key, value in raw.items():
        axis = key if key in _AXES else _SINGULAR.get(key)
        if axis is None:
            known = [*_AXES, *_SINGULAR]
            raise _fail(
                f"{where}.{key}", f"unknown key{did_you_mean(str(key), known)}; axes: {', '.join(_AXES)}"
            )
        if axis in out:
            raise _fail(f"{where}.{key}", f"{axis} is given twice (as {_AXES[axis][0]} and {axis}); keep one")
        _, parse = _AXES[axis]
        path = f"{where}.{key}"
        if axis in _WHOLE_LIST_KEYS:
            out[axis] = ((parse(value, path),), path)
        elif key == axis:
            if not isinstance(value, list):
                example = f"{key}: [{value}]" if isinstance(value, str | int) else f"{key}: [...]"
                raise _fail(path, f"{value!r} is not a list; write a YAML list, e.g. {example}")
            if not value:
                raise _fail(
                    path, "the list is empty, so the grid would have no runs; give at least one value"
                )
            out[axis] = (tuple(parse(item, f"{path}[{i}]") for i, item in enumerate(value)), path)
        else:
            if isinstance(value, list):
                raise _fail(path, f"{key} takes one value; write {axis}: [...] for several")
            out[axis] = ((parse(value, path),), path)
    return out


def _make_block(
    source: Path, where: str, raw: Any, defaults: dict[str, tuple[tuple[Any, ...], str]]
) -> Block:
    given = {**defaults, **_parse_axes(raw, where)}
    for axis in _REQUIRED_AXES:
        if axis not in given:
            raise _fail(where, f"no {axis}; add {axis}: [...] to this block or under defaults")
    axes = {axis: given[axis][0] if axis in given else _AXIS_DEFAULTS[axis] for axis in _AXES}
    origins = {axis: given[axis][1] for axis in given}
    return Block(source=source, axes=axes, origins=origins)


def _parse_blocks(source: Path, document: Mapping[str, Any]) -> tuple[Block, ...]:
    raw_defaults = document.get("defaults")
    defaults = {} if raw_defaults is None else _parse_axes(raw_defaults, "defaults")
    if "grid" in document and "blocks" in document:
        raise _fail(
            "grid", "a suite has either one grid or a list of blocks, not both; move the grid into blocks"
        )
    if "grid" in document:
        return (_make_block(source, "grid", document["grid"], defaults),)
    raw_blocks = document.get("blocks")
    if raw_blocks is None:
        return ()
    if not isinstance(raw_blocks, list) or not raw_blocks:
        raise _fail(
            "blocks", "expected a non-empty list of grids; write blocks: [{tasks: [...], methods: [...]}]"
        )
    return tuple(_make_block(source, f"blocks[{i}]", raw, defaults) for i, raw in enumerate(raw_blocks))


def _read_document(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise LiftbenchError(f"suite file {path}: cannot be read ({err.strerror}); check the path") from None
    try:
        document = yaml.load(text, Loader=SuiteLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise LiftbenchError(f"suite file {path}: {where}: {err.problem}; fix the YAML there") from None
    except yaml.YAMLError as err:
        raise LiftbenchError(f"suite file {path}: not valid YAML ({err}); fix the YAML syntax") from None
    if not isinstance(document, Mapping):
        raise LiftbenchError(
            f"suite file {path}: the file holds a {type(document).__name__}, not a mapping;"
            " start it with name: and blocks: (or grid:)"
        )
    return document


def _shipped_dir() -> Path:
    return Path(str(importlib.resources.files(SHIPPED_PACKAGE)))


def suite_names() -> list[str]:
    """Names of the suites shipped with liftbench (`benchmark/harness/suites/<name>.yaml`)."""
    return sorted(path.stem for path in _shipped_dir().glob("*.yaml"))


def _is_path(reference: str) -> bool:
    return reference.endswith((".yaml", ".yml")) or "/" in reference or os.sep in reference


def _resolve_include(reference: Any, where: str, base: Path) -> Path:
    if not isinstance(reference, str) or not reference:
        raise _fail(where, f"{reference!r} is not a suite name or path; write a string")
    if _is_path(reference):
        path = Path(reference) if Path(reference).is_absolute() else base.parent / reference
        if not path.is_file():
            raise _fail(where, f"no file {path}; paths are relative to the including file")
        return path.resolve()
    names = suite_names()
    if reference not in names:
        raise _fail(
            where,
            f"no shipped suite {reference!r}{did_you_mean(reference, names)}; shipped: {', '.join(names)}"
            " (a path must end in .yaml)",
        )
    return (_shipped_dir() / f"{reference}.yaml").resolve()


def _load(path: Path, stack: tuple[Path, ...]) -> Suite:
    document = _read_document(path)
    try:
        unknown = [key for key in document if key not in _TOP_LEVEL_KEYS]
        if unknown:
            key = str(unknown[0])
            raise _fail(
                key, f"unknown key{did_you_mean(key, _TOP_LEVEL_KEYS)}; keys: {', '.join(_TOP_LEVEL_KEYS)}"
            )
        name = document.get("name")
        if not isinstance(name, str) or not name:
            problem = "missing" if name is None else f"{name!r} is not a suite name"
            raise _fail("name", f"{problem}; add name: <a name> at the top of the file")
        description = document.get("description", "")
        if not isinstance(description, str):
            raise _fail("description", f"{description!r} is not text; quote it")
        raw_include = document.get("include", [])
        if not isinstance(raw_include, list):
            raise _fail("include", f"{raw_include!r} is not a list; write include: [name or path, ...]")
        blocks = _parse_blocks(path, document)
        if not blocks and not raw_include:
            raise _fail("blocks", "the suite has no runs; add blocks: (or grid:) or include: another suite")
        include_paths = []
        for i, reference in enumerate(raw_include):
            target = _resolve_include(reference, f"include[{i}]", path)
            if target in stack or target == path:
                chain = " -> ".join(str(p) for p in (*stack, path, target))
                raise _fail(f"include[{i}]", f"include cycle {chain}; remove one of these includes")
            include_paths.append(target)
    except LiftbenchError as err:
        raise LiftbenchError(f"suite file {path}: {err}") from None
    includes = tuple(_load(target, (*stack, path)) for target in include_paths)
    return Suite(name=name, path=path, description=description, includes=includes, blocks=blocks)


def load_suite(name_or_path: str | os.PathLike[str]) -> Suite:
    """Load a shipped suite by name (`smoke`) or any suite file by path, with its includes.

    Every problem in the file or its includes is a `LiftbenchError` naming the file and the field.
    """
    reference = os.fspath(name_or_path)
    if isinstance(name_or_path, os.PathLike) or _is_path(reference):
        path = Path(reference)
        if not path.is_file():
            raise LiftbenchError(
                f"suite file {path} does not exist; give the path of a YAML suite file,"
                f" or a shipped suite name: {', '.join(suite_names())}"
            )
        return _load(path.resolve(), ())
    names = suite_names()
    if reference not in names:
        raise LiftbenchError(
            f"unknown suite {reference!r}{did_you_mean(reference, names)}; shipped suites: {', '.join(names)},"
            " or give the path of a .yaml file"
        )
    return _load((_shipped_dir() / f"{reference}.yaml").resolve(), ())


def validate_names(suite: Suite, task_names: Iterable[str], method_names: Iterable[str]) -> None:
    """Raise a `LiftbenchError` naming the file and entry of the first unknown task or method name."""
    known = {"tasks": sorted(set(task_names)), "methods": sorted(set(method_names))}
    listing = {
        "tasks": "`liftbench tasks list` shows the registered tasks",
        "methods": f"known methods: {', '.join(known['methods'])}",
    }
    for block in suite.all_blocks():
        for axis, names in known.items():
            for i, (name, _) in enumerate(block.axes[axis]):
                if name not in names:
                    origin = block.origins[axis]
                    entry = f"{origin}[{i}]" if origin.rsplit(".", 1)[-1] == axis else origin
                    raise LiftbenchError(
                        f"suite file {block.source}: {entry}: unknown {_AXES[axis][0]} {name!r}"
                        f"{did_you_mean(name, names)}; {listing[axis]}"
                    )
