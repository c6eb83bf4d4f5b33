"""A sentence-transformers model's transformer run by OpenVINO on CPU, in int8 where that keeps
the vectors (see core.kb.int8), else in bf16 / fp32.

The transformer goes through ONNX (torch.onnx.export, then OpenVINO reads the file): public APIs
only, and not OpenVINO's model converter, which sends usage telemetry by default. The ONNX file
and the int8 model are cached in the model's cache folder, so later processes start in under a
second; only the first use on a machine pays for the export (~5 s) and the int8 calibration.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from core.kb import int8

log = logging.getLogger(__name__)


class OpenVINOEncoder:
    """The transformer in OpenVINO, followed by the model's own pooling / normalising modules in
    torch, so any model's recipe is kept. `precision` is what was asked; `.precision` what runs."""

    def __init__(self, model, precision: str, cache_dir: Path, native_bf16: bool) -> None:
        import openvino as ov

        self.model = model
        self.inputs = [k for k in model.tokenizer(["probe"]) if k in ("input_ids", "attention_mask", "token_type_ids")]
        onnx = cache_dir / "transformer.onnx"
        if not onnx.exists():
            self._export(onnx)
        float_hint = "bf16" if native_bf16 else "f32"
        hint = {"bfloat16": "bf16", "float16": "f16", "int8": float_hint}.get(precision, "f32")
        path, self.precision = onnx, precision
        if precision == "int8":
            quantized = cache_dir / "transformer-int8.xml"
            try:
                check = int8.saved_check(quantized) or int8.prepare(onnx, quantized, self._arrays, self._encode, hint)
            except Exception as exc:  # noqa: BLE001 - int8 only adds speed; the float model still serves
                log.warning("could not make an int8 embedding model (%s); using %s", exc, float_hint)
                check = None
            if check is not None and check.accepted:
                path = quantized
            else:
                self.precision = "bfloat16" if native_bf16 else "float32"
        self.compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": hint})

    def _export(self, path: Path) -> None:
        import torch

        transformer, names = self.model[0].auto_model, self.inputs

        class Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.transformer = transformer

            def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
                return self.transformer(**dict(zip(names, tensors))).last_hidden_state

        example = self.model.tokenizer(["an example", "两个 examples"], padding=True, return_tensors="pt")
        axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "hidden"]}
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        torch.onnx.export(Hidden().eval(), tuple(example[n] for n in names), str(partial), input_names=names,
                          output_names=["hidden"], dynamic_axes=axes, dynamo=False, opset_version=17)
        partial.replace(path)  # a killed export never leaves a half file to load

    def _arrays(self, texts: list[str]) -> dict[str, np.ndarray]:
        return self._inputs(self.model.preprocess(texts))

    def _inputs(self, features: dict) -> dict[str, np.ndarray]:
        return {name: features[name].numpy() for name in self.inputs}

    def _run(self, compiled, texts: list[str]):
        import torch

        features = self.model.preprocess(texts)
        request = compiled.create_infer_request()  # one per call: callers may be on several threads
        request.infer(self._inputs(features))
        features["token_embeddings"] = torch.from_numpy(request.get_output_tensor(0).data.copy())
        with torch.inference_mode():
            for module in list(self.model)[1:]:
                features = module(features)
        return features["sentence_embedding"]

    def _encode(self, compiled, texts: list[str]) -> np.ndarray:
        """Normalised vectors in batches, for the int8 check."""
        import torch

        parts = [self._run(compiled, texts[i : i + int8.BATCH]) for i in range(0, len(texts), int8.BATCH)]
        return torch.nn.functional.normalize(torch.cat(parts).float(), dim=-1).numpy()

    def encode(self, texts: list[str]):
        return self._run(self.compiled, texts)
