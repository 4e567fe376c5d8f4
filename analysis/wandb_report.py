"""The report's W&B counterpart: every table as a `wandb.Table` and every figure as a `wandb.Image`, in one
W&B run with job type "report".

The files on disk are the report; W&B is a view of them. So, as the results mirror, this never raises:
a W&B failure (no credentials online, a broken install) becomes one warning and the report stands.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.artifacts import Study


class ReportWandbWarning(UserWarning):
    """The report could not be logged to W&B; its files are written all the same."""


def log_report(
    studies: Sequence[Study],
    mode: str,
    config: Mapping[str, Any],
    project: str = "liftbench",
    entity: str | None = None,
    dir: Path | None = None,
) -> Path | None:
    """Log the studies' artifacts to one W&B run; its local folder, or None when disabled or failed."""
    if mode == "disabled":
        return None
    run = None
    try:
        import wandb

        if dir is not None:
            dir.mkdir(parents=True, exist_ok=True)
        run = wandb.init(
            mode=mode,
            project=project,
            entity=entity,
            dir=dir,
            job_type="report",
            name="liftbench report",
            config=dict(config),
            reinit="create_new",
            settings=wandb.Settings(silent=True, console="off", x_disable_stats=True, save_code=False),
        )
        payload: dict[str, Any] = {}
        for study in studies:
            for artifact in study.artifacts:
                key = f"{study.key}/{artifact.name}"
                if artifact.kind == "table":
                    payload[key] = wandb.Table(dataframe=scalar_frame(artifact.data))
                else:
                    png = next(p for p in artifact.paths if p.suffix == ".png")
                    payload[key] = wandb.Image(str(png), caption=artifact.title)
        run.log(payload)
        run.summary.update(
            {
                "missing": [f"{study.key}: {m.what} ({m.suite})" for study in studies for m in study.missing],
                "built": [f"{study.key}/{a.name}" for study in studies for a in study.artifacts],
            }
        )
        folder = Path(run.dir).parent
        run.finish()
        run = None
        return folder
    except Exception as err:  # the report on disk must survive any W&B failure
        text = str(err).strip()
        warnings.warn(
            f"W&B ({mode}) could not log the report; its files are written: {type(err).__name__}: "
            f"{text.splitlines()[0] if text else ''}",
            ReportWandbWarning,
            stacklevel=2,
        )
        if run is not None:
            with contextlib.suppress(Exception):
                run.finish(exit_code=1)
        return None


def scalar_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose object cells are all scalars (dicts, lists and tuples as text), as wandb.Table needs."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = [
                v if v is None or isinstance(v, str | int | float | bool) else str(v) for v in out[column]
            ]
    return out
