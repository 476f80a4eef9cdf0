"""Which (variant, cache, reader) servers a matrix crosses, and which of them a variant has.

The modes of each of our variants arrive as plain data (`VariantModes`, built by the run
layer from `server.variants`: the plan never imports the server), so a list axis that
crosses variants keeps only the combinations a variant really has and says which it
skipped, while a variant named on its own with a mode it lacks is refused in one line.
A name without modes here (a reference peer, a --host server) has no cache or reader axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

NO_READER = "n/a"  # the reader axis of a server that is not one of ours
NO_STYLE = "n/a"  # style and loop of a server that is not one of ours


@dataclass(frozen=True, slots=True)
class VariantModes:
    """What one of our variants can be run with (mirrors `server.variants.Variant`)."""

    name: str
    style: str  # protocol | streams | sockets | blog | threaded
    loop: str  # asyncio | uvloop | none
    caches: tuple[str, ...]
    readers: tuple[str, ...]  # the first is the default

    @property
    def default_reader(self) -> str:
        """The reader the server picks when none is asked for."""
        return self.readers[0]

    def lacks(self, cache: str, reader: str) -> str | None:
        """Why this variant cannot run with `cache` and `reader`; None when it can."""
        if cache not in self.caches:
            return f"variant {self.name} has no --cache {cache} (it has {', '.join(self.caches)})"
        if reader not in self.readers:
            return (
                f"variant {self.name} has no --reader {reader} (it has {', '.join(self.readers)})"
            )
        return None


@dataclass(frozen=True, slots=True)
class Server:
    """One server of a cell: the variant, its cache mode and reader, and the reader it would
    have by default (the label names the reader only when it is not that one)."""

    variant: str
    cache: str
    reader: str = NO_READER
    default_reader: str = NO_READER


def server_name(variant: str, reader: str, default_reader: str) -> str:
    """How tables and charts name a server: its variant, with its reader when that is not
    the variant's own (`asyncio·thread`), so two readers of one variant never merge."""
    if reader in (default_reader, NO_READER):
        return variant
    return f"{variant}·{reader}"


class ImpossibleServer(ValueError):
    """A variant was asked for on its own with modes it lacks (one line for the user)."""


def servers(
    variants: Sequence[str],
    caches: Sequence[str],
    readers: Sequence[str],
    catalogue: Sequence[VariantModes],
) -> tuple[list[Server], list[str]]:
    """Every (variant, cache, reader) the variants have, and one line per combination
    skipped. `readers` empty: each variant's own default. A variant unknown to the
    catalogue takes the caches as given and no reader (a --host server, or a test's)."""
    known = {modes.name: modes for modes in catalogue}
    found: list[Server] = []
    skipped: list[str] = []
    for variant in variants:
        modes = known.get(variant)
        if modes is None:
            found += [Server(variant, cache) for cache in caches]
            continue
        for cache in caches:
            for reader in readers or (modes.default_reader,):
                why = modes.lacks(cache, reader)
                if why is None:
                    found.append(Server(variant, cache, reader, modes.default_reader))
                else:
                    skipped.append(f"{variant} cache={cache} reader={reader}: {why}")
    return found, skipped


def refuse_impossible(
    variants: Sequence[str],
    caches: Sequence[str],
    readers: Sequence[str],
    catalogue: Sequence[VariantModes],
) -> None:
    """ImpossibleServer when a variant has none of the requested (cache, reader)
    combinations: it was asked for explicitly and would silently vanish from the run."""
    for variant in variants:
        found, skipped = servers((variant,), caches, readers, catalogue)
        if not found and skipped:
            raise ImpossibleServer(skipped[0].partition(": ")[2])
