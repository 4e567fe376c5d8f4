"""How much of this machine other processes used while a probe measured it (the dry-run's machine
probe, and `precision: auto`'s).

A probe taken while something else runs measures every rate low (on a 2-core machine, one busy
process beside the probe halves what it sees), and the cached profile then makes every later estimate
long: a parallel slowdown of 1.79 was probed beside another job, where LM runs side by side went as
fast as alone. The probe cannot tell a slow machine from a busy one by its own timings, but the
operating system can: the CPU time all processes used (`psutil.cpu_times`, hypervisor steal included)
minus this process's and its finished children's (the probe's spawned workers) is what others took.
The share of the machine's CPU capacity over the measurement is kept beside each profile entry and
the dry-run says when it was high.
"""

from __future__ import annotations

import time

import psutil

BUSY_FIELDS = ("user", "nice", "system", "irq", "softirq", "steal")
WARN_SHARE = 0.25  # other processes took at least a quarter of the CPUs: the entry's rates are low
MIN_WINDOW_S = 0.2  # shorter than this, the CPU counters' 10 ms ticks say nothing: no share (0)


def _cpu_seconds() -> tuple[float, float]:
    """All processes' busy CPU seconds since boot, and this process's and its reaped children's."""
    machine = psutil.cpu_times()
    own = psutil.Process().cpu_times()
    busy = sum(getattr(machine, name, 0.0) for name in BUSY_FIELDS)
    return busy, own.user + own.system + own.children_user + own.children_system


class OtherLoad:
    """Started on creation; `share()` is the fraction of the machine's CPU capacity that processes
    other than this one (and its children that have exited) used since."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._busy, self._own = _cpu_seconds()

    def share(self) -> float:
        return self.shares()[0]

    def shares(self) -> tuple[float, float]:
        """Other processes' share of the CPU capacity since the start, and this process's own."""
        busy, own = _cpu_seconds()
        elapsed = time.perf_counter() - self._wall
        if elapsed < MIN_WINDOW_S:
            return 0.0, 0.0
        capacity = elapsed * (psutil.cpu_count() or 1)
        mine = own - self._own
        others = (busy - self._busy) - mine
        return min(1.0, max(0.0, others / capacity)), mine / capacity
