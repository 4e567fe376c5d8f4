"""Build every table and figure of the LIFT paper's analyses from a results store, and an index of them.

`build_report(store, out_dir)` reads the store (nothing is refitted), runs each study, writes its
figures (PDF + PNG) and tables (Markdown + LaTeX) under `<out_dir>/<study>/`, and `report.md`: what was
built, and for each study or part without results, why, with the exact `liftbench run` command whose
suite produces them. An empty store gives an index that lists everything as missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from analysis.ablations import build_context, build_settings
from analysis.artifacts import Artifact, Study
from analysis.boundaries import build_boundaries
from analysis.calibration import build_calibration
from analysis.loading import load_runs
from analysis.robustness import build_robustness
from analysis.sample_complexity import build_sample_complexity
from analysis.statistics import build_statistics
from analysis.style import StyleBook
from analysis.tables import build_main_tables, build_paper_table2
from analysis.wandb_report import log_report
from benchmark.harness.store import ResultStore
from benchmark.harness.suites import load_suite

# The shipped suite whose runs fill each study.
STUDY_SUITES: dict[str, str] = {
    "main": "study-accuracy",
    "table2": "lift14-offline",
    "boundaries": "study-boundaries",
    "sample-complexity": "study-sample-complexity",
    "robustness": "study-robustness",
    "calibration": "study-calibration",
    "context": "study-context",
    "pretraining": "study-pretraining",
    "statistics": "study-accuracy",
}
# The paper's full-scale suites whose runs, where the store holds any, are the main tables of a kind.
FULL_MAIN_SUITES: dict[str, tuple[str, ...]] = {
    "classification": ("paper-classification",),
    "regression": ("paper-regression-synthetic", "paper-regression-real"),
}
MAIN_NOTES = (
    "The paper's main tables at full scale (14 OpenML datasets, synthetic and real regression, LIFT on"
    " GPT-J-6B and Qwen2.5-7B) come from `make paper SCALE=full` (suites paper-classification,"
    " paper-regression-synthetic, paper-regression-real; they need a GPU and the OpenML cache). Where the"
    " store holds runs of those suites, a kind's main table shows only them. With no network, `liftbench"
    " run --suite lift14-offline` fills study table2 (the paper's Table 2) for the 8 of its datasets"
    " served offline.",
)


def main_table_runs(runs: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The runs of the main tables and the suite to name where one is missing, per task kind: the runs
    of the full-scale suites (`FULL_MAIN_SUITES`, matched by run hash) where the store holds any,
    otherwise every run and the reduced study suite."""
    suites = {kind: STUDY_SUITES["main"] for kind in FULL_MAIN_SUITES}
    if runs.empty:
        return runs, suites
    keep = pd.Series(True, index=runs.index)
    for kind, names in FULL_MAIN_SUITES.items():
        hashes = {spec.hash for name in names for spec in load_suite(name).expand()}
        full = runs["run_hash"].isin(hashes) & (runs["kind"] == kind)
        if full.any():
            keep &= full | (runs["kind"] != kind)
            suites[kind] = names[0]
    return runs[keep], suites


@dataclass
class Report:
    out_dir: Path
    index: Path
    studies: list[Study]
    n_runs: int
    wandb_dir: Path | None = None

    @property
    def artifacts(self) -> list[Artifact]:
        return [a for study in self.studies for a in study.artifacts]


