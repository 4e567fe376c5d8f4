"""The FLOPs a causal LM executes on a batch: forward, and training steps in full or LoRA fine-tuning.

Counted are the products that run, at the width they run (padded rows included; embeddings are a
lookup and count nothing):

* every linear map but the head: 2 x in x out per token of the batch (rows x padded width);
* the LM head (hidden x vocab): 2 x hidden x vocab per position where it is computed: every position
  for a plain loss, the answer positions when the loss gathers them, the last one in prediction;
* attention: the score (Q K^T) and value (P V) products, 2 x 2 x width^2 x (heads x head dim) per row
  and layer, over the full width^2 the kernels compute;
* training: each product again for the gradient of its input where that input requires a gradient,
  and again for the gradient of its weight where the weight trains; attention's backward is twice
  its forward. So full fine-tuning costs 3x the forward; LoRA costs the forward, the activation
  gradients of the frozen base (not in the first layer's projections, which read the frozen
  embeddings), and the adapters' own forward and weight gradients (2 r (in + out) per token each).

Which inputs and weights need gradients is not assumed but read off one forward pass over two
tokens (`ModelShape.of`), so LoRA on any modules, full fine-tuning and frozen models count alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LinearMap:
    """One linear map as a forward pass runs it: its sizes and what its backward computes."""

    inner: int
    outer: int
    input_grad: bool  # its input requires a gradient: backward computes that gradient (2 x in x out)
    weight_grad: bool  # its weight trains: backward computes the weight's gradient (2 x in x out)


@dataclass(frozen=True)
class ModelShape:
    """What a transformer's FLOPs depend on: its linear maps (the head apart), its attention, its head."""

    linears: tuple[LinearMap, ...]
    head: LinearMap
    layers: int
    attention_width: int  # heads x head dimension: the width of Q, K and V per position

    @classmethod
    def of(cls, model: torch.nn.Module) -> ModelShape:
        """Read the shape off `model` (a Hugging Face causal LM, or one wrapped by peft) with one forward
        pass over two tokens, hooking every linear map (LoRA's adapters are linear maps too)."""
        head_module = model.get_output_embeddings()
        seen: list[tuple[torch.nn.Module, LinearMap]] = []

        def record(module: torch.nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            inner, outer = _sizes(module)
            seen.append((module, LinearMap(inner, outer, args[0].requires_grad, module.weight.requires_grad)))

        handles = [
            module.register_forward_hook(record)
            for module in model.modules()
            if isinstance(module, torch.nn.Linear) or type(module).__name__ == "Conv1D"
        ]
        try:
            with torch.enable_grad():
                model(input_ids=torch.zeros((1, 2), dtype=torch.long), use_cache=False)
        finally:
            for handle in handles:
                handle.remove()
        heads = [linear for module, linear in seen if module is head_module]
        if len(heads) != 1:
            raise ValueError(f"expected the LM head to run once in a forward pass, it ran {len(heads)} times")
        config = model.config
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        return cls(
            linears=tuple(linear for module, linear in seen if module is not head_module),
            head=heads[0],
            layers=config.num_hidden_layers,
            attention_width=config.num_attention_heads * head_dim,
        )

    @property
    def trains(self) -> bool:
        return any(m.weight_grad for m in (*self.linears, self.head))

    def linear_flops_per_token(self) -> int:
        """Forward FLOPs of the linear maps but the head, per token (the "non-embedding" 2N)."""
        return sum(2 * m.inner * m.outer for m in self.linears)

    def forward_flops(self, rows: int, width: int, head_positions: int) -> float:
        """One forward pass over `rows` rows padded to `width` tokens, the head at `head_positions`."""
        return float(
            rows * width * self.linear_flops_per_token()
            + 2 * head_positions * self.head.inner * self.head.outer
            + self._attention_forward(rows, width)
        )

    def training_flops(self, rows: int, width: int, head_positions: int) -> float:
        """One training step (forward and backward; the optimizer's elementwise work apart)."""
        tokens = rows * width
        total = sum(2 * tokens * m.inner * m.outer * _passes(m) for m in self.linears)
        total += 2 * head_positions * self.head.inner * self.head.outer * _passes(self.head)
        total += self._attention_forward(rows, width) * (3 if self.trains else 1)
        return float(total)

    def _attention_forward(self, rows: int, width: int) -> int:
        return 2 * 2 * rows * width * width * self.attention_width * self.layers


def _passes(linear: LinearMap) -> int:
    return 1 + linear.input_grad + linear.weight_grad


def _sizes(module: torch.nn.Module) -> tuple[int, int]:
    if isinstance(module, torch.nn.Linear):
        return module.in_features, module.out_features
    inner, outer = module.weight.shape  # GPT-2's Conv1D keeps its weight as (in, out)
    return int(inner), int(outer)
