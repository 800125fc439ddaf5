#!/usr/bin/env python3
"""Lists C++ functions of N or more lines (definition's first line to its
closing brace), longest first, and checks them against the exceptions that
docs/architecture.md names.

  python3 tests/function_lengths.py [--min 100] [--check] [paths...]

With --check (ctest lint_function_length), exits 1 if a function in
services/, storage/ or clients/ has 100 or more lines and is not listed in
the table of docs/architecture.md's "Long functions" section, if a listed one
is over 160 lines, or if more than 5 are listed.

A scanner, not a parser: it relies on clang-format's Google style (a function
body opens on its signature's line), skips strings, characters and comments,
and treats namespace/class/struct/enum/extern braces as containers.
"""
import argparse
import pathlib
import re
import subprocess
import sys

CONTAINER = re.compile(r"\b(namespace|class|struct|union|enum|extern)\b")
CONTROL = re.compile(r"^\s*(if|for|while|switch|catch|do|else|try)\b")
CHECKED_DIRS = ("services/", "storage/", "clients/")
LIMIT, HARD_LIMIT, MAX_EXCEPTIONS = 100, 160, 5


def strip_code(text):
    """Blanks comments, strings and character literals, keeping newlines."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (
                i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():
                out.append(" ")  # digit separator: 1'000
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    """Yields (name, first_line, length) for each function-like body."""
    code = strip_code(path.read_text())
    stack = []  # 'container' | ('function', name, first_line) | 'block'
    header_start = 0  # offset after the last ; { or }
    line_of = lambda offset: code.count("\n", 0, offset) + 1
    for i, c in enumerate(code):
        if c == "{":
            header = code[header_start:i]
            inside_function = any(isinstance(s, tuple) for s in stack)
            if inside_function:
                stack.append("block")
            elif CONTAINER.search(header) and "(" not in header.split("{")[0]:
                stack.append("container")
            elif "(" in header and not CONTROL.match(header) and not re.search(
                    r"=\s*$", header.strip()):
                name = re.findall(r"([~\w:]+)\s*\(", header)
                first = header_start + len(header) - len(header.lstrip())
                stack.append(("function", name[0] if name else "?",
                              line_of(first)))
            else:
                stack.append("block")
            header_start = i + 1
        elif c == "}":
            top = stack.pop() if stack else "block"
            if isinstance(top, tuple):
                yield top[1], top[2], line_of(i) - top[2] + 1
            header_start = i + 1
        elif c == ";":
            header_start = i + 1


def exceptions_in_docs(root):
    """Names (file:function) listed under docs/architecture.md's
    '## Long functions' table."""
    doc = root / "docs" / "architecture.md"
    if not doc.exists():
        return []
    section = doc.read_text().split("## Long functions", 1)
    if len(section) < 2:
        return []
    body = section[1].split("\n## ", 1)[0]
    return re.findall(r"^\|\s*`([^`]+)`", body, re.M)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--min", type=int, default=LIMIT)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent
    paths = args.paths or subprocess.run(
        ["git", "ls-files", "*.cc", "*.h"], cwd=root, capture_output=True,
        text=True, check=True).stdout.split()
    found = []
    for rel in paths:
        for name, line, length in functions(root / rel):
            if length >= args.min:
                found.append((length, f"{rel}:{name}", line))
    found.sort(reverse=True)
    for length, where, line in found:
        print(f"{length:5d}  {where}  (line {line})")
    print(f"{len(found)} functions of {args.min} lines or more")
    if not args.check:
        return 0
    allowed = exceptions_in_docs(root)
    errors = []
    if len(allowed) > MAX_EXCEPTIONS:
        errors.append(f"{len(allowed)} exceptions listed; at most "
                      f"{MAX_EXCEPTIONS}")
    for length, where, _ in found:
        if not where.startswith(CHECKED_DIRS) or length < LIMIT:
            continue
        if where not in allowed:
            errors.append(f"{where}: {length} lines and not listed in "
                          "docs/architecture.md (Long functions)")
        elif length > HARD_LIMIT:
            errors.append(f"{where}: {length} lines, over {HARD_LIMIT}")
    for e in errors:
        print("function length:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
