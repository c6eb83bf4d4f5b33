"""The HTTP API: the tutorial's `POST /api/chat` and an OpenAI-compatible `/v1`.

It runs inside the Streamlit process (`make run`, same port as the UI) or headless
(`python -m core serve`), and always talks to the process's one engine.
"""
