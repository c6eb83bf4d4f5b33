"""Texts of the `UserError`s raised across `core` (keys "errors.*"); a hint's key is its message's key + ".hint"."""

STRINGS = {
    "errors.no_model": ("尚未加载模型。", "No model is loaded."),
    "errors.no_model.hint": ("请在“系统”页面加载一个模型。", "Load one on the System page."),
}
