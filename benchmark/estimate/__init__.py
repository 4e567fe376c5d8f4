"""What a suite will take on this machine, estimated before it runs (`liftbench run --dry-run`).

`probe` measures this machine once (baseline fits at a few sizes, an LM's load, training and
prediction rates) and caches the result (`cache`); `workload` counts what each run does (rows, prompt
tokens); `wall_time` turns both into seconds per run, per suite block and in total, simulating the
runner's schedule over `--jobs` workers. It sits above the harness, which never imports a method.
"""
