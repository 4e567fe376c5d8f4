"""A machine's measured speed (what the probe writes and the cache keeps) and the cost models read from it.

Baselines: a method's fit is timed at three training shapes, (n1, d1), (n2, d1) and (n2, d2) rows x
features, so its seconds follow a power law in rows and one in features, each exponent read from a
pair of points (clamped to [0, 3]: a noisy reading of a millisecond fit must not extrapolate wildly).
Prediction costs a fixed call plus seconds per row, read from the test rows and a large batch.

LM methods: seconds to load the model and prepare it for fine-tuning, the trainer's own start, the
rate of trained tokens (forward, backward and optimizer step per real token), the rate of scored
tokens (the prompt and every class completion), and the seconds of one decoding step of a batch.

The harness: the seconds a run costs around its method (rows, metrics, provenance, the store write),
fixed plus per predicted row, and the start of a worker process (`--jobs` > 1). With N workers each
run's method goes slower by a measured factor (`probe_parallel`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_EXPONENT = 3.0


@dataclass(frozen=True)
class BaselineCost:
    """Fit seconds at three shapes and prediction seconds of one method on one task kind."""

    shapes: tuple[tuple[int, int], ...]  # (training rows, features) of the three fits
    fit_seconds: tuple[float, ...]
    predict_call_s: float  # one predict call on few rows
    predict_row_s: float  # each further row

    def exponents(self) -> tuple[float, float]:
        """(rows exponent, features exponent) of the power law through the three points."""
        (n1, d1), (n2, _), (_, d2) = self.shapes
        t1, t2, t3 = (max(t, 1e-6) for t in self.fit_seconds)
        rows = math.log(t2 / t1) / math.log(n2 / n1)
        features = math.log(t3 / t2) / math.log(d2 / d1)
        return (min(max(rows, 0.0), MAX_EXPONENT), min(max(features, 0.0), MAX_EXPONENT))

    def fit_s(self, rows: int, features: int) -> float:
        (_, d1), (n2, _), _ = self.shapes
        p_rows, p_features = self.exponents()
        return self.fit_seconds[1] * (max(rows, 1) / n2) ** p_rows * (max(features, 1) / d1) ** p_features

    def predict_s(self, rows: int) -> float:
        return self.predict_call_s + self.predict_row_s * rows

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BaselineCost:
        return cls(
            shapes=tuple((int(n), int(d)) for n, d in data["shapes"]),
            fit_seconds=tuple(float(t) for t in data["fit_seconds"]),
            predict_call_s=float(data["predict_call_s"]),
            predict_row_s=float(data["predict_row_s"]),
        )


@dataclass(frozen=True)
class LMRates:
    """One model's measured speeds in one fine-tuning mode."""

    load_s: float  # load the weights and prepare them for fine-tuning
    trainer_start_s: float  # the Lightning trainer around the training batches
    train_tokens_per_s: float  # real tokens of training rows per second
    score_tokens_per_s: float  # prompt plus class-completion tokens scored per second
    decode_step_s: float  # one generated token for a whole prediction batch of `eval_batch_size` rows
    eval_batch_size: int  # the prediction batch the decode step was timed at
    decode_row_s: float  # what one more row adds to a decoding step (timed at a smaller batch too)

    def decode_s(self, batch: int) -> float:
        """One decoding step of a batch of `batch` rows: the step's weights pass, which every batch pays
        whatever its size, plus each row's share (`decode_row_s`), from the two batches timed."""
        fixed = max(self.decode_step_s - self.eval_batch_size * self.decode_row_s, 0.0)
        return fixed + batch * self.decode_row_s

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LMRates:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__})


@dataclass(frozen=True)
class HarnessCost:
    """What a run costs beyond its method, and the start of a worker process."""

    run_s: float  # rows, metrics, provenance and the store write of a run predicting few rows
    row_s: float  # each further predicted row (built, scored and stored)
    worker_start_s: float  # a fresh `--jobs` worker importing the runner and the methods

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HarnessCost:
        return cls(**{key: float(data[key]) for key in cls.__dataclass_fields__})


@dataclass
class MachineProfile:
    """Everything the probe measured on one machine; entries are added as suites need them."""

    key: dict[str, Any]
    harness: HarnessCost | None = None
    baselines: dict[str, BaselineCost] = field(default_factory=dict)  # "kind/method"
    models: dict[str, LMRates] = field(default_factory=dict)  # "model/finetune[/precision]"
    parallel: dict[str, float] = field(default_factory=dict)  # `parallel_key(jobs)` -> a run's slowdown
    probed_at: dict[str, str] = field(default_factory=dict)  # entry -> ISO time it was measured
    probe_seconds: float = 0.0  # all probing that built this profile
    # entry -> the share of the machine's CPUs other processes used while it was measured (`OtherLoad`)
    other_load: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "harness": None if self.harness is None else asdict(self.harness),
            "baselines": {name: asdict(cost) for name, cost in self.baselines.items()},
            "models": {name: asdict(rates) for name, rates in self.models.items()},
            "parallel": self.parallel,
            "probed_at": self.probed_at,
            "probe_seconds": self.probe_seconds,
            "other_load": self.other_load,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MachineProfile:
        harness = data.get("harness")
        return cls(
            key=dict(data["key"]),
            harness=None if harness is None else HarnessCost.from_json(harness),
            baselines={name: BaselineCost.from_json(v) for name, v in data["baselines"].items()},
            models={name: LMRates.from_json(v) for name, v in data["models"].items()},
            parallel={name: float(v) for name, v in data["parallel"].items()},
            probed_at=dict(data["probed_at"]),
            probe_seconds=float(data["probe_seconds"]),
            other_load={name: float(v) for name, v in data.get("other_load", {}).items()},
        )


def baseline_key(kind: str, method: str) -> str:
    return f"{kind}/{method}"


def model_key(model: str, finetune: str, precision: str | None) -> str:
    """An LM's entry: the model, how it fine-tunes, and the precision asked for (None: the default)."""
    return f"{model}/{finetune}" + ("" if precision is None else f"/{precision}")


def parallel_key(jobs: int) -> str:
    return f"parallel/{jobs} jobs"
