"""Prompt templates of the training format: how one (instruction, output) pair becomes token ids.

The same function is used to measure the token budget during augmentation and to tokenize for
training, so "fits the budget" means "fits the training sequence". A template renders a
prompt (loss-masked) and a response (trained); they are tokenized separately and concatenated,
which keeps the prompt/response boundary exact.
"""
from __future__ import annotations

from dataclasses import dataclass

# FastChat's "vicuna_v1.1" conversation template (system prompt, "USER"/"ASSISTANT" roles,
# separators " " and "</s>"), which the paper trained with (README: "prompt and code base from FastChat").
VICUNA_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
                 "The assistant gives helpful, detailed, and polite answers to the user's questions.")


@dataclass(frozen=True)
class PromptTemplate:
    name: str

    def render(self, tok, instruction: str, output: str) -> tuple[str, str]:
        """(prompt text, response text) for one single-turn example."""
        if self.name == "vicuna_v1.1":
            return f"{VICUNA_SYSTEM} USER: {instruction} ASSISTANT:", f" {output}{tok.eos_token or ''}"
        if self.name == "raw":
            return instruction, output
        if self.name == "chat_template":
            user = [{"role": "user", "content": instruction}]
            prompt = tok.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
            full = tok.apply_chat_template(user + [{"role": "assistant", "content": output}], tokenize=False)
            if not full.startswith(prompt):
                raise ValueError(f"the chat template of {tok.name_or_path!r} does not extend the generation "
                                 "prompt with the answer; use template 'vicuna_v1.1'")
            return prompt, full[len(prompt):]
        raise ValueError(f"unknown prompt template {self.name!r}; known: {TEMPLATES}")

    def render_chat(self, tok, messages: list[dict], add_generation_prompt: bool = True) -> str:
        """A conversation ({role, content} dicts) as text; with ``add_generation_prompt`` the prompt of the
        next assistant turn.

        Consistent with ``render`` (what training saw): a one-user-message chat renders exactly its prompt,
        and every earlier assistant turn ends with the same end-of-turn text training appended.
        ``vicuna_v1.1`` follows FastChat's separators (" " after a user turn, EOS after an assistant turn;
        an optional leading system message replaces the default system prompt); ``raw`` joins the
        contents with blank lines; ``chat_template`` is the tokenizer's own template.
        """
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") \
                    or not isinstance(m.get("content"), str):
                raise ValueError(f"message {i}: expected {{'role': 'system'|'user'|'assistant', 'content': str}}, "
                                 f"got {m!r:.200}")
        if self.name == "chat_template":
            return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
        if self.name not in TEMPLATES:
            raise ValueError(f"unknown prompt template {self.name!r}; known: {TEMPLATES}")
        system = messages[0]["content"] if messages and messages[0]["role"] == "system" else None
        turns = messages[1:] if system is not None else list(messages)
        for i, m in enumerate(turns):
            if m["role"] != ("user", "assistant")[i % 2]:
                raise ValueError(f"message {i + (system is not None)}: expected role "
                                 f"{('user', 'assistant')[i % 2]!r}, got {m['role']!r} (template {self.name!r} needs "
                                 "an optional leading system message, then alternating user/assistant turns)")
        if add_generation_prompt and (not turns or turns[-1]["role"] != "user"):
            raise ValueError("the last message must be a user turn to prompt the next assistant reply")
        if self.name == "raw":
            return "\n\n".join(m["content"] for m in ([messages[0]] if system is not None else []) + turns)
        text = (VICUNA_SYSTEM if system is None else system) + " "
        for m in turns:
            text += (f"USER: {m['content']} " if m["role"] == "user"
                     else f"ASSISTANT: {m['content']}{tok.eos_token or ''}")
        return text + "ASSISTANT:" if add_generation_prompt else text.rstrip(" ")

    @property
    def prompt_special_tokens(self) -> bool:
        """Let the tokenizer add BOS to the prompt unless the rendered text already carries its specials."""
        return self.name != "chat_template"

    def encode(self, tok, instruction: str, output: str) -> tuple[list[int], list[int]]:
        prompt, response = self.render(tok, instruction, output)
        p = tok(prompt, add_special_tokens=self.prompt_special_tokens)["input_ids"]
        r = tok(response, add_special_tokens=False)["input_ids"]
        return p, r

    def count(self, tok, instruction: str, output: str) -> int:
        p, r = self.encode(tok, instruction, output)
        return len(p) + len(r)


TEMPLATES = ("vicuna_v1.1", "chat_template", "raw")


def get_template(name: str) -> PromptTemplate:
    if name not in TEMPLATES:
        raise ValueError(f"unknown prompt template {name!r}; known: {TEMPLATES}")
    return PromptTemplate(name)
