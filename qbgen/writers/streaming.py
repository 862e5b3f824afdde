"""The common shape of the writers that take a build's papers a run at a time.

Room: `Streaming`, whose `write` is `start`, one `add` and `finish`. Imports models.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..models import Paper


class Streaming:
    """A writer that takes papers a run at a time; `write` gives it all of them at once."""

    def write(self, papers: Sequence[Paper], folder: Path) -> list[str]:
        """Write this target's files for `papers` into `folder`; return their names."""
        self.start(folder, len(papers))
        self.add(papers)
        return self.finish()

    def start(self, folder: Path, count: int) -> None:
        """Begin a build of `count` papers into `folder`."""
        raise NotImplementedError

    def add(self, papers: Sequence[Paper]) -> None:
        """Take the next papers, in order."""
        raise NotImplementedError

    def finish(self) -> list[str]:
        """Write what is left; return the names of every file written."""
        raise NotImplementedError
