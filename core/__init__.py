"""Liandan's non-UI core: models, knowledge bases, tuning, API, jobs. Never imports streamlit."""
