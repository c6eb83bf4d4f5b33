"""Saved LoRA adapters: the store and cards, the pool that loads them onto the one base, export formats."""
