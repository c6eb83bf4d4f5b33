STRINGS = {
    "api.title": ("HTTP API", "HTTP API"),
    "api.intro": (
        "界面和 API 共用这个端口、这一个模型。教程里的 curl 只需把地址改成 `/api/chat`；"
        "OpenAI 客户端（openai、LangChain）的 base_url 填下面的地址加 `/v1`。",
        "The UI and the API share this port and this one model. The tutorial's curl works with the path "
        "changed to `/api/chat`; point OpenAI clients (openai, LangChain) at the address below plus `/v1`.",
    ),
    "api.base_url": ("地址", "Base URL"),
    "api.key_on": (
        "已启用 API 密钥：请求需带请求头 `Authorization: Bearer <LIANDAN_API_KEY 的值>`。",
        "API key on: requests need the header `Authorization: Bearer <the value of LIANDAN_API_KEY>`.",
    ),
    "api.key_off": (
        "未设置 API 密钥：能访问这个端口的人都能调用 API。设置环境变量 LIANDAN_API_KEY 后重启即可要求密钥。",
        "No API key: anyone who can reach this port can call the API. Set LIANDAN_API_KEY and restart to require one.",
    ),
    "api.tab_curl": ("教程的 curl", "Tutorial curl"),
    "api.tab_python": ("Python（openai）", "Python (openai)"),
    "api.docs": ("全部接口与在线试用：[接口文档]({url})", "Every route, with a try-it-out form: [API docs]({url})"),
}
