"""Texts of adapter exports (Ollama Modelfile, README): errors raised in core.adapters.ollama and the Export buttons."""

_WHY = "适配器“{name}”的对话模板无法转换为 Ollama 模板："
_WHY_EN = "The chat template of adapter '{name}' cannot be turned into an Ollama template: "

STRINGS = {
    "export.template.error": (_WHY + "渲染出错（{detail}）。", _WHY_EN + "rendering it failed ({detail})."),
    "export.template.missing": (_WHY + "消息内容没有出现在提示词中。", _WHY_EN + "a message's text does not appear in the prompt."),
    "export.template.turns": (_WHY + "各轮对话的写法不一致。", _WHY_EN + "turns are not written the same way each time."),
    "export.template.mismatch": (_WHY + "推导出的格式无法还原多轮对话。", _WHY_EN + "the derived layout does not reproduce a multi-turn conversation."),
    "export.template.hint": (
        "仍可下载适配器 zip，在目标程序里使用基座模型自带的对话模板。",
        "The adapter zip can still be downloaded; use the base model's own chat template in the other program.",
    ),
    "export.triple_quote": (
        "{what} 中含有三个连续的双引号（\"\"\"）或以双引号结尾，Modelfile 无法表示。",
        "{what} contains three double quotes in a row (\"\"\") or ends with a double quote, which a Modelfile cannot hold.",
    ),
    "export.line_break": ("适配器卡片的 {what} 中含有换行，写进 Modelfile 会变成另一条指令。", "The card's {what} contains a line break, which would become another Modelfile instruction."),
    "export.line_break.hint": ("请在适配器卡片中修正该字段后再导出。", "Fix that field of the adapter card, then export again."),
    "export.triple_quote.hint": ("请在人设中改用其他引号后再导出。", "Use other quotes in the persona, then export again."),
}
