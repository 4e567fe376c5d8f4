"""The bench's results as files and tables: `bench.json` (everything measured), `bench.md` (the tables
with how each number was made) and a short table for the terminal; and the issue's goals, checked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.table_format import Cell, TextTable

TRAINING_GOAL = 2.0  # ours / plain loop, tokens per second
PREDICTION_GOAL = 1.5  # seconds / prompt-forward floor
SUITE_GOAL_SECONDS = 15 * 60


def goals(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each goal with what was measured and whether it is met (None: not measured in this run)."""
    found: list[dict[str, Any]] = []
    cases = results.get("training", {}).get("cases", [])
    if cases:
        ratios = {f"{c['model']} {c['finetune']}": c["tokens_per_s_vs_plain"] for c in cases}
        found.append(
            {
                "goal": f"training >= {TRAINING_GOAL:g}x the plain loop (real tokens/s)",
                "measured": ", ".join(f"{name} {ratio:.2f}x" for name, ratio in ratios.items()),
                "met": all(r >= TRAINING_GOAL for r in ratios.values()),
            }
        )
    if "prediction" in results:
        for name, label in (("score", "class scoring"), ("generate", "greedy generation")):
            ratio = results["prediction"][name]["vs_floor"]
            found.append(
                {
                    "goal": f"{label} within {PREDICTION_GOAL:g}x of the prompt-forward floor",
                    "measured": f"{ratio:.2f}x",
                    "met": ratio <= PREDICTION_GOAL,
                }
            )
    full = results.get("suite", {}).get("full") if "suite" in results else None
    suite_goal: dict[str, Any] = {"goal": f"default suite within {SUITE_GOAL_SECONDS // 60} minutes"}
    if full is not None and full["complete"]:
        span = full["wall_span_seconds"]
        suite_goal.update(
            measured=f"{span / 60:.1f} min (wall span of the stored runs)", met=span <= SUITE_GOAL_SECONDS
        )
    elif full is not None:
        suite_goal.update(
            measured=f"store holds {full['stored_runs']} of {full['suite_runs']} runs", met=None
        )
    else:
        suite_goal.update(measured="no store with a default run was given (--store)", met=None)
    found.append(suite_goal)
    return found


