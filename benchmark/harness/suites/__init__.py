"""Suites: YAML files that expand into `RunSpec`s, declarative grids in the spirit of HELM's run expanders.

The shipped suites are the `<name>.yaml` files in this package (`suite_names()` lists them);
`load_suite` also reads any suite file by path. The file format is described in `suite_file`.
"""

from benchmark.harness.suites.run_filter import FILTER_FIELDS, filter_runs
from benchmark.harness.suites.suite_file import Block, Suite, load_suite, suite_names, validate_names

__all__ = ["FILTER_FIELDS", "Block", "Suite", "filter_runs", "load_suite", "suite_names", "validate_names"]
