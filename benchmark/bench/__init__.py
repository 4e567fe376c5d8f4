"""liftbench's performance bench: `python -m benchmark.bench` (`make bench`).

It measures, in one run on this machine: the fp32 matmul peak (the denominator of MFU); LIFT training
throughput and MFU against the same training written plainly (`training`); class scoring and greedy
generation against a prompt-forward floor at each batch size LIFT predicts in by default and in the
default suite (`prediction`); tokens per row of every serializer (`prompt_tokens`); and fit / predict
seconds and peak memory per method of the default suite (`suite_cost`). `sections` holds the sizes
and the order, `report` the files and tables.
"""