def write_reports(results: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """bench.json and bench.md in `out_dir` (made if missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path = out_dir / "bench.json", out_dir / "bench.md"
    json_path.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    markdown_path.write_text(markdown(results), encoding="utf-8")
    return json_path, markdown_path


def terminal_summary(results: Mapping[str, Any]) -> str:
    """The goals, training and prediction tables."""
    tables = [_goals_table(results)]
    if "training" in results:
        tables.append(_training_table(results["training"]))
    if "prediction" in results:
        tables.append(_prediction_table(results["prediction"]))
    return "\n".join(t.to_markdown() for t in tables)


def markdown(results: Mapping[str, Any]) -> str:
    bench, peak = results["bench"], results["peak"]
    device, versions = bench["environment"]["device"], bench["environment"]["versions"]
    lines = [
        "# liftbench performance",
        "",
        f"{bench['started_at']}, {bench['seconds']:.0f} s{' (--quick sizes)' if bench['quick'] else ''}; "
        f"{device['cpu_count']} CPUs, torch {versions.get('torch')} on {peak['threads']} threads; "
        f"load average {bench['load_average_at_start'][0]:.2f} at start, {bench['load_average_at_end'][0]:.2f} at end "
        "(other processes on the machine slow every number down).",
        "",
        _goals_table(results).to_markdown(),
        f"**Machine peak**: fp32 {peak['size']}x{peak['size']} matmul, best of {peak['rounds']} rounds of {peak['reps']}: "
        f"{peak['fp32_flops_per_s'] / 1e9:.0f} GFLOP/s (readings: "
        f"{', '.join(f'{r / 1e9:.0f}' for r in peak['readings_fp32_flops_per_s'])}); "
        f"bf16 {peak['bf16_flops_per_s'] / 1e9:.0f} GFLOP/s.",
        "",
    ]
    if "training" in results:
        lines += [_training_table(results["training"]).to_markdown(), ""]
    if "prediction" in results:
        lines += [_prediction_table(results["prediction"]).to_markdown(), ""]
    if "tokens" in results:
        lines += [_tokens_table(results["tokens"]).to_markdown(), ""]
    if "suite" in results:
        lines += [_suite_table(results["suite"]["slice"], "slice").to_markdown(), ""]
        if results["suite"]["full"] is not None:
            lines += [_suite_table(results["suite"]["full"], "full").to_markdown(), ""]
    return "\n".join(lines).rstrip() + "\n"


def _goals_table(results: Mapping[str, Any]) -> TextTable:
    verdict = {True: "met", False: "NOT met", None: "not measured"}
    return TextTable(
        header=["goal", "measured", "verdict"],
        rows=[
            [Cell(g["goal"]), Cell(g["measured"]), Cell(verdict[g["met"]], bold=g["met"] is False)]
            for g in goals(results)
        ],
        caption="Goals",
    )


def _training_table(training: Mapping[str, Any]) -> TextTable:
    rows = []
    for case in training["cases"]:
        ours, plain = case["ours"], case["plain"]
        rows.append(
            [
                Cell(f"{case['model']} {case['finetune']}"),
                Cell(f"{case['batch_size']} x {case['timed_steps']}"),
                Cell(f"{ours['samples_per_s']:.2f}"),
                Cell(f"{ours['tokens_per_s']:.0f}"),
                Cell(f"{plain['tokens_per_s']:.0f}"),
                Cell(f"{case['tokens_per_s_vs_plain']:.2f}x"),
                Cell(f"{ours['mfu']:.2f} / {plain['mfu']:.2f}"),
                Cell(f"{ours['padded_tokens']} / {plain['padded_tokens']}"),
            ]
        )
    formula = training["flops_per_token"]
    return TextTable(
        header=[
            "model, fine-tuning",
            "batch x steps",
            "samples/s",
            "tokens/s",
            "plain tokens/s",
            "vs plain",
            "MFU ours / plain",
            "padded tokens ours / plain",
        ],
        rows=rows,
        caption="Training (timed steps after warm-up; tokens = real, non-pad tokens)",
        notes=[
            f"FLOPs per token: full {formula['full']}, LoRA {formula['lora']} (forward, and backward through "
            "the activations; the frozen base has no weight gradients); MFU = model FLOP/s of the real "
            "tokens / fp32 matmul peak.",
            "Plain: every batch tokenised anew, padded to the data set's longest row, LM head loss over all "
            "positions; ours: train_lift (cached ids, length-grouped batches, head on the answer positions).",
        ],
    )


def _prediction_table(prediction: Mapping[str, Any]) -> TextTable:
    rows = [
        [
            Cell(name),
            Cell(f"{prediction[name]['seconds']:.2f}"),
            Cell(f"{prediction[name]['samples_per_s']:.1f}"),
            Cell("1.00x" if name == "floor" else f"{prediction[name]['vs_floor']:.2f}x"),
        ]
        for name in ("floor", "score", "generate")
    ]
    return TextTable(
        header=["", "seconds", "samples/s", "vs floor"],
        rows=rows,
        caption=(
            f"Prediction: {prediction['model']}, {prediction['rows']} {prediction['task']} prompts, batch "
            f"{prediction['batch_size']}, best of {prediction['rounds']} rounds"
        ),
        notes=[
            "floor: one forward pass per batch of prompts (LM head on the last position, no cache); score: "
            f"score_classes over {prediction['classes']} classes; generate: greedy, "
            f"at most {prediction['max_new_tokens']} new tokens (the answer's length; "
            f"{prediction['generated_tokens_mean']:.1f} generated per row). Floor MFU "
            f"{prediction['floor']['mfu']:.2f}."
        ],
    )


def _tokens_table(tokens: Mapping[str, Any]) -> TextTable:
    serializers = list(dict.fromkeys(row["serializer"] for row in tokens["rows"]))
    tasks = list(dict.fromkeys(row["task"] for row in tokens["rows"]))
    cells = {(row["task"], row["serializer"]): row for row in tokens["rows"]}
    return TextTable(
        header=["task", *serializers],
        rows=[
            [Cell(task)]
            + [
                Cell(f"{cells[task, s]['total_mean']:.0f} ({cells[task, s]['total_max']})")
                for s in serializers
            ]
            for task in tasks
        ],
        caption=f"Tokens per row, prompt and answer, mean (largest); tokenizer {tokens['tokenizer']}",
    )


def _suite_table(summary: Mapping[str, Any], which: str) -> TextTable:
    rows = [
        [
            Cell(method),
            Cell(str(entry["runs"])),
            Cell(f"{entry['fit_seconds']:.1f}"),
            Cell(f"{entry['predict_seconds']:.1f}"),
            Cell(f"{entry['fit_seconds_per_run']:.3f}"),
            Cell(f"{entry['predict_seconds_per_run']:.3f}"),
            Cell("n/a" if entry["peak_rss_mb"] is None else f"{entry['peak_rss_mb']:.0f}"),
        ]
        for method, entry in summary["methods"].items()
    ]
    if which == "slice":
        caption = (
            f"Suite slice: {summary['suite']} --filter '{summary['filter']}', "
            f"{summary['stored_runs']} runs, one process per method (peak RSS: that process's own, VmHWM)"
        )
    else:
        caption = (
            f"Suite {summary['suite']} in {summary['store']}: {summary['stored_runs']} of {summary['suite_runs']} "
            f"runs stored, fit + predict {summary['fit_predict_seconds'] / 60:.1f} min, wall span "
            f"{(summary['wall_span_seconds'] or 0) / 60:.1f} min (peak RSS: the process's, up to the run)"
        )
    return TextTable(
        header=["method", "runs", "fit s", "predict s", "fit s/run", "predict s/run", "peak RSS MB"],
        rows=rows,
        caption=caption,
    )
