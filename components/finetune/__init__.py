"""The Fine-tune page's parts: dataset, settings, start, jobs, adapters, preferences."""
