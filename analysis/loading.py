"""Read a results store into tidy frames: one row per ok run, with everything an analysis groups by.

Nothing is refitted. A run's spec and provenance come back from the store as stored; the training
rows a figure draws (decision boundaries, 1-D fits) are rebuilt from the task, its stored parameters
(`provenance.task_params`, which include a generated task's seed) and the split, exactly as the runner
made them.

Columns of `load_runs` (besides the store's `metric.<name>` columns):

* `run_hash`, `suite`, `task`, `kind`, `method`, `seed`, `split_seed`, `split_protocol`;
* `train_size` (None: the whole training split) and `n_train` (the rows the method was trained on);
* `task_params` (the spec's own), `task_label` (`moons(n=200)`; a file task by its name), `data_params` (what the task was
  loaded with), `n_classes`;
* `method_params`, `serializer`, `serializer_options`, `model`: a method's configuration (the
  parameters as the run ran them: `params_as_run`);
* `perturbation` (None when clean), `perturbation_params`, `strength` (the perturbation's size:
  its `scale`, `fraction`, `epsilon` or `n` parameter; 0 for clean runs), `perturbation_seed` (the
  seed the runner applied it with);
* `evaluations`: the extra evaluation sets whose predictions were stored (split `eval:<name>`), as
  name -> parameters, e.g. `{"grid": {}}` (under a row limit, the coarser parameters it ran with);
* `row_limit`: the cap on every split of a smoke run (`liftbench run --limit-rows`), None for a real run.

Runs whose specs differ only in their evaluation sets fit the same model on the same rows; only one
of them is kept (the one with the most evaluation sets), so no experiment counts twice in a mean.

`with_config_labels` adds `config`: the method and those of its settings that vary in the frame.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchmark.core.methods import method_entries, resolved_params
from benchmark.core.metrics import roc_auc
from benchmark.core.rows import evaluation_set_of, prepare_rows
from benchmark.core.runspec import Evaluation, canonical_json
from benchmark.harness.effective import LM_FIELDS, RAN_WITH
from benchmark.harness.store import ResultStore
from tasks.errors import LiftbenchError
from tasks.local_files import FILE_TASK, file_task_name
from tasks.perturbations import make_perturbation
from tasks.spec import TaskData
from tasks.splits import Split

STRENGTH_PARAMS: tuple[str, ...] = ("scale", "fraction", "epsilon", "n")  # first one present wins


def load_runs(store: ResultStore) -> pd.DataFrame:
    """Every ok run of the store as one tidy row (see the module docstring); an empty store gives no rows."""
    frame = store.runs(status="ok")
    columns = [
        "run_hash",
        "suite",
        "task",
        "kind",
        "method",
        "seed",
        "split_seed",
        "split_protocol",
        "train_size",
        "n_train",
        "task_params",
        "task_label",
        "data_params",
        "n_classes",
        "method_params",
        "serializer",
        "serializer_options",
        "model",
        "perturbation",
        "perturbation_params",
        "strength",
        "perturbation_seed",
        "evaluations",
        "row_limit",
    ]
    metric_columns = [c for c in frame.columns if c.startswith("metric.")]
    if frame.empty:
        return pd.DataFrame(columns=columns + metric_columns)
    rows, fits = [], []
    for run_hash in frame["run_hash"]:
        record = store.get_run(run_hash)
        rows.append(
            _tidy(record.spec, record.provenance, params_as_run(record.spec, record.kind, record.config))
        )
        fits.append(canonical_json({k: v for k, v in record.spec.items() if k != "evaluations"}))
    tidy = pd.DataFrame(rows, index=frame.index)
    out = pd.concat([frame[["run_hash", "suite", "kind", "seed", "split_seed"]], tidy], axis=1)
    out["train_size"] = [None if pd.isna(v) else int(v) for v in frame["train_size"]]
    for column in ("perturbation", "serializer", "model"):  # None, never NaN, where unset
        out[column] = pd.Series(
            [v if isinstance(v, str) else None for v in out[column]], index=out.index, dtype=object
        )
    out = pd.concat([out, frame[metric_columns]], axis=1)[columns + metric_columns]
    out = with_auc_from_predictions(store, out)
    # One fit, one row: runs that differ only in their evaluation sets are the same experiment.
    out = out.assign(fit=fits, n_evaluations=out["evaluations"].map(len))
    out = out.sort_values("n_evaluations", ascending=False, kind="stable").drop_duplicates("fit")
    return out.sort_index().drop(columns=["fit", "n_evaluations"]).reset_index(drop=True)


def with_auc_from_predictions(store: ResultStore, runs: pd.DataFrame) -> pd.DataFrame:
    """`runs` with `metric.auc` computed from the stored test probabilities of the classification runs
    that were stored before AUC was a metric (a run without probabilities keeps no AUC)."""
    column = "metric.auc"
    out = runs.copy()
    if column not in out.columns:
        out[column] = np.nan
    lacking = out.index[(out["kind"] == "classification") & out[column].isna()]
    for index in lacking:
        rows = store.predictions(out.at[index, "run_hash"], split="test")
        if len(rows) and rows["proba"].notna().all():
            out.at[index, column] = roc_auc(
                rows["y_true"].to_numpy(), np.array(rows["proba"].tolist(), dtype=float)
            )
    return out if out[column].notna().any() else out.drop(columns=column)


def _tidy(
    spec: Mapping[str, Any], provenance: Mapping[str, Any], method_params: dict[str, Any]
) -> dict[str, Any]:
    task_params = dict(spec.get("task_params") or {})
    perturbation = spec.get("perturbation")
    pert_params = dict((perturbation or {}).get("params") or {})
    sizes = provenance.get("split_sizes") or {}
    return {
        "task": spec["task"],
        "method": spec["method"],
        "split_protocol": spec.get("split_protocol", "default"),
        "n_train": sizes.get("train"),
        "task_params": task_params,
        "task_label": task_label(spec, task_params),
        "data_params": dict(provenance.get("task_params") or {}),
        "n_classes": provenance.get("n_classes"),
        "method_params": method_params,
        "serializer": spec.get("serializer"),
        "serializer_options": dict(spec.get("serializer_options") or {}),
        "model": spec.get("model"),
        "perturbation": None if perturbation is None else perturbation["name"],
        "perturbation_params": pert_params,
        "strength": perturbation_strength(pert_params) if perturbation is not None else 0.0,
        "perturbation_seed": (provenance.get("perturbation") or {}).get("seed"),
        "evaluations": _evaluations(spec.get("evaluations") or (), spec.get("row_limit")),
        "row_limit": spec.get("row_limit"),
    }


def params_as_run(spec: Mapping[str, Any], kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The spec's method parameters, plus what it left to defaults that ran otherwise than its name says now.

    A setting the spec left to a default is named with the value the run used when this code resolves
    it differently (the default has changed since: an old LIFT run without `precision` trained in fp32,
    while `lift` now means `precision: auto`); and a precision the machine chose (`auto`, or a GPU's
    default) is replaced by the one the run trained in (`ran_with.precision`), so runs that trained in
    different precisions get different configuration labels and never share a table cell. Runs stored
    without an effective configuration keep the spec's parameters.
    """
    params = dict(spec.get("method_params") or {})
    stored = config.get("method_params") or {}
    if stored:
        try:
            now = resolved_params(spec["method"], kind, {**params, **_lm_fields(spec)})
        except LiftbenchError:  # a method or parameter this code no longer knows: the stored values stand
            now = {}
        for key, value in stored.items():
            if (
                key not in params
                and key in now
                and key not in LM_FIELDS
                and canonical_json(now[key]) != canonical_json(value)
            ):
                params[key] = value
    trained = (config.get(RAN_WITH) or {}).get("precision")
    if trained and "precision" in stored:
        params["precision"] = trained
    return params