def build_studies(store: ResultStore, runs: pd.DataFrame, out_dir: Path) -> list[Study]:
    """Run every study on the store's runs; each writes its files to `out_dir/<study key>/`."""
    suites = STUDY_SUITES
    styles = StyleBook()  # one colour per configuration across every figure of the report
    # The ablation suites' LIFT arms answer their own studies; in the others (tables, calibration,
    # rank statistics) they would be a column or a panel per arm beside the baselines.
    ablations = {suites["context"], suites["pretraining"]}
    compared = runs[~runs["suite"].isin(ablations)] if not runs.empty else runs
    main_runs, main_suites = main_table_runs(compared)
    builders: list[tuple[str, Callable[[Path], Study]]] = [
        ("main", lambda d: build_main_tables(main_runs, d, main_suites)),
        ("table2", lambda d: build_paper_table2(compared, d, suites["table2"])),
        ("boundaries", lambda d: build_boundaries(store, compared, d, suites["boundaries"], styles)),
        (
            "sample-complexity",
            lambda d: build_sample_complexity(compared, d, suites["sample-complexity"], styles),
        ),
        ("robustness", lambda d: build_robustness(compared, d, suites["robustness"], styles)),
        ("calibration", lambda d: build_calibration(store, compared, d, suites["calibration"], styles)),
        ("context", lambda d: build_context(runs, d, suites["context"], styles)),
        ("pretraining", lambda d: build_settings(runs, d, suites["pretraining"], styles)),
        ("statistics", lambda d: build_statistics(compared, d, suites["statistics"])),
    ]
    studies = [build(out_dir / key) for key, build in builders]
    studies[0].notes.extend(MAIN_NOTES)
    return studies


def build_report(
    store: ResultStore,
    out_dir: Path,
    wandb_mode: str = "disabled",
    wandb_project: str = "liftbench",
    wandb_entity: str | None = None,
) -> Report:
    """Every study, `report.md`, and (unless `wandb_mode` is disabled) one W&B run with it all."""
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = load_runs(store)
    studies = build_studies(store, runs, out_dir)
    index = out_dir / "report.md"
    index.write_text(render_index(studies, store, out_dir, len(runs)), encoding="utf-8")
    wandb_dir = Path(os.environ["WANDB_DIR"]) if os.environ.get("WANDB_DIR") else out_dir / "wandb"
    logged = log_report(
        studies,
        wandb_mode,
        config={"store": str(store.path), "runs": len(runs), "out": str(out_dir)},
        project=wandb_project,
        entity=wandb_entity,
        dir=wandb_dir,
    )
    return Report(out_dir, index, studies, len(runs), logged)


def run_command(suite: str, store: ResultStore) -> str:
    return f"liftbench run --suite {suite} --store {store.path}"


def render_index(studies: list[Study], store: ResultStore, out_dir: Path, n_runs: int) -> str:
    """`report.md`: a summary of what was built and what is missing, then each study in turn."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [
        "# liftbench report",
        "",
        f"Store `{store.path}`: {n_runs} ok runs. Built {now}. Everything below is read from the store;"
        " nothing was refitted. Columns and numbers labelled 'paper' are the LIFT paper's published"
        " values, not results of this store.",
        "",
        "## Summary",
        "",
        "| study | built | missing |",
        "| :-- | --: | --: |",
    ]
    lines += [f"| [{s.title}](#{s.key}) | {len(s.artifacts)} | {len(s.missing)} |" for s in studies]
    missing = [(s, m) for s in studies for m in s.missing]
    lines += ["", "## Missing", ""]
    if missing:
        lines += ["Results these studies need, and the command that produces them:", ""]
        for study, item in missing:
            lines.append(f"- **{study.title}**, {item.what}: `{run_command(item.suite, store)}`")
    else:
        lines.append("Nothing: every study found results.")
    for study in studies:
        lines += ["", f'<a id="{study.key}"></a>', f"## {study.title}", ""]
        lines += [f"{note}" for note in study.notes] + ([""] if study.notes else [])
        for artifact in study.artifacts:
            links = ", ".join(
                f"[{p.suffix[1:]}]({p.relative_to(out_dir).as_posix()})" for p in artifact.paths
            )
            if artifact.kind == "figure":
                png = next(p for p in artifact.paths if p.suffix == ".png")
                lines += [
                    f"### {artifact.title}",
                    "",
                    f"![{artifact.title}]({png.relative_to(out_dir).as_posix()})",
                    "",
                    *[f"- {note}" for note in artifact.notes],
                    *([""] if artifact.notes else []),
                    f"Files: {links}",
                    "",
                ]
            else:
                lines += [f"### {artifact.title}", "", artifact.markdown, f"Files: {links}", ""]
        for item in study.missing:
            lines.append(f"- Missing: {item.what}. Run `{run_command(item.suite, store)}`.")
    return "\n".join(lines).rstrip() + "\n"
