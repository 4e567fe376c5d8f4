"""LIFT: fine-tune a causal LM on table rows written as text, registered as the method `lift`.

`data` serializes and tokenizes the training rows into length-grouped batches, `module` is the
Lightning training (completion-only loss, LoRA or full fine-tuning, AdamW with warmup), `selection`
keeps the best epoch on validation predictions, and `method` is `LiftMethod` behind the Method
protocol. Importing this package stays light: torch, transformers, peft and Lightning are imported when
a `lift` method first fits.
"""

from benchmark.lift.method import LIFT_DEFAULTS, LiftMethod, LiftParams
from benchmark.methods import MethodEntry, register_method
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

__all__ = ["LIFT_DEFAULTS", "LiftMethod", "LiftParams"]
