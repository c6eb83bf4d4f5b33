"""ChatGLM3 on transformers' native GLM, checked against what the real remote code produced.

`reference_outputs.json` was made by THUDM's own modeling/tokenization code under transformers
4.41.2 (see ../shared/fixtures/chatglm3-tiny/README.md); nothing here runs that code.
"""

from __future__ import annotations

import json

import pytest
import torch

from core.errors import ModelSourceError
from core.models import chat_format, chatglm3, chatglm3_tokenizer, preflight, sources
from core.models.options import GenerationOptions
from tests.chatglm3_fixture import chatglm3_dir, chatglm3_engine, chatglm3_models_dir, reference  # noqa: F401

TOLERANCE = 1e-4


def _messages(case: dict) -> list[dict]:
    return case["history"] + [{"role": "user", "content": case["query"]}]


def test_loads_as_native_glm_without_remote_code(chatglm3_engine, chatglm3_models_dir):
    import sys

    assert type(chatglm3_engine.model).__name__ == "GlmForCausalLM"
    assert chatglm3_engine.model_type == "chatglm"  # the chat family, for roles and the interpreter
    remote = ("modeling_chatglm", "tokenization_chatglm", "configuration_chatglm")
    assert not [m for m in sys.modules if any(r in m for r in remote)], "ChatGLM3's checkpoint code was imported"
    converted = chatglm3_engine.info.path
    assert str(chatglm3_models_dir) in converted and "native" in converted
    config = json.loads((chatglm3.Path(converted) / "config.json").read_text())
    assert "auto_map" not in config and config["model_type"] == "glm"


@pytest.mark.parametrize("index", [0, 1, 2])
def test_prompt_ids_logits_and_greedy_tokens_match_the_remote_code(chatglm3_engine, index):
    case = reference()["cases"][index]
    engine = chatglm3_engine
    ids = engine.encode(_messages(case))  # the engine's own path: chat template -> text -> ids
    assert ids == case["input_ids"]
    assert engine.tokenizer.chat_ids(case["query"], case["history"]) == case["input_ids"]
    assert engine.tokenizer.build_chat_input(case["query"], case["history"])["input_ids"][0].tolist() == case["input_ids"]
    with torch.no_grad():
        logits = engine.model(torch.tensor([ids])).logits[0, -1]
    assert logits.topk(5).indices.tolist() == case["last_logits_top5"]
    diff = (logits[:8] - torch.tensor(case["last_logits_first8"])).abs().max().item()
    assert diff < TOLERANCE, diff
    out = engine.model.generate(torch.tensor([ids]), max_new_tokens=10, do_sample=False)[0, len(ids):].tolist()
    assert out == case["greedy_10"]


def test_the_engine_streams_the_reference_greedy_answer(chatglm3_engine):
    case = reference()["cases"][0]
    gen = chatglm3_engine.stream(_messages(case), GenerationOptions(max_new_tokens=10, temperature=0.0, repetition_penalty=1.0))
    text = "".join(gen)
    expected = chatglm3_engine.tokenizer.decode(case["greedy_10"], skip_special_tokens=True)
    assert text == expected.rstrip("\ufffd")
    assert gen.stats.completion_tokens == 10


def test_a_system_prompt_head_served_from_the_prefix_cache_gives_the_reference_answer(chatglm3_engine):
    """The second request with the same system prompt starts after its cached head; both answers match the remote code's."""
    case = reference()["cases"][2]
    assert case["history"][0]["role"] == "system"
    options = GenerationOptions(max_new_tokens=10, temperature=0.0, repetition_penalty=1.0)
    expected = chatglm3_engine.tokenizer.decode(case["greedy_10"], skip_special_tokens=True).rstrip("\ufffd")
    chatglm3_engine.batcher.prefix.clear()
    first = chatglm3_engine.stream(_messages(case), options)
    assert "".join(first) == expected and first.stats.cached_tokens == 0
    second = chatglm3_engine.stream(_messages(case), options)
    assert "".join(second) == expected
    assert second.stats.cached_tokens >= 8


def test_the_reference_cases_asked_together_share_one_packed_prefill_and_keep_their_answers(chatglm3_engine):
    """GLM is a transformers model, so requests sent together are packed into one prefill row (a 4D mask)."""
    from tests.test_batching import prefill_calls

    cases = reference()["cases"]
    options = GenerationOptions(max_new_tokens=10, temperature=0.0, repetition_penalty=1.0)
    chatglm3_engine.batcher.prefix.clear()
    calls, hooks = prefill_calls(chatglm3_engine)
    try:
        with chatglm3_engine.lock.hold():  # all three arrive while the weights are busy, so one step admits them
            gens = [chatglm3_engine.stream(_messages(case), options) for case in cases]
        texts = ["".join(gen) for gen in gens]
    finally:
        hooks.remove()
    assert calls[0].rows == 1 and len(calls[0].chunks) == len(cases), calls
    expected = [chatglm3_engine.tokenizer.decode(case["greedy_10"], skip_special_tokens=True).rstrip("\ufffd") for case in cases]
    assert texts == expected


def test_stop_tokens_are_eos_user_and_observation(chatglm3_engine):
    tok = chatglm3_engine.tokenizer
    stops = [tok.eos_token_id, tok.get_command("<|user|>"), tok.get_command("<|observation|>")]
    assert stops == [2, 406, 408]
    assert list(chatglm3_engine.model.generation_config.eos_token_id) == stops


