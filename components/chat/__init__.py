"""The Chat page's parts: conversation list, adapter and persona pickers, modes, streaming view."""