def _lm_fields(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {name: spec[name] for name in LM_FIELDS if spec.get(name)}


def task_label(spec: Mapping[str, Any], task_params: Mapping[str, Any]) -> str:
    """The task as tables and figures name it: its name and parameters (a file task by its name), and
    whatever else makes its rows differ (a split protocol other than the default, a smoke run's row
    limit), so that runs on different rows never share a row of a table."""
    label = (
        file_task_name(task_params) if spec["task"] == FILE_TASK else params_label(spec["task"], task_params)
    )
    protocol = spec.get("split_protocol", "default")
    if protocol != "default":
        label += f" [{protocol} split]"
    if spec.get("row_limit") is not None:
        label += f" [rows<={spec['row_limit']}]"
    return label


def _evaluations(items: Iterable[Any], row_limit: int | None) -> dict[str, dict[str, Any]]:
    """The spec's evaluation sets as name -> parameters (a spec lists names or {name, params}); under
    a row limit, the parameters of the coarser set the run predicted."""
    out = {}
    for item in items:
        name, params = (item, {}) if isinstance(item, str) else (item["name"], dict(item.get("params") or {}))
        if row_limit is not None:
            params = dict(evaluation_set_of(Evaluation(name, params), row_limit).params)
        out[name] = params
    return out


def params_label(name: str, params: Mapping[str, Any]) -> str:
    """`moons` or `moons(n=200)`: a name with its parameters sorted by key, text values unquoted."""
    if not params:
        return name
    shown = ",".join(
        f"{key}={value if isinstance(value, str) else canonical_json(value)}"
        for key, value in sorted(params.items())
    )
    return f"{name}({shown})"


def perturbation_strength(params: Mapping[str, Any]) -> float:
    """The size of a perturbation: its first numeric `STRENGTH_PARAMS` value, NaN when it has none."""
    for key in STRENGTH_PARAMS:
        value = params.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return float("nan")


def perturbation_label(name: str | None, params: Mapping[str, Any]) -> str:
    """`clean`, or the perturbation with its parameters other than the strength, e.g. `feature-noise(kind=gaussian)`."""
    if name is None:
        return "clean"
    strength_key = next((k for k in STRENGTH_PARAMS if k in params), None)
    return params_label(name, {k: v for k, v in params.items() if k != strength_key})


@functools.cache
def method_defaults() -> dict[str, dict[str, Any]]:
    """Each registered method's parameter defaults (LIFT's include its serializer and model)."""
    return {name: dict(entry.defaults) for name, entry in method_entries().items()}


@functools.cache
def method_conditions() -> dict[str, dict[str, tuple[str, tuple[Any, ...]]]]:
    """Each registered method's conditional parameters: parameter -> (the parameter, values) it needs."""
    return {name: dict(entry.applies_when) for name, entry in method_entries().items()}


def effective_settings(row: Mapping[str, Any]) -> dict[str, Any]:
    """What sets a run's configuration apart from its method's defaults, as flat `name` -> value.

    Method parameters by name, `serializer`, `serializer.<option>` and `model`; a setting at the
    method's registered default, or one that has no effect in this run (`pretext_rows` without a
    pretext stage), is left out, so a run at the defaults has no settings.
    """
    settings, inert = _settings(row)
    return {k: v for k, v in settings.items() if k not in inert}


def _settings(row: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """A run's non-default settings, and the names of the method parameters that have no effect in it."""
    method = row["method"]
    defaults = method_defaults().get(method, {})
    params = dict(row["method_params"] or {})
    settings = dict(params)
    if isinstance(row["serializer"], str):
        settings["serializer"] = row["serializer"]
    if isinstance(row["model"], str):
        settings["model"] = row["model"]
    default_options = defaults.get("serializer_options") or {}
    options = {**(settings.pop("serializer_options", None) or {}), **(row["serializer_options"] or {})}
    for key, value in options.items():
        if canonical_json(value) != canonical_json(default_options.get(key, _UNSET)):
            settings[f"serializer.{key}"] = value
    settings = {
        k: v
        for k, v in settings.items()
        if k not in defaults or canonical_json(v) != canonical_json(defaults[k])
    }
    filled = {**defaults, **params}
    inert = {
        key
        for key, (needs, values) in method_conditions().get(method, {}).items()
        if filled.get(needs) not in values
    }
    return settings, inert


_UNSET = "<unset>"


def with_config_labels(runs: pd.DataFrame, within: tuple[str, ...] = ("task_label",)) -> pd.DataFrame:
    """`runs` with `config` (a label), `settings` (`effective_settings`) and `config_keys` (the ones named).

    A configuration is named by its method and those of its settings that tell it apart from another
    configuration of the same method run on the same task (the same `within` group): `logreg`,
    `lift(init=random)`. Settings at their defaults never show. A setting that differs only between
    tasks (LIFT trained 12 epochs on iris, 6 on moons) does not split a method into several labels;
    `setting_notes` says it.
    """
    out = runs.copy()
    if out.empty:
        out["config"] = pd.Series(dtype=object)
        out["settings"] = pd.Series(dtype=object)
        out["config_keys"] = pd.Series(dtype=object)
        return out
    pairs = [_settings(row) for _, row in out.iterrows()]
    inert = [skip for _, skip in pairs]
    settings = [{k: v for k, v in found.items() if k not in skip} for found, skip in pairs]
    groups = [tuple(canonical_json(row[c]) for c in within) for _, row in out.iterrows()]
    methods = out["method"].tolist()
    varying: dict[str, set[str]] = {}
    for method in dict.fromkeys(methods):
        found: set[str] = set()
        positions = [i for i, m in enumerate(methods) if m == method]
        for group in dict.fromkeys(groups[i] for i in positions):
            members = [i for i in positions if groups[i] == group]
            keys = {key for i in members for key in settings[i]}
            found |= {
                key
                for key in keys
                if len({canonical_json(settings[i].get(key, _UNSET)) for i in members if key not in inert[i]})
                > 1
            }
        varying[method] = found
    shown = [tuple(sorted(k for k in s if k in varying[m])) for m, s in zip(methods, settings, strict=True)]
    out["config"] = [
        params_label(m, {k: s[k] for k in keys}) for m, s, keys in zip(methods, settings, shown, strict=True)
    ]
    out["settings"] = settings
    out["config_keys"] = shown
    return out


def setting_notes(labelled: pd.DataFrame) -> list[str]:
    """What the `config` labels of a table or figure leave out: settings shared by all, then per label.

    `every configuration: epochs=2`, then `lift(two_stage=ift): pretext_epochs=1, pretext_rows=30`, and
    for a label whose settings differ by task `lift: epochs=12, predict=both on iris; epochs=6 on
    moons(n=300)`. Defaults never show; an empty list when the labels say everything.
    """
    if labelled.empty:
        return []
    rests = [
        {k: canonical_json(v) if not isinstance(v, str) else v for k, v in settings.items() if k not in shown}
        for settings, shown in zip(labelled["settings"], labelled["config_keys"], strict=True)
    ]
    shared = dict(set.intersection(*(set(rest.items()) for rest in rests)))
    notes = [f"every configuration: {_settings_text(shared)}"] if shared else []
    by_config: dict[str, dict[str, list[str]]] = {}
    for config, task, rest in zip(labelled["config"], labelled["task_label"], rests, strict=True):
        text = _settings_text({k: v for k, v in rest.items() if k not in shared})
        tasks = by_config.setdefault(config, {}).setdefault(text, [])
        if task not in tasks:
            tasks.append(task)
    for config, by_text in by_config.items():
        if list(by_text) == [""]:
            continue
        if len(by_text) == 1:
            notes.append(f"{config}: {next(iter(by_text))}")
        else:
            texts = [f"{text or 'defaults'} on {', '.join(tasks)}" for text, tasks in by_text.items()]
            notes.append(f"{config}: " + "; ".join(texts))
    return notes


def _settings_text(settings: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))


def clean_full_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs on unperturbed data trained on the whole training split (no smoke run's row limit): the
    rows of the main tables."""
    if runs.empty:
        return runs
    keep = runs["perturbation"].isna() & runs["train_size"].isna()
    if "row_limit" in runs.columns:
        keep &= runs["row_limit"].isna()
    return runs[keep]


def predictions_of(store: ResultStore, run_hashes: Iterable[str], split: str = "test") -> pd.DataFrame:
    """The prediction rows of several runs for one split, with a `run_hash` column."""
    frames = []
    for run_hash in run_hashes:
        frame = store.predictions(run_hash, split=split)
        frames.append(frame.assign(run_hash=run_hash))
    if not frames:
        return pd.DataFrame(
            columns=["run_hash", "row_index", "split", "y_true", "y_pred", "invalid", "proba", "std"]
        )
    return pd.concat(frames, ignore_index=True)


@dataclass
class TrainingRows:
    """A run's task and split rebuilt from its record, with the training rows it was fitted on.

    `data` and `split` are the clean ones (evaluation sets are built from them, as the runner does);
    `X_train` and `y_train` are the rows the method saw, after the run's perturbation if it has one.
    """

    data: TaskData
    split: Split
    X_train: pd.DataFrame
    y_train: np.ndarray


def training_rows(run: Mapping[str, Any]) -> TrainingRows:
    """Rebuild a run's data and split from a `load_runs` row: the same rows the runner trained on.

    The task is loaded with the parameters stored in the run's provenance (a generated task's seed
    included), split with the run's split seed and protocol, cut to its training size, and perturbed
    with the run's perturbation and the seed the runner recorded (label corruption flips the same labels).
    """
    perturbation = None
    if isinstance(run["perturbation"], str):
        perturbation = make_perturbation(run["perturbation"], run["perturbation_params"])
    train_size = run["train_size"]
    rows = prepare_rows(
        run["task"],
        dict(run["data_params"]),
        split_seed=int(run["split_seed"]),
        split_protocol=run["split_protocol"],
        train_size=None if train_size is None or pd.isna(train_size) else int(train_size),
        perturbation=perturbation,
        perturbation_seed=None if perturbation is None else int(run["perturbation_seed"]),
        row_limit=None if pd.isna(run.get("row_limit")) else int(run["row_limit"]),
    )
    return TrainingRows(
        data=rows.clean_data, split=rows.clean_split, X_train=rows.X_train, y_train=rows.y_train
    )
