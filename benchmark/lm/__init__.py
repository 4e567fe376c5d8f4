"""Language models; `benchmark.lm.bundled` finds and materialises the bundled SmolLM2-135M-Instruct."""
