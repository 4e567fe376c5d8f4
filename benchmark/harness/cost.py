"""What a suite will cost on GPUs, estimated before anything runs (`liftbench run --dry-run`).

An estimate, not a measurement: it counts the tokens every LM run processes and divides them by a
stated throughput (`Throughput`), so the same suite gives the same number on every machine.

Rows. Generated tasks are generated (cheap) and split as the run will split them; any other task is
taken at its published size (`TaskSpec.n_rows`, `n_features`; OpenML class counts from the
catalogue), split 64/16/20 % (classification) or 70/15/15 % (regression) as the default protocol
does, without loading it, so the estimate needs no data. `train_size` and `row_limit` cut as in a run.

Tokens per row: `PROMPT_BASE_TOKENS` plus `TOKENS_PER_FEATURE[serializer]` per feature, then the
completion. The constants were counted on the LIFT prompts of iris (4 features: 41 prompt tokens),
wine (13: 120) and breast-cancer-wisconsin (30: 282) with the bundled SmolLM2 tokenizer (`make bench`
prints them), which writes every digit as its own token, as Qwen2.5 and Llama 3 do; GPT-J's BPE
joins digit pairs, so for GPT-J the estimate errs high.

Work per LM run: training tokens = epochs x training rows x tokens per row (two-stage adds its
pretext passes); prediction = the validation rows after every epoch (best-epoch selection), the
test rows and the evaluation-set rows. Class scoring feeds each prompt once and then each class's
completion; generation costs `GENERATED_TOKEN_COST` prompt tokens per generated token (decoding is
memory-bound). In-context runs feed k demonstrations with every query. Each run adds
`Throughput.seconds_per_run` for loading the model and starting the trainer.

Baselines are CPU work and are counted apart (`cpu_runs`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmark.core.methods import MethodEntry, method_entries
from benchmark.core.rows import evaluation_set_of, load_run_task, task_params_for
from benchmark.core.runspec import RunSpec
from tasks.openml_tasks import CATALOGUE
from tasks.registry import get_spec
from tasks.splits import PAPER_TEST_FRACTION, PAPER_VAL_FRACTION, REGRESSION_FRACTIONS, make_split

PROMPT_BASE_TOKENS = 13  # "When we have ", " What is this type? ###" and the tokenizer's prefix
TOKENS_PER_FEATURE: Mapping[str, float] = {
    "lift": 8.5,  # "x12=0.52, ": name, digits one by one, punctuation
    "lift-names": 9.5,
    "template": 12.0,  # the paper's sentences around each value
    "text": 10.0,
    "list": 8.0,
    "json": 10.0,
    "lift-image": 2.0,  # "0 " for most pixels of a digit image
}
DEFAULT_TOKENS_PER_FEATURE = 10.0
COMPLETION_TOKENS = {"classification": 4, "regression": 8}  # " 2@@@", " -3.142@@@"
GENERATED_TOKEN_COST = 30  # prompt tokens one decoding step costs, batch of 16 on one GPU
TWO_STAGE_PASSES = 4  # pretext task 1, 2, 1, 2 (benchmark.lift.two_stage)


@dataclass(frozen=True)
class Throughput:
    """The stated speed of one GPU on one LM run: what every estimate divides by.

    The defaults assume one 80 GB GPU (A100 or H100) in bf16 fine-tuning a 6-8B model with LoRA.
    LoRA training costs about 4 N FLOPs per token (forward, and backward through the activations
    only; N = 6.05e9 for GPT-J-6B), so 3,000 tokens/s is 73 TFLOP/s: about 23 % of an A100's
    312 bf16 TFLOP/s (7 % of an H100's 989), which short, padded LIFT batches seldom beat. A forward
    pass costs 2 N per token: 12,000 tokens/s is 145 TFLOP/s. Loading 12 GB of weights and starting
    the trainer: 90 s per run.
    """

    train_tokens_per_s: float = 3_000.0
    forward_tokens_per_s: float = 12_000.0
    seconds_per_run: float = 90.0
    device: str = "one 80 GB GPU (A100/H100), bf16, a 6-8B model with LoRA"


@dataclass
class SuiteCost:
    """The estimate of a list of runs."""

    runs: int = 0
    lm_runs: int = 0
    cpu_runs: int = 0
    train_tokens: float = 0.0
    forward_tokens: float = 0.0
    gpu_seconds: float = 0.0
    by_model: dict[str, float] = field(default_factory=dict)  # GPU-hours per LM

    @property
    def gpu_hours(self) -> float:
        return self.gpu_seconds / 3600.0

    def summary(self, throughput: Throughput) -> str:
        models = ", ".join(f"{model} {hours:,.1f}" for model, hours in sorted(self.by_model.items()))
        return (
            f"estimated {self.gpu_hours:,.1f} GPU-hours for {self.lm_runs} LM runs"
            + (f" ({models})" if models else "")
            + f", from {token_count(self.train_tokens)} trained and {token_count(self.forward_tokens)} predicted"
            f" tokens at {throughput.train_tokens_per_s:,.0f} / {throughput.forward_tokens_per_s:,.0f} tokens/s"
            f" on {throughput.device}, {throughput.seconds_per_run:.0f}s per run to start;"
            f" {self.cpu_runs} baseline runs on CPUs"
        )


def token_count(tokens: float) -> str:
    """`1.23G`, `45.6M`, `7.8k` or `12`: a count of tokens at the unit that keeps it readable."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if tokens >= size:
            return f"{tokens / size:,.{2 if tokens < 10 * size else 1}f}{unit}"
    return f"{tokens:,.0f}"


@dataclass(frozen=True)
class RunShape:
    """A run's rows, counted without loading its data where the task is not generated (`run_shape`)."""

    kind: str
    n_train: int
    n_val: int
    n_test: int
    n_features: int
    n_classes: int
    n_eval: int


def estimate_cost(runs: Sequence[RunSpec], throughput: Throughput | None = None) -> SuiteCost:
    """The GPU cost of `runs` (see the module docstring for every assumption)."""
    throughput = throughput or Throughput()
    entries = method_entries()
    cost = SuiteCost(runs=len(runs))
    shapes: dict[tuple[str, ...], RunShape] = {}
    for spec in runs:
        entry = entries[spec.method]
        if "model" not in entry.defaults:
            cost.cpu_runs += 1
            continue
        key = (spec.task, spec.task_params.short(), str(spec.split_seed), str(spec.train_size))
        key += (str(spec.row_limit), ",".join(e.short() for e in spec.evaluations))
        if key not in shapes:
            shapes[key] = run_shape(spec)
        train, forward = _tokens(spec, entry, shapes[key])
        seconds = (
            train / throughput.train_tokens_per_s
            + forward / throughput.forward_tokens_per_s
            + throughput.seconds_per_run
        )
        model = str(spec.model or _params(spec, entry)["model"])
        cost.lm_runs += 1
        cost.train_tokens += train
        cost.forward_tokens += forward
        cost.gpu_seconds += seconds
        cost.by_model[model] = cost.by_model.get(model, 0.0) + seconds / 3600.0
    return cost


def _params(spec: RunSpec, entry: MethodEntry) -> dict[str, Any]:
    params = {**entry.defaults, **spec.method_params.to_json()}
    if spec.serializer:
        params["serializer"] = spec.serializer
    return params


def constant_tokens(serializer: object, n_features: int, kind: str) -> tuple[float, int]:
    """(prompt tokens, completion tokens) of a row by the stated constants (module docstring)."""
    per_feature = TOKENS_PER_FEATURE.get(str(serializer), DEFAULT_TOKENS_PER_FEATURE)
    return PROMPT_BASE_TOKENS + per_feature * n_features, COMPLETION_TOKENS[kind]


def _tokens(spec: RunSpec, entry: MethodEntry, shape: RunShape) -> tuple[float, float]:
    """(trained tokens, forward tokens) of one LM run."""
    params = _params(spec, entry)
    prompt, completion = constant_tokens(params.get("serializer"), shape.n_features, shape.kind)
    row = prompt + completion
    predict = params.get("predict") or ("score" if shape.kind == "classification" else "generate")
    answer = 0.0
    if predict in ("score", "both"):
        answer += shape.n_classes * completion
    if predict in ("generate", "both"):
        answer += completion * GENERATED_TOKEN_COST * int(params.get("num_samples", 1))
    if "epochs" not in params:  # in context: k demonstrations before every query, no training
        demonstrations = int(params.get("k", 0)) * row
        return 0.0, (shape.n_val + shape.n_test + shape.n_eval) * (prompt + demonstrations + answer)
    epochs = int(params["epochs"]) if params.get("finetune") != "none" else 0
    two_stage = params.get("two_stage", "none")
    pretext = 0.0
    if two_stage in ("ift", "bl"):
        pretext = TWO_STAGE_PASSES * int(params["pretext_epochs"]) * int(params["pretext_rows"]) * row
    if two_stage == "bl":
        epochs = 0
    train = epochs * shape.n_train * row + pretext
    predicted = max(epochs, 1) * shape.n_val + shape.n_test + shape.n_eval
    return train, predicted * (prompt + answer)


def run_shape(spec: RunSpec) -> RunShape:
    """The rows of a run: generated and split for a synthetic task, else its published size split as
    the default protocol splits it (module docstring)."""
    task = get_spec(spec.task)
    if task.source == "synthetic":
        data = load_run_task(spec.task, task_params_for(spec))
        split = make_split(data, seed=spec.split_seed, protocol=spec.split_protocol)
        n_train, n_val, n_test = (int(split.sizes()[part]) for part in ("train", "val", "test"))
        n_features, n_classes = data.n_features, len(data.classes or ())
        n_eval = sum(len(evaluation_set_of(e, spec.row_limit).rows(data, split).X) for e in spec.evaluations)
    else:
        n_rows = task.n_rows or 0
        if task.kind == "classification":
            n_test = _rows_in(PAPER_TEST_FRACTION, n_rows)
            n_val = _rows_in(PAPER_VAL_FRACTION, n_rows - n_test)
        else:
            n_val, n_test = (_rows_in(f, n_rows) for f in REGRESSION_FRACTIONS[1:])
        n_train = n_rows - n_val - n_test
        n_features = task.n_features or len(task.features or ())
        n_classes = task.n_classes or _catalogue_classes(spec.task)
        n_eval = 0
    if spec.train_size is not None:
        n_train = min(n_train, spec.train_size)
    if spec.row_limit is not None:
        n_train, n_val, n_test = (min(n, spec.row_limit) for n in (n_train, n_val, n_test))
    return RunShape(task.kind, n_train, n_val, n_test, n_features, n_classes, n_eval)


def _rows_in(fraction: float, n: int) -> int:
    """Rows in a fraction of n, rounded up as the split protocols round."""
    return min(n, math.ceil(round(fraction * n, 9)))


def _catalogue_classes(task: str) -> int:
    return next((entry.n_classes or 0 for entry in CATALOGUE if entry.name == task), 0)
