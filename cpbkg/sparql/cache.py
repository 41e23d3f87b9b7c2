"""The answer cache: an LRU of answer bytes with a byte budget."""

from __future__ import annotations

import collections
import threading

from cpbkg.sparql.execute import Answer


class ResponseCache:
    """An LRU of answers with a byte budget; thread-safe. Keys are tuples; values :class:`Answer`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._entries: collections.OrderedDict[tuple[object, ...], Answer] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _size(answer: Answer, key: tuple[object, ...] = ()) -> int:
        """Bytes an entry holds: its answer and, with ``key``, the key (the query text: up to max_query_bytes)."""
        return len(answer.body) + len(answer.gzipped or b"") + 256 + (len(repr(key)) if key else 0)

    def get(self, key: tuple[object, ...]) -> Answer | None:
        with self._lock:
            answer = self._entries.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, key: tuple[object, ...], answer: Answer) -> None:
        size = self._size(answer, key)
        if size > self.max_bytes // 4:
            return  # one answer may not push out everything else
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= self._size(old, key)
            self._entries[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                evicted_key, evicted = self._entries.popitem(last=False)
                self._bytes -= self._size(evicted, evicted_key)

    def grew(self, key: tuple[object, ...], before: int, answer: Answer) -> None:
        """Account for bytes added to a cached answer (its gzipped form)."""
        with self._lock:
            if self._entries.get(key) is answer:
                self._bytes += self._size(answer) - before

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def size(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)
