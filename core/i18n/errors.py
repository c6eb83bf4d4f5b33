"""Texts of the `UserError`s raised across `core` (keys "errors.*"); a hint's key is its message's key + ".hint"."""

STRINGS = {
    "errors.no_model": ("尚未加载模型。", "No model is loaded."),
    "errors.no_model.hint": ("请在“系统”页面加载一个模型。", "Load one on the System page."),
    "errors.cannot_train": ("当前推理引擎 {engine} 无法在本机训练适配器（远程服务器或演示用的回显引擎只负责回答）。",
                            "The engine {engine} cannot train adapters here (a remote server or the echo demo only answers)."),
    "errors.cannot_train.hint": ("请在“系统”页面加载一个本地 transformers 模型后再训练。",
                                 "Load a local transformers model on the System page to train."),
    "errors.cannot_merge": ("当前推理引擎 {engine} 的基座权重不在本机，无法合并适配器。",
                            "The engine {engine} has no local base weights to merge an adapter into."),
    "errors.cannot_merge.hint": ("请在“系统”页面加载该适配器的基座模型（本地 transformers 模型）。",
                                 "Load the adapter's base as a local transformers model on the System page."),
}
