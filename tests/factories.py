"""Tiny real models built on the fly: random-init configs of real architectures plus a
tokenizer trained with `tokenizers`, saved with `save_pretrained` so tests load them
through the same code path users take."""

from __future__ import annotations

from pathlib import Path

import torch

CORPUS = [
    "Hello world. The capital of France is Paris.",
    "你好，世界。今天天气很好，我们去公园散步吧。",
    "Liandan is a workbench for local language models.",
    "皇上，臣妾做不到啊。甄嬛传是一部电视剧。",
    "def f(x):\n    return x * x\nprint(f(3))",
    "The quick brown fox jumps over the lazy dog 0123456789.",
] * 20
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<unk>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tokenizer(vocab_size: int = 400):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>", unk_token="<unk>", pad_token="<|endoftext|>"
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(folder: Path, architecture: str = "llama", seed: int = 0) -> Path:
    """Save a ~100k-parameter model of `architecture` (llama | qwen2) into `folder`."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    tokenizer = build_tokenizer()
    common = dict(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=True,
    )
    config_cls, model_cls = {"llama": (LlamaConfig, LlamaForCausalLM), "qwen2": (Qwen2Config, Qwen2ForCausalLM)}[architecture]
    torch.manual_seed(seed)
    model = model_cls(config_cls(**common))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_sentence_model(folder: Path, seed: int = 0) -> Path:
    """Save a ~30k-parameter BERT sentence-transformers model (mean pooling) into `folder`."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel

    tokenizer = build_tokenizer()
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    bert = folder / "bert"
    BertModel(config).save_pretrained(bert)
    tokenizer.save_pretrained(bert)
    transformer = models.Transformer(str(bert), max_seq_length=128)
    SentenceTransformer(modules=[transformer, models.Pooling(32, "mean")]).save(str(folder))
    return folder


def build_lora_adapter(
    base_dir: Path, store, name: str, seed: int = 1, system_prompt: str = "", scale: float = 0.5
):
    """Save a LoRA adapter for the model in `base_dir` into `store` (an AdapterStore), with its card.

    The LoRA B matrices start at zero (a no-op adapter), so they are filled with seeded
    noise: each adapter then answers differently from the base and from the others.
    """
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from core.adapters.store import AdapterCard, fingerprint

    model = AutoModelForCausalLM.from_pretrained(base_dir)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", lora_dropout=0.0))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param_name, param in peft_model.named_parameters():
            if "lora_" in param_name:
                param.copy_(torch.randn(param.shape, generator=generator) * scale)
    peft_model.save_pretrained(store.path(name))
    card = AdapterCard(
        name=name, base_model=base_dir.name, base_fingerprint=fingerprint(model.config), system_prompt=system_prompt
    )
    store.save_card(card)
    return card


