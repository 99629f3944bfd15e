"""Training: tokenization with loss masks, batching regimes (collators), and (next) the training recipe."""
