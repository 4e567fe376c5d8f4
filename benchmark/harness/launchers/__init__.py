"""Launchers: where a suite's independent runs execute.

The local launcher (this process, or a pool of worker processes) lives in `benchmark.harness.runner`;
`ray_launcher` fans the runs out over a Ray cluster. Every launcher hands each finished run back to
the driver, which alone writes the store and the W&B mirror.
"""

from benchmark.harness.launchers.ray_launcher import run_with_ray

__all__ = ["run_with_ray"]
