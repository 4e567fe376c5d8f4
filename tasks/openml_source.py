"""OpenML datasets through openml-python's own cache, safe on a machine with no network.

Loading (`load_openml`) never touches the network: it first checks that the dataset's folder holds
every file openml needs (`missing_cache_files`) and, when one is missing, raises `OpenMLUnavailable`
saying how to fill the cache. Fetching (`fetch`) is the only network path. openml-python deletes a
dataset's whole cache folder when a fetch or a parse inside `get_dataset` fails, so every openml call
here runs inside `_folder_kept`, which keeps a hard-linked copy of the folder aside and puts it back
if the call fails.

The cache is openml's layout, `<root>/org/openml/www/datasets/<id>/` with `description.xml`,
`features.xml` and `dataset.arff` (or the parquet file the description names), so a folder filled by
plain openml-python works here and the other way round. The root is `LIFTBENCH_OPENML_CACHE` when
set, else openml's configured cache directory. `fetch` downloads the ARFF (whose md5 the description
records, and which is the file the paper's code parsed) rather than the parquet copy, and records a
checksum of the parsed table in `<root>/liftbench-manifest.json` so `verify` can tell later whether
the same bytes still give the same table.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import openml
import pandas as pd
import xmltodict

from tasks.errors import LiftbenchError, did_you_mean
from tasks.local_files import infer_feature_type
from tasks.spec import FeatureType

CACHE_ENV_VAR = "LIFTBENCH_OPENML_CACHE"
MANIFEST_NAME = "liftbench-manifest.json"
SKIP_PARQUET_ENV_VAR = "OPENML_SKIP_PARQUET"
# openml's derived caches: rebuilt from the ARFF on demand, so not worth keeping aside.
_DERIVED_FILES = ("*.pkl", "*.pkl.py3", "*.feather")


class OpenMLUnavailable(LiftbenchError):
    """An OpenML dataset that is not in the cache, on a machine that will not download it."""


@dataclass(frozen=True, eq=False)
class OpenMLTable:
    """One OpenML dataset as openml-python parses it: features as they are, the raw target."""

    did: int
    name: str
    version: int
    X: pd.DataFrame
    y: pd.Series
    feature_types: dict[str, FeatureType]
    target: str
    target_categories: tuple[str, ...] | None  # class names in OpenML order; None for numeric targets
    md5: str | None  # the ARFF checksum the description records
    cache_dir: Path

    @property
    def sha256(self) -> str:
        return table_sha256(self.X, self.y)


@dataclass(frozen=True)
class VerifyResult:
    did: int
    ok: bool
    message: str


def cache_root() -> Path:
    """`LIFTBENCH_OPENML_CACHE` if set, else openml-python's configured root cache directory."""
    configured = os.environ.get(CACHE_ENV_VAR)
    if configured:
        return Path(configured).expanduser().resolve()
    return Path(openml.config.get_config_as_dict()["cachedir"]).expanduser()


def datasets_dir() -> Path:
    """openml's folder of dataset folders for its configured server (www.openml.org: org/openml/www)."""
    server_parts = urlparse(openml.config.server).netloc.split(".")[::-1]
    return cache_root().joinpath(*server_parts, "datasets")


def dataset_cache_dir(did: int) -> Path:
    return datasets_dir() / str(did)


def cached_dataset_ids() -> list[int]:
    """Ids of the dataset folders present in the cache, complete or not, in increasing order."""
    folder = datasets_dir()
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())


def read_description(did: int) -> dict | None:
    """The cached description.xml as a dict of `oml:` fields, or None when absent or unreadable."""
    path = dataset_cache_dir(did) / "description.xml"
    try:
        return xmltodict.parse(path.read_text(encoding="utf8"))["oml:data_set_description"]
    except Exception:  # noqa: BLE001 - any unreadable description counts as missing
        return None


def missing_cache_files(did: int) -> list[str]:
    """The files openml still needs to load dataset `did` with zero network calls ([] when none).

    openml downloads the description again when `description.xml` does not parse, so an
    unreadable one counts as missing. The data may be `dataset.arff` or, without it, the parquet
    file that the description's parquet URL names.
    """
    folder = dataset_cache_dir(did)
    missing = []
    description = read_description(did)
    if description is None:
        present = (folder / "description.xml").is_file()
        missing.append("description.xml (unreadable)" if present else "description.xml")
    if not (folder / "features.xml").is_file():
        missing.append("features.xml")
    if not (folder / "dataset.arff").is_file():
        parquet = _parquet_name(did, description)
        if parquet is None or not (folder / parquet).is_file():
            missing.append("dataset.arff" if parquet is None else f"dataset.arff (or {parquet})")
    return missing


