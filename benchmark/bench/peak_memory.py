"""Run one `liftbench` command and write this process's own peak resident memory to a JSON file.

    python -m benchmark.bench.peak_memory OUT.json run --suite default --filter ...

One process per command, so each method's peak (`benchmark.harness.provenance.peak_rss_mb`, VmHWM) is its
own and not that of the runs before it in the same process.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmark.cli import main as liftbench_main
from benchmark.harness.provenance import peak_rss_mb


def main(argv: list[str]) -> int:
    out, command = Path(argv[0]), argv[1:]
    code = liftbench_main(command)
    out.write_text(json.dumps({"exit_code": code, "peak_rss_mb": peak_rss_mb()}))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
