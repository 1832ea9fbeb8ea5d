"""`python -m models prepare`: convert/cache the embedded models once (used by the Dockerfile)."""

from __future__ import annotations

import sys

from models import loader, registry


def main(argv: list[str]) -> int:
    if argv[:1] != ["prepare"]:
        print("usage: python -m models prepare", file=sys.stderr)
        return 2
    for role in ("encoder", "chat"):
        handle = loader.load(registry.default_choice(role).key, progress=print)
        print(f"{handle.choice.label}: {handle.params:,} parameters, {handle.load_seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
