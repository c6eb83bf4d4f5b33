"""Keys and values of prompt heads that many requests share, computed once.

Every chat request starts with the same tokens: the chat template's header and the system
prompt (SmolLM's default one is ~30 of a short question's ~45 tokens; a persona or a
knowledge-base instruction is longer). Prefilling them again for each of eight users who ask
at once is most of the prefill work on a CPU. A head's keys and values depend only on the head's
own tokens and on the weights (attention is causal), so they are kept here, keyed by the
adapter and the exact token ids, and a request whose head is cached starts its prefill after it.

The cut between head and rest is a function of the prompt alone (`head_length`), never of what
happens to be cached, so an answer is the same whether its head was computed or found. The
scheduler clears the cache whenever anything else has held the weights (a training step, an
adapter load or unload), since that may have changed what a head computes to.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch

Layers = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys, values [1, heads, head tokens, dim]


class PrefixCache:
    """A small LRU of prompt heads' keys/values; thread-safe; `entries=0` turns it off."""

    def __init__(self, entries: int = 32) -> None:
        self.entries = max(0, entries)
        self._items: OrderedDict[tuple[str, tuple[int, ...]], Layers] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, adapter: str, head: list[int]) -> Layers | None:
        """The cached layers of this adapter's `head`, or None (counted as a miss)."""
        if not self.entries:
            return None
        key = (adapter, tuple(head))
        with self._lock:
            layers = self._items.get(key)
            if layers is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return layers

    def put(self, adapter: str, head: list[int], layers: Layers) -> None:
        """Keep `layers` (never modified afterwards: caches only ever concatenate onto them)."""
        if not self.entries:
            return
        with self._lock:
            self._items[(adapter, tuple(head))] = layers
            self._items.move_to_end((adapter, tuple(head)))
            while len(self._items) > self.entries:
                self._items.popitem(last=False)

    def __contains__(self, key: tuple[str, list[int]]) -> bool:
        with self._lock:
            return (key[0], tuple(key[1])) in self._items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    @property
    def bytes(self) -> int:
        with self._lock:
            return sum(k.numel() * k.element_size() + v.numel() * v.element_size() for layers in self._items.values() for k, v in layers)

    def status(self) -> dict:
        with self._lock:
            count = len(self._items)
        return {"prefix_entries": count, "prefix_hits": self.hits, "prefix_misses": self.misses, "prefix_bytes": self.bytes}


def head_length(prompt: list[int], probe: list[int], minimum: int = 8) -> int:
    """How many leading tokens of `prompt` are its shared head, 0 when too few to be worth caching.

    `probe` is the same conversation's leading system messages followed by a placeholder user turn,
    rendered and tokenised the same way: the tokens the two share are the template header, the system
    prompt and the user turn's opening, whatever the chat format. At least one token of the prompt
    always stays outside the head, so the last prefill forward still gives the first token's logits.
    """
    n = 0
    for a, b in zip(prompt, probe):
        if a != b:
            break
        n += 1
    n = min(n, len(prompt) - 1)
    return n if n >= minimum else 0