def load_openml(did: int, target: str | None = None) -> OpenMLTable:
    """Load OpenML dataset `did` from the cache through openml-python, with no network call.

    `target` defaults to the dataset's default target attribute. When files are missing this raises
    `OpenMLUnavailable` naming them and how to fill the cache (`fetch`).
    """
    folder = dataset_cache_dir(did)
    missing = missing_cache_files(did)
    if missing:
        raise OpenMLUnavailable(
            f"OpenML dataset {did} is not in the cache at {folder} (missing: {', '.join(missing)}) and "
            f"liftbench does not download while loading: run `liftbench data fetch --id {did}` on a "
            f"machine with network, or set {CACHE_ENV_VAR} to a folder that has it"
        )
    skip_parquet = (folder / "dataset.arff").is_file()
    with _openml_session(skip_parquet=skip_parquet, retries=1), _folder_kept(folder):
        try:
            dataset = openml.datasets.get_dataset(
                did, download_data=False, download_qualities=False, download_features_meta_data=True
            )
            target = _checked_target(did, dataset, target)
            X, y, categorical, names = dataset.get_data(target=target)
        except LiftbenchError:
            raise
        except Exception as err:  # noqa: BLE001 - openml raises many kinds; the user needs one line
            raise LiftbenchError(
                f"OpenML dataset {did} in {folder} could not be read by openml ({_one_line(err)}); "
                f"`liftbench data verify --id {did}` checks its files, and deleting a damaged file and "
                f"running `liftbench data fetch --id {did}` replaces it"
            ) from None
    feature_types = {
        name: "categorical" if is_categorical else infer_feature_type(X[name])
        for name, is_categorical in zip(names, categorical, strict=True)
    }
    categories = tuple(str(c) for c in y.cat.categories) if isinstance(y.dtype, pd.CategoricalDtype) else None
    return OpenMLTable(
        did=did,
        name=dataset.name,
        version=int(dataset.version),
        X=X,
        y=y.rename(target),
        feature_types=feature_types,
        target=target,
        target_categories=categories,
        md5=dataset.md5_checksum,
        cache_dir=folder,
    )


def fetch(did: int, retries: int = 3) -> Path:
    """Download dataset `did` (description, features, qualities, ARFF) into the cache; needs network.

    Files already there are kept, not downloaded again. Afterwards the parsed table's checksum is
    recorded in the manifest. Returns the dataset's cache folder.
    """
    folder = dataset_cache_dir(did)
    with _openml_session(skip_parquet=True, retries=retries), _folder_kept(folder):
        try:
            openml.datasets.get_dataset(
                did, download_data=True, download_qualities=True, download_features_meta_data=True
            )
        except Exception as err:  # noqa: BLE001 - network, server and hash errors all end here
            raise LiftbenchError(
                f"could not fetch OpenML dataset {did} into {folder}: {_one_line(err)}; check that "
                f"this machine reaches the OpenML server and the id exists, then run "
                f"`liftbench data fetch --id {did}` again"
            ) from None
    bad_md5 = _arff_md5_problem(did)
    if bad_md5:
        raise LiftbenchError(f"OpenML dataset {did}: {bad_md5}")
    table = load_openml(did)
    _record(table)
    return folder


def verify(did: int) -> VerifyResult:
    """Check dataset `did`'s cache: files present, ARFF md5, loads through openml, table checksum."""
    folder = dataset_cache_dir(did)
    missing = missing_cache_files(did)
    if missing:
        return VerifyResult(
            did,
            False,
            f"missing {', '.join(missing)} in {folder}; run `liftbench data fetch --id {did}`",
        )
    bad_md5 = _arff_md5_problem(did)
    if bad_md5:
        return VerifyResult(did, False, bad_md5)
    try:
        table = load_openml(did)
    except LiftbenchError as err:
        return VerifyResult(did, False, str(err))
    summary = f"{table.name} v{table.version}, {len(table.X)} rows, {table.X.shape[1]} features"
    record = read_manifest().get(str(did))
    if record is None:
        return VerifyResult(
            did, True, f"{summary}; no liftbench fetch record, so no table checksum to compare"
        )
    if record.get("table_sha256") != table.sha256:
        return VerifyResult(
            did,
            False,
            f"{summary}, but the parsed table's sha256 {table.sha256[:12]} differs from the one recorded "
            f"at fetch ({str(record.get('table_sha256'))[:12]}, {record.get('fetched_at')}): the files or "
            f"the parser changed; delete {folder} and run `liftbench data fetch --id {did}`",
        )
    return VerifyResult(did, True, f"{summary}; table checksum matches the fetch record")


def table_sha256(X: pd.DataFrame, y: pd.Series) -> str:
    """sha256 over column names, dtypes, values and the target (with its category order)."""
    h = hashlib.sha256()
    for frame_part in (X, y.to_frame()):
        h.update("\x1f".join(f"{c}:{frame_part[c].dtype}" for c in frame_part.columns).encode())
        h.update(pd.util.hash_pandas_object(frame_part, index=False).to_numpy().tobytes())
    if isinstance(y.dtype, pd.CategoricalDtype):
        h.update("\x1f".join(map(str, y.cat.categories)).encode())
    return h.hexdigest()