def test_tokenizer_text_form_keeps_chatglm3_segments(chatglm3_dir):
    tok = chatglm3_tokenizer.load(chatglm3_dir / "model")
    sp = tok.sp
    # metadata and content are separate sentencepiece calls, as in build_single_message
    history = [{"role": "assistant", "metadata": "interpreter", "content": "```python\nprint(1)\n```"},
               {"role": "observation", "content": "1"}]
    text = tok.apply_chat_template(history + [{"role": "user", "content": "sop and eop"}], tokenize=False, add_generation_prompt=True)
    assert tok(text, add_special_tokens=False)["input_ids"] == tok.chat_ids("sop and eop", history)
    # "sop" is a command token only right after [gMASK]; elsewhere it is text
    assert tok.encode_text("sop") == sp.encode("sop")
    assert tok.decode(tok.chat_ids("你好"), skip_special_tokens=True) == "你好"
    assert tok.decode([401, 403, 406]) == "[gMASK]sop<|user|>"
    # plain tokenizer calls add the prefix like the original's build_inputs_with_special_tokens
    assert tok("你好")["input_ids"] == [401, 403] + sp.encode("你好")


def test_a_saved_tokenizer_is_ours_again(chatglm3_dir, tmp_path):
    """A merged export saves the tokenizer; loading that folder must use this class again."""
    from core.models import loader

    chatglm3_tokenizer.load(chatglm3_dir / "model").save_pretrained(tmp_path)
    assert chatglm3_tokenizer.is_chatglm3_tokenizer_folder(tmp_path)
    again = loader.load_tokenizer(tmp_path)
    assert again.is_chatglm3 and again.chat_ids("你好") == reference()["cases"][0]["input_ids"]


def test_observation_role_reaches_the_prompt_natively(chatglm3_engine):
    messages = [{"role": "user", "content": "算一下"}, {"role": "interpreter", "content": "```python\n1+1\n```"},
                {"role": "observation", "content": "2"}]
    ids = chatglm3_engine.encode(messages)
    tok = chatglm3_engine.tokenizer
    assert ids == tok.chat_ids("2", [messages[0], {"role": "assistant", "metadata": "interpreter", "content": messages[1]["content"]}], role="observation")
    assert chat_format.normalize_roles(messages, "chatglm")[1]["metadata"] == "interpreter"


def test_conversion_is_cached_and_keyed_on_the_source(chatglm3_dir, tmp_path):
    first = chatglm3.native_folder(chatglm3_dir / "model", tmp_path)
    mtime = (first / "model.safetensors").stat().st_mtime_ns
    assert chatglm3.native_folder(chatglm3_dir / "model", tmp_path) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == mtime
    assert not list(first.parent.glob(".*.partial"))
    assert chatglm3.source_of(first)["source"] == str(chatglm3_dir / "model")


def test_unsupported_chatglm_variants_are_refused_with_a_reason(chatglm3_dir, tmp_path):
    import shutil

    for n, (change, words) in enumerate((({"quantization_bit": 4}, "quantized"), ({"pre_seq_len": 128}, "P-tuning"),
                          ({"rmsnorm": False}, "LayerNorm"), ({"position_encoding_2d": True}, "first-generation"))):
        folder = tmp_path / f"m{n}"
        shutil.copytree(chatglm3_dir / "model", folder)
        config = json.loads((folder / "config.json").read_text())
        config.update(change)
        (folder / "config.json").write_text(json.dumps(config))
        with pytest.raises(ModelSourceError, match=words):
            sources.resolve(str(folder), tmp_path / "models")
        assert any(f.level == "error" and words in f.message for f in preflight.check(folder, "cpu", "float32", False))


def test_a_pickled_bin_checkpoint_is_read_weights_only(chatglm3_dir, tmp_path):
    """ChatGLM3-6B also ships pytorch_model-*.bin: converted without running pickled code."""
    import pickle
    import shutil

    from safetensors.torch import load_file

    folder = tmp_path / "bin-model"
    shutil.copytree(chatglm3_dir / "model", folder, ignore=shutil.ignore_patterns("*.safetensors"))
    state = load_file(str(chatglm3_dir / "model" / "model.safetensors"))
    names = sorted(state)
    torch.save({k: state[k] for k in names[:10]}, folder / "pytorch_model-00001-of-00002.bin")
    torch.save({k: state[k] for k in names[10:]}, folder / "pytorch_model-00002-of-00002.bin")
    native = chatglm3.native_folder(folder, tmp_path / "models")
    assert (native / "model.safetensors.index.json").exists()

    class Evil:
        def __reduce__(self):
            return (exec, ("open('/tmp/i12-pwned', 'w').write('x')",))

    evil = tmp_path / "evil-model"
    shutil.copytree(folder, evil)
    with open(evil / "pytorch_model-00001-of-00002.bin", "wb") as fh:
        pickle.dump({"x": Evil()}, fh)
    with pytest.raises(ModelSourceError, match="not a plain weights file"):
        chatglm3.native_folder(evil, tmp_path / "models")
    assert not chatglm3.Path("/tmp/i12-pwned").exists()
    assert not list((tmp_path / "models" / "native").glob(".*.partial"))
