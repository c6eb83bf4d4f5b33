"""Run by a scratch Python with transformers 4.41.2 + peft 0.11.1 (the tutorial's stack), not by pytest.

It does what the tutorial's `lora_models.py` does: load the ORIGINAL remote-code ChatGLM3 with
trust_remote_code, wrap it with `PeftModel.from_pretrained(model, adapter)`, and generate greedily
from `tokenizer.build_chat_input`. Prints JSON: per case the prompt ids and 10 greedy tokens.
Usage: python peft011_probe.py MODEL_DIR ADAPTER_DIR CASES_JSON
"""
import json
import sys

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

model_dir, adapter_dir, cases_path = sys.argv[1:4]
tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=True)
model = AutoModelForCausalLM.from_pretrained(model_dir, trust_remote_code=True, torch_dtype=torch.float32).eval()
model = PeftModel.from_pretrained(model, adapter_dir).eval()
stops = [tokenizer.eos_token_id, tokenizer.get_command("<|user|>"), tokenizer.get_command("<|observation|>")]
results = []
for case in json.load(open(cases_path, encoding="utf-8")):
    inputs = tokenizer.build_chat_input(case["query"], history=case["history"], role="user")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=10, do_sample=False, eos_token_id=stops)
    results.append({"input_ids": inputs["input_ids"][0].tolist(), "greedy_10": out[0, inputs["input_ids"].shape[1]:].tolist()})
print(json.dumps({"peft_type": type(model).__name__, "cases": results}))
