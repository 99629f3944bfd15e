import pytest

from mosaic.augment.budget import TokenCounter
from mosaic.data.templates import VICUNA_SYSTEM, get_template


def test_vicuna_format(tokenizer):
    prompt, response = get_template("vicuna_v1.1").render(tokenizer, "Hi?", "Hello.")
    assert prompt == f"{VICUNA_SYSTEM} USER: Hi? ASSISTANT:"
    assert response == f" Hello.{tokenizer.eos_token}"


def test_chat_template_splits_prompt_and_response(tokenizer):
    prompt, response = get_template("chat_template").render(tokenizer, "Hi?", "Hello.")
    assert prompt.endswith("<|im_start|>assistant\n") and "Hi?" in prompt
    assert response.startswith("Hello.<|im_end|>")


@pytest.mark.parametrize("name", ["vicuna_v1.1", "chat_template", "raw"])
def test_fast_exact_count_equals_tokenizer_call(tokenizer, name):
    tpl = get_template(name)
    counter = TokenCounter(tokenizer, tpl)
    for inst, out in [("Add 2 and 3.", "5"), ("Line one\n\nline two ", "  spaced\n\n## 2. x")]:
        assert counter.exact(inst, out) == tpl.count(tokenizer, inst, out)


def test_unknown_template():
    with pytest.raises(ValueError, match="unknown prompt template"):
        get_template("alpaca_v9")


# ---------------------------------------------------------------- multi-turn rendering (evaluation)

CHAT = [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "And 2+2?"}]


@pytest.mark.parametrize("name", ["vicuna_v1.1", "chat_template", "raw"])
def test_render_chat_of_one_message_is_the_training_prompt(tokenizer, name):
    tpl = get_template(name)
    prompt, _ = tpl.render(tokenizer, "Add 2 and 3.", "5")
    assert tpl.render_chat(tokenizer, [{"role": "user", "content": "Add 2 and 3."}]) == prompt


@pytest.mark.parametrize("name", ["vicuna_v1.1", "chat_template"])
def test_earlier_turns_end_like_training_answers(tokenizer, name):
    """Turn 1 of a two-turn chat is rendered exactly as training rendered (prompt + response)."""
    tpl = get_template(name)
    prompt, response = tpl.render(tokenizer, "Hi?", "Hello.")
    assert tpl.render_chat(tokenizer, CHAT).startswith(prompt + response.rstrip("\n"))


def test_vicuna_multi_turn_matches_fastchat():
    from types import SimpleNamespace

    from fastchat.conversation import get_conv_template

    tok = SimpleNamespace(eos_token="</s>")  # FastChat's vicuna_v1.1 sep2; ours is the tokenizer's EOS
    tpl = get_template("vicuna_v1.1")
    for system in (None, "Be brief."):
        conv = get_conv_template("vicuna_v1.1")
        if system is not None:
            conv.set_system_message(system)
        for m in CHAT:
            conv.append_message(conv.roles[m["role"] == "assistant"], m["content"])
        conv.append_message(conv.roles[1], None)
        messages = ([{"role": "system", "content": system}] if system else []) + CHAT
        assert tpl.render_chat(tok, messages) == conv.get_prompt()
        conv.messages[-1][1] = "Four."  # a finished conversation, no generation prompt
        assert tpl.render_chat(tok, messages + [{"role": "assistant", "content": "Four."}],
                               add_generation_prompt=False) == conv.get_prompt()


def test_chat_template_multi_turn_is_the_tokenizers_template(tokenizer):
    out = get_template("chat_template").render_chat(tokenizer, CHAT)
    assert out == tokenizer.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)
    assert out.count("<|im_start|>user") == 2 and out.endswith("<|im_start|>assistant\n")


def test_raw_joins_turns():
    assert get_template("raw").render_chat(None, CHAT) == "Hi?\n\nHello.\n\nAnd 2+2?"


@pytest.mark.parametrize("messages,match", [
    ([{"role": "assistant", "content": "x"}], "expected role 'user'"),
    ([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], "expected role 'assistant'"),
    ([{"role": "user", "content": "a"}, {"role": "system", "content": "b"}], "expected role 'assistant'"),
    ([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], "last message must be a user"),
    ([{"role": "robot", "content": "a"}], "message 0"),
    ([{"role": "user", "content": None}], "message 0"),
])
def test_render_chat_rejects_malformed_conversations(tokenizer, messages, match):
    with pytest.raises(ValueError, match=match):
        get_template("vicuna_v1.1").render_chat(tokenizer, messages)
