"""`python -m models prepare [NAME ...] [--force]`: convert the embedded models once and train
the prepared states the pages open on (see models/prepared.py). The Dockerfile runs it at build
time; `make prepare` runs it here."""

from __future__ import annotations

import argparse
import sys

from models import loader, prepared, registry


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m models", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    prep = sub.add_parser("prepare", help="convert embedded models, train prepared states")
    prep.add_argument("names", nargs="*", help="only these states (default: all)")
    prep.add_argument("--force", action="store_true", help="train again even if present")
    prep.add_argument("--list", action="store_true", help="list the states and exit")
    args = p.parse_args(argv)
    if args.list:
        for s in prepared.STEPS:
            state = "ready" if prepared.ready(s.name) else "missing"
            print(f"{s.name:24} {state:8} ~{s.minutes:g} min  {s.title}")
        return 0
    for role in ("encoder", "chat"):
        handle = loader.load(registry.default_choice(role).key, progress=print)
        print(f"{handle.choice.label}: {handle.params:,} parameters, {handle.load_seconds:.1f} s")
    unknown = sorted(set(args.names) - {s.name for s in prepared.STEPS})
    if unknown:
        p.error(f"unknown state(s): {', '.join(unknown)}")
    try:
        prepared.prepare(args.names or None, force=args.force)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
