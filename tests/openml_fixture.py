"""Write a small but real OpenML cache folder, in openml-python 0.15.1's layout, for tests.

`write_openml_cache(root, did, frame, target)` writes
`<root>/org/openml/www/datasets/<did>/{description.xml, features.xml, dataset.arff}` the way
openml-python leaves them after a download: the ARFF is encoded with liac-arff (the parser openml
itself uses), the description names its md5 checksum, a download URL and (like the live server) a
parquet URL, and features.xml lists every column with its OpenML data type and nominal values.
openml then loads the dataset from that folder with zero network calls.

Column types: pandas category/object/bool columns (and any named in `categorical`) become nominal
attributes, integer columns (numpy or nullable) INTEGER, float columns REAL. Missing values are
written as ARFF's '?'.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

import arff
import numpy as np
import pandas as pd

OML_NAMESPACE = "http://openml.org/openml"


def dataset_folder(root: str | Path, did: int) -> Path:
    """Where openml-python keeps dataset `did` under the cache root `root` (www.openml.org server)."""
    return Path(root) / "org" / "openml" / "www" / "datasets" / str(did)


def write_openml_cache(
    root: str | Path,
    did: int,
    frame: pd.DataFrame,
    target: str,
    name: str = "liftbench-fixture",
    version: int = 1,
    categorical: Iterable[str] = (),
    default_target: bool = True,
    parquet_url: bool = True,
) -> Path:
    """Write dataset `did` (all columns of `frame`, `target` among them) as a cached OpenML dataset.

    `default_target=False` leaves the description without a default target attribute;
    `parquet_url=False` leaves out the parquet URL that live descriptions carry. Returns the folder.
    """
    if target not in frame.columns:
        raise ValueError(f"target {target!r} is not a column of the frame")
    folder = dataset_folder(root, did)
    folder.mkdir(parents=True, exist_ok=True)
    attributes = [_arff_attribute(frame[c], nominal=c in set(categorical)) for c in frame.columns]
    arff_text = arff.dumps(
        {
            "relation": name,
            "description": f"{name}, written by liftbench's tests",
            "attributes": attributes,
            "data": [_arff_row(row) for row in frame.itertuples(index=False)],
        }
    )
    arff_bytes = (arff_text + "\n").encode("utf8")
    (folder / "dataset.arff").write_bytes(arff_bytes)
    md5 = hashlib.md5(arff_bytes).hexdigest()
    (folder / "description.xml").write_text(
        _description_xml(did, name, version, target if default_target else None, md5, parquet_url),
        encoding="utf8",
    )
    (folder / "features.xml").write_text(_features_xml(frame, attributes, target), encoding="utf8")
    return folder


def _arff_attribute(column: pd.Series, nominal: bool) -> tuple[str, str | list[str]]:
    name = str(column.name)
    if isinstance(column.dtype, pd.CategoricalDtype):
        return name, [str(c) for c in column.cat.categories]
    if nominal or not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return name, sorted({str(v) for v in column.dropna()})
    if pd.api.types.is_integer_dtype(column):
        return name, "INTEGER"
    return name, "REAL"


def _arff_row(row: tuple) -> list:
    out = []
    for value in row:
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            out.append(None)
        elif isinstance(value, (bool, np.bool_)):
            out.append(str(bool(value)))
        elif isinstance(value, np.integer):
            out.append(int(value))
        elif isinstance(value, np.floating):
            out.append(float(value))
        elif isinstance(value, (int, float)):
            out.append(value)
        else:
            out.append(str(value))
    return out


def _description_xml(
    did: int, name: str, version: int, target: str | None, md5: str, parquet_url: bool
) -> str:
    fields = [
        ("id", str(did)),
        ("name", name),
        ("version", str(version)),
        ("description", f"{name}: a dataset written by liftbench's tests"),
        ("format", "ARFF"),
        ("upload_date", "2024-01-01T00:00:00"),
        ("licence", "Public"),
        ("url", f"https://api.openml.org/data/v1/download/{did}/{name}.arff"),
    ]
    if parquet_url:
        fields.append(("parquet_url", f"https://data.openml.org/datasets/0000/{did:04d}/dataset_{did}.pq"))
    fields.append(("file_id", str(did)))
    if target is not None:
        fields.append(("default_target_attribute", target))
    fields += [
        ("version_label", str(version)),
        ("visibility", "public"),
        ("status", "active"),
        ("md5_checksum", md5),
    ]
    body = "\n".join(f"  <oml:{key}>{escape(value)}</oml:{key}>" for key, value in fields)
    return f'<oml:data_set_description xmlns:oml="{OML_NAMESPACE}">\n{body}\n</oml:data_set_description>\n'


def _features_xml(frame: pd.DataFrame, attributes: list[tuple[str, str | list[str]]], target: str) -> str:
    blocks = []
    for index, (name, arff_type) in enumerate(attributes):
        nominal = isinstance(arff_type, list)
        lines = [
            f"    <oml:index>{index}</oml:index>",
            f"    <oml:name>{escape(name)}</oml:name>",
            f"    <oml:data_type>{'nominal' if nominal else 'numeric'}</oml:data_type>",
        ]
        if nominal:
            lines += [f"    <oml:nominal_value>{escape(v)}</oml:nominal_value>" for v in arff_type]
        lines += [
            f"    <oml:is_target>{'true' if name == target else 'false'}</oml:is_target>",
            "    <oml:is_ignore>false</oml:is_ignore>",
            "    <oml:is_row_identifier>false</oml:is_row_identifier>",
            f"    <oml:number_of_missing_values>{int(frame[name].isna().sum())}</oml:number_of_missing_values>",
        ]
        blocks.append("  <oml:feature>\n" + "\n".join(lines) + "\n  </oml:feature>")
    body = "\n".join(blocks)
    return f'<oml:data_features xmlns:oml="{OML_NAMESPACE}">\n{body}\n</oml:data_features>\n'
