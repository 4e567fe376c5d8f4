"""LIFT, the method family: fine-tune a causal LM on table rows written as text.

`serialization` writes rows as prompts and parses answers back, `lm` loads and runs language models,
`params` declares and checks the methods' parameters, `data` tokenizes training rows into
length-grouped batches, `module` is the Lightning training (completion-only loss, LoRA or full
fine-tuning, AdamW with warmup), `selection` keeps the best epoch on validation predictions, `method`
is `LiftMethod` (the method `lift`), `two_stage` and `pretext` add the paper's two-stage fine-tuning,
and `icl` is the method `lift-icl` (in-context learning, the paper's LIICL). `catalogue` registers
the two methods; the harness finds it through the `liftbench.methods` entry points.
"""
