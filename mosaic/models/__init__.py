"""Model and tokenizer resolution (offline-first)."""
