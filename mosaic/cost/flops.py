"""FLOPs of a decoder-only transformer, from its shape.

Counting convention (Kaplan et al. 2020, "Scaling Laws", Table 1; one multiply-add = 2 FLOPs):
* forward matmuls: 2 FLOPs per weight per token, for every projection and MLP weight and the LM head
  (embedding lookups, norms and activations are ignored);
* forward attention: per layer, ``Q K^T`` and ``A V`` each cost ``2 * L_q * L_k * (heads * head_dim)``;
  with causal masking the useful part is the lower triangle, ``L (L + 1) / 2`` query-key pairs;
* training = forward + backward = 3 x forward.
``executed`` FLOPs count what a dense kernel computes (padding and the full L x L score matrix);
``useful`` FLOPs count real tokens with their own causal context only.
"""
from __future__ import annotations

from dataclasses import dataclass

TRAIN_MULTIPLIER = 3  # backward costs twice the forward pass


@dataclass(frozen=True)
class ModelShape:
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    d_ff: int
    vocab: int
    head_dim: int | None = None
    tied_embeddings: bool = True
    gated_mlp: bool = True

    @classmethod
    def from_config(cls, cfg) -> "ModelShape":
        """From a Transformers config object or dict (Llama-style field names)."""
        get = (lambda k, d=None: cfg.get(k, d)) if isinstance(cfg, dict) else (lambda k, d=None: getattr(cfg, k, d))
        required = ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size", "vocab_size")
        missing = [k for k in required if get(k) is None]
        if missing:
            raise ValueError(f"model config lacks {missing}; cannot compute FLOPs")
        heads = get("num_attention_heads")
        return cls(n_layers=get("num_hidden_layers"), d_model=get("hidden_size"), n_heads=heads,
                   n_kv_heads=get("num_key_value_heads") or heads, d_ff=get("intermediate_size"),
                   vocab=get("vocab_size"), head_dim=get("head_dim"),
                   tied_embeddings=bool(get("tie_word_embeddings", False)))

    @property
    def dh(self) -> int:
        return self.head_dim or self.d_model // self.n_heads

    @property
    def layer_matmul_params(self) -> int:
        attn = self.d_model * self.dh * (2 * self.n_heads + 2 * self.n_kv_heads)  # q, o and k, v
        mlp = (3 if self.gated_mlp else 2) * self.d_model * self.d_ff
        return attn + mlp

    @property
    def matmul_params(self) -> int:
        """Weights used in a matmul for every token, the LM head included."""
        return self.n_layers * self.layer_matmul_params + self.d_model * self.vocab

    @property
    def total_params(self) -> int:
        norms = (2 * self.n_layers + 1) * self.d_model
        embeddings = self.vocab * self.d_model * (1 if self.tied_embeddings else 2)
        return self.n_layers * self.layer_matmul_params + norms + embeddings

    def forward_matmul_flops(self, tokens: int) -> int:
        return 2 * self.matmul_params * tokens

    def attention_flops(self, length: int, causal: bool) -> int:
        """Forward score and value FLOPs of one sequence of ``length`` tokens, all layers."""
        return self.attention_flops_for_pairs(length * (length + 1) // 2 if causal else length * length)

    def attention_flops_for_pairs(self, pairs: int) -> int:
        """Forward attention FLOPs for ``pairs`` query-key pairs, all layers."""
        return self.n_layers * 2 * 2 * pairs * self.n_heads * self.dh

    def train_flops(self, tokens: int, attention_pairs_flops: int) -> int:
        return TRAIN_MULTIPLIER * (self.forward_matmul_flops(tokens) + attention_pairs_flops)
