#!/usr/bin/env python3
"""Checks that every quote of the baseline libraries occurs in its source.

  python3 deploy/baselines/check_sources.py SEEDS_DIR [LIBRARY.yaml ...]

For each library (default: every deploy/baselines/*.yaml) whose source_file
is a file in SEEDS_DIR (the published texts, shared/seeds/ beside the
repository), checks that its population_text and every entry's source_text
and follow_up_text occur in that file, comparing with runs of white space
collapsed to one space (the seeds keep the line breaks of the web pages).
Libraries whose source is not a seed file (a PubMed abstract) are listed
with their quotes, to be checked by hand.

Run by hand: CI has no copy of the seeds. Exits 1 if a quote is missing.
Needs PyYAML (Debian: python3-yaml).
"""
import pathlib
import re
import sys

import yaml


def normalized(text):
    return re.sub(r"\s+", " ", str(text)).strip()


def quotes(library):
    """(where, quote) for every quote the library makes."""
    found = []
    if library.get("population_text"):
        found.append(("population_text", library["population_text"]))
    for i, entry in enumerate(library.get("entries") or []):
        for field in ("source_text", "follow_up_text"):
            if entry.get(field):
                found.append((f"entries[{i}] ({entry.get('id')}).{field}",
                              entry[field]))
    return found


def check(path, seeds):
    library = yaml.safe_load(path.read_text(encoding="utf-8"))
    source = seeds / str(library.get("source_file", ""))
    if not source.is_file():
        print(f"{path.name}: source {library.get('source_file')!r} is not a "
              "seed file; check these quotes by hand:")
        for where, quote in quotes(library):
            print(f"    {where}: {normalized(quote)!r}")
        return 0
    text = normalized(source.read_text(encoding="utf-8"))
    missing = 0
    for where, quote in quotes(library):
        if normalized(quote) not in text:
            print(f"{path.name}: {where}: not in {source.name}: "
                  f"{normalized(quote)!r}")
            missing += 1
    count = len(quotes(library))
    print(f"{path.name}: {count - missing} of {count} quotes found in "
          f"{source.name}")
    return missing


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    seeds = pathlib.Path(argv[1])
    if not seeds.is_dir():
        print(f"{seeds}: not a directory", file=sys.stderr)
        return 2
    here = pathlib.Path(__file__).resolve().parent
    paths = [pathlib.Path(p) for p in argv[2:]] or sorted(here.glob("*.yaml"))
    missing = sum(check(p, seeds) for p in paths)
    print("all quotes found" if missing == 0 else f"{missing} quote(s) missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
