"""The families people download next (Qwen2.5, Qwen3, GLM-4 as `glm` and `glm4`, Llama 3),
each a tiny random checkpoint with its own chat template: it loads through the project's
loader, chats in its own layout, gets the right LoRA targets, trains two steps and is
compared base vs adapter through the same code the pages use."""

from __future__ import annotations

import json

import pytest
import torch

from core.config import Settings
from core.models import compatibility, preflight
from core.models.options import GenerationOptions
from core.runtime import create_runtime
from core.compare.runs import new_run, run_all
from core.tuning.presets import preset, target_modules
from tests.factories import FAMILIES, build_family_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# family -> (architecture, the start of a one-turn prompt, the generation prompt it ends with, LoRA targets)
EXPECTED = {
    "qwen2": ("Qwen2ForCausalLM",
              "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
              "<|im_start|>user\n你好<|im_end|>\n", "<|im_start|>assistant\n",
              ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
    "qwen3": ("Qwen3ForCausalLM", "<|im_start|>user\n你好<|im_end|>\n", "<|im_start|>assistant\n",
              ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
    "glm": ("GlmForCausalLM", "[gMASK]<sop><|user|>\n你好", "<|assistant|>",
            ["q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj"]),
    "glm4": ("Glm4ForCausalLM", "[gMASK]<sop><|user|>\n你好", "<|assistant|>\n",
             ["q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj"]),
    "llama": ("LlamaForCausalLM", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n你好<|eot_id|>",
              "<|start_header_id|>assistant<|end_header_id|>\n\n",
              ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
}
RECORDS = [{"instruction": f"Question {i}: where is the tower?", "input": "", "output": "The tower is in Paris."}
           for i in range(8)]


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_rt(request, tmp_path_factory):
    family = request.param
    folder = build_family_model(tmp_path_factory.mktemp(family) / f"tiny-{family}", family)
    rt = create_runtime(Settings(data_dir=folder.parent / "data", model=str(folder), load_on_start=False,
                                 embedding_model="hash", trust_remote_code=False))
    rt.models.load(str(folder))
    return family, folder, rt


def test_preflight_finds_nothing_wrong_with_remote_code_off(family_rt):
    _, folder, rt = family_rt
    config = json.loads((folder / "config.json").read_text())
    assert compatibility.check_config(config, trust_remote_code=False) == []
    assert [f for f in rt.models.preflight(str(folder)) if f.level != "info"] == []
    assert "chat_template" in json.loads((folder / "tokenizer_config.json").read_text())  # shipped like the real repos


def test_loads_and_chats_in_its_own_template(family_rt):
    family, folder, rt = family_rt
    architecture, opening, generation_prompt, _ = EXPECTED[family]
    engine = rt.models.engine
    assert engine.info.architecture == architecture and engine.model_type == family
    assert engine.tokenizer.chat_template == FAMILIES[family]["template"]  # not replaced by a fallback
    text = engine.tokenizer.decode(engine.encode([{"role": "user", "content": "你好"}]))
    assert text == opening + generation_prompt
    answer = engine.stream([{"role": "user", "content": "你好"}], GenerationOptions(max_new_tokens=6, temperature=0))
    answer.result()
    assert answer.stats.completion_tokens > 0 and answer.stats.finish_reason in ("stop", "length")


def test_lora_targets_train_two_steps_and_compare_base_with_the_adapter(family_rt):
    family, _, rt = family_rt
    engine = rt.models.engine
    assert target_modules(engine.model) == EXPECTED[family][3]
    data = rt.finetune.save_dataset("towers.json", json.dumps(RECORDS).encode())
    config = preset("quick", epochs=1, batch_size=4, grad_accum=1, max_records=8, learning_rate=5e-2, val_fraction=0.0)
    job = rt.jobs.wait(rt.finetune.start(data, f"{family}-towers", config, dataset_name="towers.json").id, timeout=300)
    assert job.status == "done", job.error
    assert job.details["total_steps"] == 2 and [m["step"] for m in job.metrics if "loss" in m] == [1, 2]
    card = rt.adapters.get(f"{family}-towers")
    assert card.hyperparameters["target_modules"] == EXPECTED[family][3]
    assert card.chat_template == FAMILIES[family]["template"]
    # Compare base vs adapter with the pages' code; the adapter must change the model's output.
    run = run_all(rt.adapter_pool, new_run(rt.adapter_pool, ["base", f"{family}-towers"], ["Question 1: where is the tower?"],
                                            GenerationOptions(max_new_tokens=6, temperature=0)))
    assert run.complete and all(a.tokens > 0 and not a.error for a in run.answers[0])
    ids = torch.tensor([engine.encode([{"role": "user", "content": "Question 1: where is the tower?"}])])
    with engine.lock.hold(), torch.no_grad():
        with engine.variant(None) as base:
            base_logits = base(input_ids=ids).logits
        with engine.variant(f"{family}-towers") as tuned:
            tuned_logits = tuned(input_ids=ids).logits
    assert not torch.allclose(base_logits, tuned_logits, atol=1e-4)


def test_needing_remote_code_while_it_is_off_is_refused_before_loading(family_rt, tmp_path):
    family, folder, _ = family_rt
    import shutil

    copy = tmp_path / "with-code"
    shutil.copytree(folder, copy)
    (copy / "modeling_custom.py").write_text("raise SystemExit('must never run')\n")
    config = json.loads((copy / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_custom.CustomForCausalLM"}
    (copy / "config.json").write_text(json.dumps(config))
    findings = compatibility.check_config(config, False, compatibility.python_files(copy), name=copy.name)
    assert [f.level for f in findings] == ["error"] and "modeling_custom.py" in findings[0].message
    assert compatibility.python_files(copy) == ["modeling_custom.py"]
    assert any(f.level == "error" for f in preflight.check(copy, "cpu", "float32", trust_remote_code=False))


def test_a_local_folder_of_a_type_our_transformers_does_not_know_is_refused_before_loading(tmp_path, tiny_model_dir):
    import shutil

    from core.errors import PreflightError
    from core.models import loader, sources

    copy = tmp_path / "future-model"
    shutil.copytree(tiny_model_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    config.update(model_type="llama7", transformers_version="7.2.0")
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(PreflightError, match="'llama7' model, which transformers") as err:
        loader.load(sources.resolve(str(copy), tmp_path), device="cpu")
    assert "pip install -U transformers>=7.2.0" in err.value.hint and "llama7" in err.value.text("zh")
