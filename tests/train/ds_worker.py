"""Started by torchrun from test_distributed.py: trains the tiny model under ZeRO and prints the loss curve."""
import json
import os
import sys
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from mosaic.data.sources import resolve_examples
from mosaic.data.templates import get_template
from mosaic.models.tokenizer import load_tokenizer
from mosaic.train.distributed import train_deepspeed
from mosaic.train.features import encode
from mosaic.train.config import TrainConfig

MODEL = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
CFG = dict(batch_size=2, grad_accum=2, lr=1e-2, warmup_ratio=0.0, epochs=1)


def setup(n: int = 16):
    tok = load_tokenizer("smollm2")
    tpl = get_template("vicuna_v1.1")
    examples = [encode(tok, tpl, e.prompt, e.output) for e in list(resolve_examples("bundled"))[:n]]
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), max_position_embeddings=2048, **MODEL))
    return tok, examples, model


def stop_after(n):
    def on_step(record):
        if n is not None and record["step"] == n:
            import os
            sys.stdout.flush()
            os._exit(3)  # a killed run: both ranks stop after step n, with no clean-up
    return on_step


if __name__ == "__main__":
    # ds_worker.py STAGE [CHECKPOINT_DIR [STOP_AFTER_STEP]]
    stage = int(sys.argv[1])
    ckpt = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    stop = int(sys.argv[3]) if len(sys.argv) > 3 else None
    tok, examples, model = setup(32 if ckpt else 16)
    cfg = TrainConfig(**CFG, save_every=2 if ckpt else None)
    if stage == 3 and os.environ.get("DS_TEST_MODEL_DIR"):
        # as mosaic.train.worker does: the saved initial model loaded partitioned, under zero.Init
        from mosaic.models.build import build_model, holds_full_parameters
        from mosaic.train.distributed import deepspeed_config, init_distributed

        init_distributed(cfg.device)
        model = build_model({"source": "hub", "id": os.environ["DS_TEST_MODEL_DIR"]}, len(tok),
                            zero3=deepspeed_config(cfg, 3, torch.distributed.get_world_size(), cfg.grad_accum))
        print(f"RANK {torch.distributed.get_rank()} FULL_PARAMETERS {holds_full_parameters(model)}", flush=True)
    state, _ = train_deepspeed(model, examples, cfg, tok.pad_token_id, stage=stage, checkpoint=ckpt,
                               on_step=stop_after(stop))
    if torch.distributed.get_rank() == 0:
        print("LOSSES " + json.dumps([h["loss"] for h in state.history]))
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
    from mosaic.train.worker import finish
    finish()
