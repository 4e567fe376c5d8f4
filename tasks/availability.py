"""Whether a task can be loaded on this machine right now, and if not, how to make it loadable."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.offline_mirrors import mirror_missing, mirror_source
from tasks.openml_source import dataset_cache_dir, missing_cache_files
from tasks.real_regression import missing_file
from tasks.spec import TaskSpec


@dataclass(frozen=True)
class Availability:
    available: bool
    via: str  # what would serve it: "generator", "openml-cache", "sklearn-mirror", "keel-mirror", or "" when unavailable
    reason: str = ""  # why not, and the fix, in full
    brief: str = ""  # the same in a few words, for one line of a table


def availability(spec: TaskSpec) -> Availability:
    """Answer without loading the data: a file-existence check for OpenML, always yes for generators."""
    if spec.source == "synthetic":
        return Availability(True, "generator")
    if spec.source == "file":
        how = "add --param path=FILE --param target=COLUMN [--param kind=regression]"
        return Availability(False, "", f"a task for your own file: {how}", f"your own CSV/ARFF file: {how}")
    if spec.openml_id is not None:
        missing = missing_cache_files(spec.openml_id)
        if not missing:
            return Availability(True, "openml-cache")
        if spec.mirror:
            unavailable = mirror_missing(spec.mirror)
            if unavailable is None:
                return Availability(True, mirror_source(spec.mirror))
            return Availability(
                False,
                "",
                f"OpenML {spec.openml_id} is not in the cache and its offline mirror {spec.mirror} cannot "
                f"serve it: {unavailable}",
                f"mirror {spec.mirror}: {unavailable}",
            )
        return Availability(
            False,
            "",
            f"OpenML {spec.openml_id} is not in the cache ({dataset_cache_dir(spec.openml_id)} lacks "
            f"{', '.join(missing)}): run `liftbench data fetch --id {spec.openml_id}` on a machine with network, "
            "or point LIFTBENCH_OPENML_CACHE at a cache that has it",
            f"OpenML {spec.openml_id} not in the cache: `liftbench data fetch --id {spec.openml_id}`",
        )
    if spec.source.endswith("-file"):
        missing = missing_file(spec.name)
        if missing is not None:
            return Availability(False, "", missing.reason, missing.brief)
    return Availability(True, spec.source)