# --- model families people download next, each with its own chat template --------------
# The templates are the chat parts of each family's published tokenizer_config.json /
# chat_template.jinja (tool-calling branches left out): the layouts chat and training must
# reproduce for these models.
QWEN25_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) or (message.role == 'assistant') %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
QWEN3_TEMPLATE = (
    "{%- if messages[0].role == 'system' %}{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}{%- endif %}"
    "{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}"
    "{%- for message in messages[::-1] %}{%- set index = (messages|length - 1) - loop.index0 %}"
    "{%- if ns.multi_step_tool and message.role == 'user' %}"
    "{%- set ns.multi_step_tool = false %}{%- set ns.last_query_index = index %}{%- endif %}{%- endfor %}"
    "{%- for message in messages %}"
    "{%- set content = message.content if message.content is string else '' %}"
    "{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}"
    "{%- elif message.role == 'assistant' %}"
    "{%- set reasoning_content = '' %}"
    "{%- if '</think>' in content %}"
    "{%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}"
    "{%- if loop.index0 > ns.last_query_index %}"
    "{%- if loop.last or (not loop.last and reasoning_content) %}"
    "{{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}"
    "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + content }}{%- endif %}"
    "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + content }}{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)
GLM4_CHAT_TEMPLATE = (  # glm-4-9b-chat-hf (model_type glm)
    "[gMASK]<sop>{% for item in messages %}"
    "{% if item['role'] == 'system' %}<|system|>\n{{ item['content'] }}"
    "{% elif item['role'] == 'user' %}<|user|>\n{{ item['content'] }}"
    "{% elif item['role'] == 'assistant' %}<|assistant|>\n{{ item['content'] }}"
    "{% elif item['role'] == 'observation' %}<|observation|>\n{{ item['content'] }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
GLM4_0414_TEMPLATE = (  # GLM-4-9B-0414 (model_type glm4)
    "[gMASK]<sop>{%- for msg in messages %}"
    "{%- if msg.role == 'system' %}<|system|>\n{{ msg.content }}"
    "{%- elif msg.role == 'user' %}<|user|>\n{{ msg.content }}"
    "{%- elif msg.role == 'assistant' %}<|assistant|>\n{{ msg.content }}"
    "{%- elif msg.role == 'observation' %}<|observation|>\n{{ msg.content }}{%- endif %}"
    "{%- endfor %}{%- if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
LLAMA3_TEMPLATE = (  # Meta-Llama-3-8B-Instruct
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
_GLM_SPECIALS = ["<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
                 "<|assistant|>", "<|observation|>"]
FAMILIES: dict[str, dict] = {
    "qwen2": dict(classes=("Qwen2Config", "Qwen2ForCausalLM"), template=QWEN25_TEMPLATE,
                  specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"], eos="<|im_end|>", pad="<|endoftext|>"),
    "qwen3": dict(classes=("Qwen3Config", "Qwen3ForCausalLM"), template=QWEN3_TEMPLATE,
                  specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"], eos="<|im_end|>",
                  pad="<|endoftext|>", extra=dict(head_dim=16)),
    "glm": dict(classes=("GlmConfig", "GlmForCausalLM"), template=GLM4_CHAT_TEMPLATE, specials=_GLM_SPECIALS,
                eos="<|endoftext|>", pad="<|endoftext|>", stops=["<|user|>", "<|observation|>"], extra=dict(head_dim=16)),
    "glm4": dict(classes=("Glm4Config", "Glm4ForCausalLM"), template=GLM4_0414_TEMPLATE, specials=_GLM_SPECIALS,
                 eos="<|endoftext|>", pad="<|endoftext|>", stops=["<|user|>", "<|observation|>"], extra=dict(head_dim=16)),
    "llama": dict(classes=("LlamaConfig", "LlamaForCausalLM"), template=LLAMA3_TEMPLATE,
                  specials=["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
                  bos="<|begin_of_text|>", eos="<|eot_id|>", pad="<|end_of_text|>"),
}


def build_family_model(folder: Path, family: str, seed: int = 0) -> Path:
    """A ~100k-parameter random `family` model whose tokenizer carries the family's template
    and special tokens (trained offline with `tokenizers`), saved like a downloaded one."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, PreTrainedTokenizerFast

    spec = FAMILIES[family]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=spec["specials"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=spec.get("bos"), eos_token=spec["eos"],
                                        pad_token=spec["pad"], additional_special_tokens=spec["specials"])
    tokenizer.chat_template = spec["template"]
    config_cls, model_cls = (getattr(transformers, name) for name in spec["classes"])
    eos_ids = [tokenizer.convert_tokens_to_ids(t) for t in [spec["eos"], *spec.get("stops", [])]]
    config = config_cls(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, eos_token_id=eos_ids if len(eos_ids) > 1 else eos_ids[0],
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, tie_word_embeddings=True,
        **spec.get("extra", {}),
    )
    torch.manual_seed(seed)
    model = model_cls(config)
    model.generation_config = GenerationConfig(eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder, save_jinja_files=False)  # in tokenizer_config.json, as these repos ship it
    return folder
