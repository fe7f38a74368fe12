"""Database keys (``devices.key``, ``metrics.key``) to the engine's dense indexes,
for whole arrays at once.

Keys from identity columns are small and dense, so a lookup table indexed by
key is the fast path; sparse or huge keys fall back to a binary search.

>>> ix = KeyIndex()
>>> ix[10], ix[3] = 0, 1
>>> ix.lookup(np.array([3, 10, 7, -1, 99], dtype=np.int64)).tolist()
[1, 0, -1, -1, -1]
>>> ix[1 << 40] = 2
>>> ix.lookup(np.array([1 << 40, 3, 4], dtype=np.int64)).tolist()
[2, 1, -1]
"""

from __future__ import annotations

import numpy as np

from twin.rules.readings import Int64s

# Largest key served by a table (4M keys = 32 MB); beyond it, binary search.
DENSE_LIMIT = 1 << 22


class KeyIndex:
    def __init__(self) -> None:
        self._map: dict[int, int] = {}
        self._table: Int64s | None = None
        self._keys: Int64s | None = None
        self._values: Int64s | None = None

    def __setitem__(self, key: int, index: int) -> None:
        if self._map.get(key) != index:
            self._map[key] = index
            self._table = self._keys = self._values = None

    def get(self, key: int, default: int = -1) -> int:
        return self._map.get(key, default)

    def __len__(self) -> int:
        return len(self._map)

    def lookup(self, keys: Int64s) -> Int64s:
        """The index of each key, -1 for keys never set."""
        if not self._map:
            return np.full(keys.shape, -1, dtype=np.int64)
        if self._table is None and self._keys is None:
            self._build()
        if self._table is not None:
            size = self._table.size
            found = self._table[np.clip(keys, 0, size - 1)]
            found[(keys < 0) | (keys >= size)] = -1
            return found
        assert self._keys is not None
        assert self._values is not None
        pos = np.minimum(np.searchsorted(self._keys, keys), self._keys.size - 1)
        return np.where(self._keys[pos] == keys, self._values[pos], -1)

    def _build(self) -> None:
        keys = np.fromiter(self._map, dtype=np.int64, count=len(self._map))
        values = np.fromiter(self._map.values(), dtype=np.int64, count=len(self._map))
        if keys.min() >= 0 and keys.max() < DENSE_LIMIT:
            table = np.full(int(keys.max()) + 1, -1, dtype=np.int64)
            table[keys] = values
            self._table = table
        else:
            order = np.argsort(keys)
            self._keys, self._values = keys[order], values[order]