def manifest_path() -> Path:
    return cache_root() / MANIFEST_NAME


def read_manifest() -> dict[str, dict]:
    """The fetch records in the cache root: dataset id (as a string) -> name, version, md5, shape,
    table checksum and fetch time."""
    path = manifest_path()
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf8"))
    except json.JSONDecodeError:
        raise LiftbenchError(
            f"{path} is not valid JSON; delete it (the next `liftbench data fetch` writes it again)"
        ) from None


def _record(table: OpenMLTable) -> None:
    manifest = read_manifest()
    manifest[str(table.did)] = {
        "name": table.name,
        "version": table.version,
        "md5": table.md5,
        "n_rows": len(table.X),
        "n_features": table.X.shape[1],
        "table_sha256": table.sha256,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = manifest_path()
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf8")
    os.replace(tmp, path)


def _arff_md5_problem(did: int) -> str:
    """'' when dataset.arff is absent, has no recorded md5, or matches it; else what is wrong."""
    arff_path = dataset_cache_dir(did) / "dataset.arff"
    expected = (read_description(did) or {}).get("oml:md5_checksum")
    if not expected or not arff_path.is_file():
        return ""
    actual = _file_md5(arff_path)
    if actual == expected:
        return ""
    return (
        f"{arff_path} has md5 {actual} but its description records {expected}: the file was changed or "
        f"cut short; delete it and run `liftbench data fetch --id {did}`"
    )


def _file_md5(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _parquet_name(did: int, description: dict | None) -> str | None:
    """The parquet file openml keeps for a description with a parquet URL (openml 0.15 names it so)."""
    if description is None or not description.get("oml:parquet_url"):
        return None
    return f"dataset_{did}.pq"


def _checked_target(did: int, dataset: openml.OpenMLDataset, target: str | None) -> str:
    target = target or dataset.default_target_attribute
    names = [feature.name for feature in dataset.features.values()]
    if not target:
        raise LiftbenchError(
            f"OpenML dataset {did} has no default target attribute: name one (target=...) among "
            f"{', '.join(names)}"
        )
    if "," in target:
        raise LiftbenchError(
            f"OpenML dataset {did} has several target attributes ({target}): name one of them as target"
        )
    excluded = {*_as_list(dataset.ignore_attribute), *_as_list(dataset.row_id_attribute)}
    if target not in names or target in excluded:
        usable = [n for n in names if n not in excluded]
        raise LiftbenchError(
            f"OpenML dataset {did} has no usable column {target!r}{did_you_mean(target, usable)}; "
            f"its columns: {', '.join(usable)}"
        )
    return target


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    detail = text[0] if text else ""
    if len(detail) > 240:
        detail = detail[:237] + "..."
    return f"{type(err).__name__}: {detail}" if detail else type(err).__name__


@contextmanager
def _openml_session(skip_parquet: bool, retries: int) -> Iterator[None]:
    """Point openml at `cache_root()` with a short retry policy for one call, then restore its config.

    openml's configuration and `OPENML_SKIP_PARQUET` are process-global; restoring them keeps a
    test's or another caller's settings intact.
    """
    config = openml.config.get_config_as_dict()
    saved_env = os.environ.get(SKIP_PARQUET_ENV_VAR)
    openml.config.set_root_cache_directory(cache_root())
    # One try fails at once (loading); more tries wait 1 s, 2 s, ... between them (fetching).
    openml.config.set_retry_policy("robot" if retries == 1 else "human", retries)
    os.environ[SKIP_PARQUET_ENV_VAR] = "true" if skip_parquet else "false"
    try:
        yield
    finally:
        openml.config.set_root_cache_directory(config["cachedir"])
        openml.config.set_retry_policy(config["retry_policy"], config["connection_n_retries"])
        if saved_env is None:
            os.environ.pop(SKIP_PARQUET_ENV_VAR, None)
        else:
            os.environ[SKIP_PARQUET_ENV_VAR] = saved_env


@contextmanager
def _folder_kept(folder: Path) -> Iterator[None]:
    """Keep `folder`'s files aside during an openml call and put them back if the call fails.

    openml removes a dataset's cache folder when `get_dataset` fails. The copy is made of hard links
    (a plain copy where the file system has none), so it costs no disk space: removing the folder
    only removes names. openml writes new files rather than rewriting cached ones; the one exception,
    a description.xml that does not parse, it overwrites with a freshly downloaded valid one.
    """
    if not folder.is_dir():
        yield
        return
    keep = Path(tempfile.mkdtemp(prefix=f".liftbench-keep-{folder.name}-", dir=folder.parent))
    kept = keep / folder.name
    try:
        shutil.copytree(
            folder, kept, copy_function=_link_or_copy, ignore=shutil.ignore_patterns(*_DERIVED_FILES)
        )
        try:
            yield
        except BaseException:
            if folder.exists():
                shutil.rmtree(folder)
            kept.rename(folder)
            raise
    finally:
        shutil.rmtree(keep, ignore_errors=True)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
