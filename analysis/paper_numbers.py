"""The LIFT paper's published numbers, as data, to print beside ours. Nothing here is computed by liftbench.

Transcribed from `reference/lift-spec.md` section 9, which names each number's source in the paper's
repository and website:

* `PAPER_OPENML`: §9.1, OpenML classification, test accuracy %, mean ± std over 3 splits
  (`docs/static/js/heatmap.js`);
* `PAPER_SYNTHETIC`: §9.2, synthetic classification, accuracy % (`poster.png` table);
* `PAPER_IMAGES`: §9.2, image classification, accuracy %, no std (`docs/static/js/heatmap.js`);
* `PAPER_CONTEXT`: §9.4, LIFT/GPT-3 accuracy % without feature names, with shuffled names and with
  the correct names (`docs/static/js/bar_plot.js`), shown beside the context-aware prompting study;
* `PAPER_REGRESSION`: §9.13, synthetic regression, RAE with the paper's 3×RMSE outlier filter
  (our metric `rae_filtered3`), mean ± std (ddof=1) over 3 "simulations" that shared one data draw.

A paper row is matched to a liftbench task by name and parameters (`paper_row`): the OpenML and
image rows to the task of that name with no parameters; the synthetic classification rows to the
generator with its default parameters (the paper's n = 2000, noise 0.1; liftbench draws new data per
split seed where the paper drew once); the regression rows to the function with the paper's
dimension p, input range and integer flag and every other parameter at its default (n_train 200,
n_val 50, n_test 100, noise 0.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PaperValue:
    mean: float
    std: float | None  # None where the paper gives none

    def text(self, digits: int) -> str:
        if self.std is None:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


@dataclass(frozen=True)
class PaperTable:
    """One published table: columns, and rows keyed by (liftbench task, its parameters as a sorted tuple)."""

    key: str
    title: str
    source: str
    metric: str  # the liftbench metric it compares with
    scale: float  # paper value = scale * liftbench value (100 for accuracy in %)
    digits: int
    columns: tuple[str, ...]
    rows: Mapping[tuple[str, tuple[tuple[str, Any], ...]], Mapping[str, PaperValue]]
    study: str = "main"  # the report study whose tables show it


def _parse(cell: str) -> PaperValue:
    mean, _, std = cell.replace(" ", "").partition("±")
    return PaperValue(float(mean), float(std) if std else None)


def _rows(
    columns: tuple[str, ...], lines: Mapping[tuple[str, tuple[tuple[str, Any], ...]], tuple[str, ...]]
) -> dict[tuple[str, tuple[tuple[str, Any], ...]], dict[str, PaperValue]]:
    out = {}
    for key, cells in lines.items():
        if len(cells) != len(columns):
            raise ValueError(f"paper row {key} has {len(cells)} cells for {len(columns)} columns")
        out[key] = {column: _parse(cell) for column, cell in zip(columns, cells, strict=True)}
    return out


_OPENML_COLUMNS = ("MCC", "LogReg", "DT", "RBF-SVM", "XGBoost", "LIFT/GPT-J", "LIFT/GPT-3")
PAPER_OPENML = PaperTable(
    key="openml",
    title="LIFT paper, OpenML classification (accuracy %, mean ± std over 3 splits)",
    source="lift-spec.md §9.1 (paper website docs/static/js/heatmap.js)",
    metric="accuracy",
    scale=100.0,
    digits=2,
    columns=_OPENML_COLUMNS,
    rows=_rows(
        _OPENML_COLUMNS,
        {
            ("customers", ()): (
                "68.18",
                "87.12±0.54",
                "85.98±0.53",
                "86.36±0.00",
                "85.23±0.00",
                "85.23±1.61",
                "84.85±1.42",
            ),
            ("pollution", ()): (
                "50.00",
                "58.33±11.79",
                "77.78±3.93",
                "58.33±6.81",
                "63.89±7.86",
                "63.89±3.93",
                "63.89±7.86",
            ),
            ("spambase", ()): (
                "60.59",
                "93.27±0.00",
                "90.70±0.14",
                "93.70±0.00",
                "95.87±0.00",
                "94.03±0.54",
                "94.90±0.36",
            ),
            ("hill-valley", ()): (
                "49.79",
                "77.78±0.00",
                "56.38±0.89",
                "68.72±0.00",
                "59.26±0.00",
                "100.00±0.20",
                "99.73±0.19",
            ),
            ("iris", ()): (
                "33.33",
                "96.67±0.00",
                "97.77±3.85",
                "100.00±0.00",
                "100.00±0.00",
                "96.67±0.00",
                "97.00±0.00",
            ),
            ("tae", ()): (
                "35.48",
                "45.16±4.56",
                "65.59±5.49",
                "53.76±6.63",
                "66.67±8.05",
                "61.29±6.97",
                "65.59±6.63",
            ),
            ("cmc", ()): (
                "42.71",
                "49.49±0.83",
                "56.72±0.32",
                "56.50±0.97",
                "52.43±0.42",
                "49.83±0.28",
                "57.74±0.89",
            ),
            ("wine", ()): (
                "38.89",
                "100.00±0.00",
                "93.52±2.62",
                "100.00±0.00",
                "97.22±0.00",
                "93.52±1.31",
                "92.59±1.31",
            ),
            ("vehicle", ()): (
                "25.88",
                "80.39±1.00",
                "63.92±2.37",
                "81.18±0.48",
                "73.14±0.28",
                "64.31±2.37",
                "70.20±2.73",
            ),
            ("led7", ()): (
                "11.00",
                "68.67±0.94",
                "66.33±2.87",
                "68.00±0.82",
                "66.00±0.82",
                "65.33±0.47",
                "69.33±2.05",
            ),
            ("optdigits", ()): (
                "10.14",
                "96.53±0.22",
                "89.80±1.09",
                "97.95±0.00",
                "97.48±0.17",
                "98.22±0.11",
                "98.99±0.30",
            ),
            ("mfeat-factors", ()): (
                "10.00",
                "97.67±0.12",
                "87.67±1.05",
                "98.83±0.24",
                "96.75±0.00",
                "94.17±1.75",
                "93.08±0.24",
            ),
            ("plants-margin", ()): (
                "0.94",
                "81.35±0.15",
                "43.86±1.21",
                "81.98±0.30",
                "70.21±0.29",
                "50.23±1.33",
                "59.37±0.92",
            ),
            ("plants-texture", ()): (
                "0.94",
                "81.67±0.97",
                "46.88±1.93",
                "83.44±0.89",
                "70.73±1.41",
                "50.32±2.18",
                "67.50±1.42",
            ),
        },
    ),
)

_SYNTHETIC_COLUMNS = ("LogReg", "XGBoost", "LIFT/GPT-J", "LIFT/GPT-3")
PAPER_SYNTHETIC = PaperTable(
    key="synthetic",
    title="LIFT paper, synthetic classification (accuracy %, mean ± std)",
    source="lift-spec.md §9.2 (paper poster.png table)",
    metric="accuracy",
    scale=100.0,
    digits=2,
    columns=_SYNTHETIC_COLUMNS,
    rows=_rows(
        _SYNTHETIC_COLUMNS,
        {
            ("two-circles", ()): ("49.83±4.18", "79.25±0.35", "75.92±1.65", "81.42±0.82"),
            ("blobs", ()): ("96.75±0.00", "96.17±0.12", "96.17±0.59", "96.67±0.24"),
            ("moons", ()): ("88.58±0.12", "99.83±0.12", "99.58±0.42", "100.00±0.00"),
        },
    ),
)

_IMAGE_COLUMNS = ("LogReg", "DT", "RBF-SVM", "XGBoost", "LIFT/GPT-J", "LIFT/GPT-3")
PAPER_IMAGES = PaperTable(
    key="images",
    title="LIFT paper, image classification (accuracy %, no std published)",
    source="lift-spec.md §9.2 (paper website docs/static/js/heatmap.js)",
    metric="accuracy",
    scale=100.0,
    digits=2,
    columns=_IMAGE_COLUMNS,
    rows=_rows(
        _IMAGE_COLUMNS,
        {
            ("mnist", ()): ("91.95", "87.42", "97.70", "97.69", "97.01", "98.15"),
            ("mnist-permuted", ()): ("92.58", "87.87", "98.06", "97.62", "95.80", "96.25"),
            ("fashion-mnist", ()): ("85.59", "80.52", "90.59", "90.19", "85.10", "90.18"),
            ("fashion-mnist-permuted", ()): ("84.95", "79.91", "88.04", "89.93", "82.25", "88.92"),
        },
    ),
)

_CONTEXT_COLUMNS = ("MCC", "GPT-3 w/o names", "GPT-3 shuffled names", "GPT-3 correct names")
PAPER_CONTEXT = PaperTable(
    key="context",
    title="LIFT paper, context-aware prompts, LIFT/GPT-3 (accuracy %)",
    source="lift-spec.md §9.4 (paper website docs/static/js/bar_plot.js)",
    metric="accuracy",
    scale=100.0,
    digits=2,
    columns=_CONTEXT_COLUMNS,
    rows=_rows(
        _CONTEXT_COLUMNS,
        {
            ("cmc", ()): ("42.71", "57.74", "56.27", "57.40"),
            ("tae", ()): ("35.48", "65.59", "60.22", "69.89"),
            ("vehicle", ()): ("25.88", "70.20", "70.20", "75.29"),
        },
    ),
    study="context",
)

_REGRESSION_COLUMNS = ("LIFT/GPT-J", "LIFT/GPT-3", "PR", "KR", "KNN", "MLP", "GBT", "RF", "GP")


def _regression_key(function: str, p: int, integer: bool, low: float, high: float) -> tuple[str, tuple]:
    return function, (("high", high), ("integer", integer), ("low", low), ("p", p))


PAPER_REGRESSION = PaperTable(
    key="regression",
    title="LIFT paper, synthetic regression (RAE with the 3×RMSE outlier filter, mean ± std over 3 sims)",
    source="lift-spec.md §9.13 (regression/accuracy/syn_{mean,std}_across_3sims.csv)",
    metric="rae_filtered3",
    scale=1.0,
    digits=3,
    columns=_REGRESSION_COLUMNS,
    rows=_rows(
        _REGRESSION_COLUMNS,
        {
            _regression_key("linear", 1, False, -10.0, 10.0): (
                "0.081±0.007",
                "0.064±0.007",
                "0.010±0.001",
                "0.047±0.003",
                "0.041±0.011",
                "0.035±0.005",
                "0.050±0.003",
                "0.045±0.005",
                "0.008±0.001",
            ),
            _regression_key("quadratic", 1, False, -10.0, 10.0): (
                "0.111±0.004",
                "0.132±0.003",
                "0.008±0.001",
                "0.053±0.001",
                "0.049±0.006",
                "0.035±0.026",
                "0.057±0.003",
                "0.054±0.004",
                "0.011±0.001",
            ),
            _regression_key("exponential", 1, False, -10.0, 10.0): (
                "0.109±0.017",
                "0.093±0.004",
                "0.038±0.001",
                "0.068±0.023",
                "0.052±0.012",
                "0.020±0.003",
                "0.048±0.007",
                "0.039±0.006",
                "0.013±0.003",
            ),
            _regression_key("cosine", 1, False, -10.0, 10.0): (
                "0.385±0.077",
                "0.436±0.097",
                "1.052±0.004",
                "0.121±0.002",
                "0.136±0.030",
                "0.379±0.072",
                "0.148±0.008",
                "0.354±0.015",
                "0.035±0.003",
            ),
            _regression_key("l1norm", 1, False, -10.0, 10.0): (
                "0.100±0.004",
                "0.089±0.015",
                "0.229±0.005",
                "0.059±0.011",
                "0.045±0.002",
                "0.028±0.017",
                "0.060±0.002",
                "0.061±0.002",
                "0.029±0.005",
            ),
            _regression_key("piecewise", 1, False, -10.0, 10.0): (
                "0.146±0.013",
                "0.167±0.047",
                "0.451±0.007",
                "0.166±0.002",
                "0.078±0.002",
                "0.085±0.018",
                "0.062±0.002",
                "0.067±0.004",
                "0.102±0.005",
            ),
            _regression_key("linear", 2, False, -10.0, 10.0): (
                "0.121±0.015",
                "0.189±0.009",
                "0.027±0.002",
                "0.087±0.003",
                "0.115±0.004",
                "0.044±0.005",
                "0.120±0.013",
                "0.123±0.013",
                "0.008±0.002",
            ),
            _regression_key("quadratic", 2, False, -10.0, 10.0): (
                "0.283±0.098",
                "0.217±0.016",
                "0.027±0.002",
                "0.163±0.004",
                "0.170±0.003",
                "0.058±0.008",
                "0.149±0.012",
                "0.246±0.002",
                "0.025±0.001",
            ),
            _regression_key("exponential", 2, False, -10.0, 10.0): (
                "0.194±0.021",
                "0.199±0.014",
                "0.040±0.001",
                "0.151±0.005",
                "0.133±0.002",
                "0.068±0.014",
                "0.094±0.008",
                "0.105±0.008",
                "0.040±0.001",
            ),
            _regression_key("cosine", 2, False, -10.0, 10.0): (
                "0.822±0.165",
                "0.654±0.083",
                "1.044±0.015",
                "0.739±0.024",
                "0.832±0.063",
                "1.062±0.041",
                "0.413±0.029",
                "0.796±0.022",
                "0.309±0.009",
            ),
            _regression_key("l1norm", 2, False, -10.0, 10.0): (
                "0.245±0.042",
                "0.195±0.015",
                "0.242±0.002",
                "0.167±0.008",
                "0.186±0.016",
                "0.056±0.004",
                "0.153±0.012",
                "0.285±0.008",
                "0.071±0.006",
            ),
            _regression_key("piecewise", 2, False, -10.0, 10.0): (
                "0.401±0.066",
                "0.405±0.087",
                "0.388±0.003",
                "0.344±0.007",
                "0.325±0.009",
                "0.203±0.012",
                "0.187±0.030",
                "0.382±0.025",
                "0.292±0.024",
            ),
            _regression_key("exponential", 1, False, 0.0, 10.0): (
                "0.160±0.063",
                "0.101±0.009",
                "0.012±0.002",
                "0.050±0.002",
                "0.037±0.008",
                "0.079±0.074",
                "0.046±0.003",
                "0.043±0.005",
                "0.012±0.003",
            ),
            _regression_key("cosine", 1, False, 0.0, 10.0): (
                "0.691±0.347",
                "0.403±0.165",
                "0.906±0.004",
                "0.072±0.003",
                "0.074±0.006",
                "0.128±0.039",
                "0.096±0.010",
                "0.103±0.010",
                "0.021±0.003",
            ),
            _regression_key("exponential", 1, True, -150.0, 150.0): (
                "1.430±0.072",
                "1.150±0.107",
                "2.594±0.142",
                "0.457±0.078",
                "0.327±0.021",
                "0.568±0.004",
                "0.322±0.015",
                "0.240±0.057",
                "0.921±0.016",
            ),
            _regression_key("exponential", 1, True, 0.0, 300.0): (
                "0.680±0.154",
                "2.054±0.762",
                "2.688±0.047",
                "0.419±0.020",
                "0.351±0.052",
                "0.569±0.000",
                "0.282±0.009",
                "0.181±0.042",
                "0.942±0.038",
            ),
            _regression_key("cosine", 1, True, -150.0, 150.0): (
                "0.647±0.580",
                "0.064±0.010",
                "1.054±0.002",
                "0.791±0.007",
                "1.097±0.067",
                "1.031±0.009",
                "0.963±0.112",
                "1.049±0.019",
                "0.581±0.009",
            ),
            _regression_key("cosine", 1, True, 0.0, 300.0): (
                "0.512±0.554",
                "0.071±0.022",
                "1.048±0.021",
                "0.800±0.002",
                "1.079±0.129",
                "1.049±0.086",
                "0.913±0.101",
                "1.044±0.026",
                "0.575±0.010",
            ),
        },
    ),
)

PAPER_TABLES: tuple[PaperTable, ...] = (
    PAPER_OPENML,
    PAPER_SYNTHETIC,
    PAPER_IMAGES,
    PAPER_CONTEXT,
    PAPER_REGRESSION,
)
_REGRESSION_MATCHED = {"p": 1, "integer": False, "low": -10.0, "high": 10.0}  # the paper row's keys, defaults


def paper_row(
    table: PaperTable, task: str, task_params: Mapping[str, Any]
) -> Mapping[str, PaperValue] | None:
    """The paper's numbers for a liftbench task with these parameters, or None where the paper has none."""
    if table is PAPER_REGRESSION:
        if set(task_params) - set(_REGRESSION_MATCHED):
            return None  # another training size, noise, range of test inputs...: not the paper's setting
        filled = {**_REGRESSION_MATCHED, **task_params}
        if not all(isinstance(filled[k], int | float) for k in ("p", "low", "high")):
            return None
        key = _regression_key(
            task, int(filled["p"]), bool(filled["integer"]), float(filled["low"]), float(filled["high"])
        )
        return table.rows.get(key)
    if task_params:
        return None
    return table.rows.get((task, ()))


def paper_rows_for(
    metric: str, task: str, task_params: Mapping[str, Any], study: str = "main"
) -> list[tuple[PaperTable, Mapping[str, PaperValue]]]:
    """Every published table row of a report study for this task that reports `metric`."""
    out = []
    for table in PAPER_TABLES:
        if table.metric != metric or table.study != study:
            continue
        row = paper_row(table, task, task_params)
        if row is not None:
            out.append((table, row))
    return out
