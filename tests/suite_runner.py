"""`liftbench` with one more method, `test-sleepy`, for tests of runners that share a store.

    python tests/suite_runner.py run --suite SUITE.yaml --store STORE ...

`test-sleepy` (classification) sleeps `seconds` in fit, so a test can kill a runner mid-run, and
appends one line per fit to the file named by LIFTBENCH_TEST_FIT_LOG: the fitted data's checksum,
the seed and the pid that fitted it. It predicts class 0. Spawned `--jobs` workers import this file
again as their main module, so they know the method too.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from benchmark.cli import main
from benchmark.core.methods import FitData, FitInfo, MethodEntry, Predictions, register_method

FIT_LOG = "LIFTBENCH_TEST_FIT_LOG"


class _Sleepy:
    name = "test-sleepy"

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)

    def fit(self, data: FitData) -> FitInfo:
        time.sleep(self.seconds)
        with open(os.environ[FIT_LOG], "a") as log:
            log.write(f"{data.task.checksum} {data.seed} {os.getpid()}\n")
        return FitInfo()

    def predict(self, X) -> Predictions:  # noqa: ANN001
        return Predictions(y_pred=np.zeros(len(X), dtype=int))


register_method(
    MethodEntry(
        "test-sleepy",
        lambda seconds, **_: _Sleepy(seconds),
        ("classification",),
        defaults={"seconds": 0.3},
    )
)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
