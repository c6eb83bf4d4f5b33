"""Copy-paste examples for the System page, built for the address the user sees in the browser.

The key itself is never printed: with a key set, examples read it from LIANDAN_API_KEY.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def base_url(page_url: str | None, port: int) -> str:
    """The origin the browser used (e.g. an AutoDL https proxy), else this machine on `port`."""
    parts = urlsplit(page_url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return f"http://127.0.0.1:{port}"


def curl_example(base: str, key_required: bool) -> str:
    auth = ' \\\n  -H "Authorization: Bearer $LIANDAN_API_KEY"' if key_required else ""
    return (f'curl -X POST "{base}/api/chat" \\\n  -H "Content-Type: application/json"{auth} \\\n'
            """  -d '{"prompt": "你好", "history": []}'""")


def python_example(base: str, key_required: bool) -> str:
    key = 'os.environ["LIANDAN_API_KEY"]' if key_required else '"not-needed"'
    return (("import os\n" if key_required else "") + "from openai import OpenAI\n\n"
            f'client = OpenAI(base_url="{base}/v1", api_key={key})\n'
            "stream = client.chat.completions.create(\n"
            '    model="base",  # or an adapter\'s name, see client.models.list()\n'
            '    messages=[{"role": "user", "content": "你好"}],\n'
            "    stream=True,\n"
            ")\n"
            "for chunk in stream:\n"
            '    print(chunk.choices[0].delta.content or "", end="", flush=True)\n')
