"""Generate the large benchmark fixtures under `static/generated/` (not committed).

The bytes come from SHAKE-256 of a fixed label, so every run on every machine writes the
same files; their digests are pinned below and checked before anything is written. A file
already present with the right size and digest is left alone.

Usage: python scripts/make_static.py [--root static]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "static"
GENERATED_DIR = "generated"


@dataclass(frozen=True, slots=True)
class Fixture:
    """One generated file: its name, exact size and the sha256 its bytes must have."""

    name: str
    size: int
    sha256: str

    def content(self) -> bytes:
        """The file's bytes: SHAKE-256 of a label naming the file, as long as needed."""
        return hashlib.shake_256(f"staticbench/{self.name}".encode()).digest(self.size)


FIXTURES = (
    Fixture(
        "100k.bin", 100 * 1024, "ff1ac9d42b7b7b6b4061116a17700d75066f10516ada28f596d2a2a188d21639"
    ),
    Fixture(
        "1m.bin", 1024 * 1024, "596ce125c09f3979789db914d0de4332bf9c9070790db707d6bd4f535d6c63f8"
    ),
)


def generate(root: Path) -> list[Path]:
    """Write every missing or wrong fixture under `root/generated`; all fixtures' paths."""
    directory = root / GENERATED_DIR
    directory.mkdir(exist_ok=True)
    paths = []
    for fixture in FIXTURES:
        path = directory / fixture.name
        if not _is_current(path, fixture):
            _write(path, fixture)
        paths.append(path)
    return paths


def _is_current(path: Path, fixture: Fixture) -> bool:
    try:
        if path.stat().st_size != fixture.size:
            return False
        return hashlib.sha256(path.read_bytes()).hexdigest() == fixture.sha256
    except FileNotFoundError:
        return False


def _write(path: Path, fixture: Fixture) -> None:
    content = fixture.content()
    digest = hashlib.sha256(content).hexdigest()
    if digest != fixture.sha256:
        # The generator itself changed: refuse rather than silently move the benchmark.
        raise RuntimeError(f"{fixture.name}: generated sha256 {digest}, pinned {fixture.sha256}")
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)  # never leave a half-written fixture behind


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, then generate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", type=Path, default=DEFAULT_ROOT, help="site root (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root {args.root} is not a directory")  # exits with status 2
    for path in generate(args.root):
        print(f"{path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
