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
