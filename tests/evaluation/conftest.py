"""A tiny random Llama checkpoint with the SmolLM2 tokenizer, saved once per session (the "smoke model")."""
from pathlib import Path

import pytest
import yaml

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.fixture(scope="session")
def shipped_judges() -> dict:
    """conf/judge/<kind>.yaml: the one source of every judge default."""
    return {k: yaml.safe_load((CONF / "judge" / f"{k}.yaml").read_text()) for k in ("local", "openai")}


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tokenizer):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    path = tmp_path_factory.mktemp("tiny") / "checkpoint"
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         max_position_embeddings=2048))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def scripted_judge():
    """A deterministic judge endpoint (OpenAI chat-completions shape) on 127.0.0.1, so aggregation can be
    pinned exactly: AlpacaEval-style prompts -> the answer containing "[ref]" wins; MT-Bench single
    grading -> [[7]] for a first turn, [[4]] for a second; pairwise grading -> "3 8" (Assistant 2 wins)."""
    import json
    import re
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = "\n".join(m["content"] for m in body["messages"])
            if "Answer A:" in text:
                a = re.search(r"Answer A:\n(.*?)\n\nAnswer B:", text, re.S).group(1)
                reply = "[[A]]" if "[ref]" in a else "[[B]]"
            elif "[Reply of Assistant 1]" in text:
                reply = "3 8\nAssistant 2 is clearer."
            elif "second question" in text:
                reply = "Fine. [[4]]"
            else:
                reply = "Good. [[7]]"
            out = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                                           "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
