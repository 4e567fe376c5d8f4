"""LIFT: fine-tune a causal LM on table rows written as text, registered as the method `lift`.

`data` serializes and tokenizes the training rows into length-grouped batches, `module` is the
Lightning training (completion-only loss, LoRA or full fine-tuning, AdamW with warmup), `selection`
keeps the best epoch on validation predictions, and `method` is `LiftMethod` behind the Method
protocol. `two_stage` and `pretext` add the paper's two-stage fine-tuning to `lift` (its parameter
`two_stage`), and `icl` is the method `lift-icl`: in-context learning with no fine-tuning (the paper's
LIICL). Importing this package stays light: torch, transformers, peft and Lightning are imported when
a method first fits.
"""

from benchmark.core.methods import MethodEntry, register_method
from benchmark.lift.icl import ICL_DEFAULTS, IclParams, LiftIclMethod
from benchmark.lift.method import LIFT_DEFAULTS, LiftMethod, LiftParams
from tasks.spec import KINDS

register_method(
    MethodEntry(
        name="lift",
        factory=LiftMethod,
        kinds=KINDS,
        requires=("torch", "transformers", "peft", "pytorch_lightning"),
        defaults=LIFT_DEFAULTS,
        description="LIFT: fine-tune a causal LM (LoRA by default) on rows written as text",
    )
)
register_method(
    MethodEntry(
        name="lift-icl",
        factory=LiftIclMethod,
        kinds=KINDS,
        requires=("torch", "transformers"),
        defaults=ICL_DEFAULTS,
        description="LIFT in context: k training rows per query as demonstrations, no fine-tuning",
    )
)

__all__ = ["ICL_DEFAULTS", "LIFT_DEFAULTS", "IclParams", "LiftIclMethod", "LiftMethod", "LiftParams"]
