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

    from core.tuning.adapters import AdapterCard, fingerprint

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
