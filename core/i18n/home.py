STRINGS = {
    "home.loaded": ("已加载模型：**{name}**（{device}，{dtype}）", "Loaded model: **{name}** ({device}, {dtype})"),
    "home.start_here": ("从这里开始", "Start here"),
    "home.steps": (
        "1. **对话**：和内置模型（SmolLM2-135M）或你自己的模型聊天。\n"
        "2. **系统**：切换到本地目录或 ModelScope 上的大模型（如 ChatGLM3-6B）。\n"
        "3. **知识库 / 微调 / 对比**：用自己的文档回答问题，训练 LoRA 人设，并对比效果。",
        "1. **Chat** with the embedded model (SmolLM2-135M) or your own.\n"
        "2. **System**: switch to a bigger model from a local folder or ModelScope (e.g. ChatGLM3-6B).\n"
        "3. **Knowledge Base / Fine-tune / Compare**: answer from your documents, train a LoRA persona, compare.",
    ),
    "home.pages": ("页面", "Pages"),
}
