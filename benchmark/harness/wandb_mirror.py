"""Mirror stored results to Weights & Biases, one W&B run per liftbench run.

The local results store is the record; W&B is a view of it. So the mirror never raises: any failure
(no credentials, a broken install, a full disk) becomes one warning and the local result stays.
Without credentials it logs offline (`wandb sync` uploads later); `disabled` does nothing, without
even importing wandb.
"""

from __future__ import annotations

import contextlib
import netrc
import os
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from benchmark.core.runspec import RunSpec
from tasks.errors import LiftbenchError

MODES = ("online", "offline", "disabled")
# What W&B would collect by itself for each run is off: the run's config already holds liftbench's
# provenance (git commit, package versions, device), and collecting it again (git, `pip freeze` into
# requirements.txt, the machine's metadata, system metrics, console) cost 0.07 CPU-s of the 0.09 a
# mirrored run took in the runner's process (`make run` mirrors 360 runs beside its two workers).
_SETTINGS = {
    "silent": True,
    "console": "off",
    "save_code": False,
    "disable_git": True,
    "x_disable_stats": True,
    "x_disable_meta": True,
    "x_disable_machine_info": True,
    "x_save_requirements": False,
}
_DEFAULT_HOST = "https://api.wandb.ai"


class MirrorWarning(UserWarning):
    """A result could not be mirrored to W&B; it is still in the local store."""


def has_credentials() -> bool:
    """True when W&B could log in: `WANDB_API_KEY` is set or the netrc has an entry for the W&B host."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", _DEFAULT_HOST)).hostname or ""
    path = os.environ.get("NETRC") or Path.home() / ".netrc"
    try:
        return netrc.netrc(path).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def resolve_mode(mode: str | None) -> str:
    """The mode to log in: the one given, else `WANDB_MODE`, else online with credentials, else offline."""
    chosen = mode if mode is not None else os.environ.get("WANDB_MODE") or None
    if chosen is None:
        return "online" if has_credentials() else "offline"
    chosen = {"dryrun": "offline", "run": "online"}.get(chosen, chosen)  # wandb's own aliases
    if chosen not in MODES:
        source = "mode" if mode is not None else "WANDB_MODE"
        raise LiftbenchError(f"W&B {source} {chosen!r} is not a mode; use one of: {', '.join(MODES)}")
    return chosen


class WandbMirror:
    """Log finished runs to W&B: group = suite, job type = method, name = the spec's label."""

    def __init__(
        self,
        mode: str | None = None,
        project: str = "liftbench",
        entity: str | None = None,
        dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.mode = resolve_mode(mode)
        self.project = project
        self.entity = entity
        # wandb reads WANDB_DIR once per process, so read it here to honour a later change.
        env_dir = os.environ.get("WANDB_DIR")
        self.dir = Path(dir) if dir is not None else Path(env_dir) if env_dir else None  # None: the cwd
        os.environ.setdefault("WANDB_SILENT", "true")

    def log_run(
        self,
        spec_dict: Mapping[str, Any],
        run_hash: str,
        suite: str | None,
        metrics: Mapping[str, Any],
        predictions_df: pd.DataFrame | None,
        provenance: Mapping[str, Any],
    ) -> Path | None:
        """Create, fill and finish one W&B run; return its local folder, or None if disabled or failed."""
        if self.mode == "disabled":
            return None
        run = None
        try:
            import wandb

            spec = RunSpec.from_dict(spec_dict)
            if self.dir is not None:
                self.dir.mkdir(parents=True, exist_ok=True)
            run = wandb.init(
                mode=self.mode,
                project=self.project,
                entity=self.entity,
                dir=self.dir,
                group=suite,
                job_type=spec.method,
                name=spec.label(),
                config={**spec.to_dict(), "hash": run_hash, "provenance": dict(provenance)},
                tags=_tags(spec, suite),
                reinit="create_new",
                settings=wandb.Settings(**_SETTINGS),
            )
            run.summary.update(dict(metrics))
            test_rows = _test_rows(predictions_df)
            if test_rows is not None:
                run.log({"predictions": wandb.Table(dataframe=test_rows)})
            folder = Path(run.dir).parent
            run.finish()
            run = None
            return folder
        except Exception as err:  # the local result must survive any W&B failure
            message = str(err).strip().splitlines()[0] if str(err).strip() else ""
            warnings.warn(
                f"W&B mirror ({self.mode}) failed for run {run_hash}, kept in the local store: "
                f"{type(err).__name__}: {message}",
                MirrorWarning,
                stacklevel=2,
            )
            if run is not None:
                _finish_quietly(run)
            return None

    def close(self) -> None:
        """Shut down wandb's background service (a no-op when wandb was never imported)."""
        wandb = sys.modules.get("wandb")
        if wandb is not None and hasattr(wandb, "teardown"):
            wandb.teardown()


def _test_rows(predictions: pd.DataFrame | None) -> pd.DataFrame | None:
    """The test split's predictions: what a W&B table is read for. The evaluation sets (a 2-D task's
    60x60 grid, a 1-D function's line) stay in the store for the figures: as W&B tables they were
    3,600 rows a run and made mirroring cost more than fitting the baselines."""
    if predictions is None or "split" not in predictions.columns:
        return predictions
    return predictions[predictions["split"] == "test"].reset_index(drop=True)


def _tags(spec: RunSpec, suite: str | None) -> list[str]:
    """Short tags to slice runs by in the W&B UI (W&B allows at most 64 characters per tag)."""
    tags = [spec.task, spec.method, f"split={spec.split_seed}", f"seed={spec.seed}"]
    if suite:
        tags.append(f"suite={suite}")
    if spec.perturbation is not None:
        tags.append(f"perturbation={spec.perturbation.name}")
    if spec.serializer is not None:
        tags.append(f"serializer={spec.serializer}")
    if spec.model is not None:
        tags.append(f"model={spec.model}")
    return [tag[:64] for tag in tags]


def _finish_quietly(run: Any) -> None:
    with contextlib.suppress(Exception):  # the first failure is the one being reported
        run.finish(exit_code=1)
