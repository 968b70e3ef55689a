#!/usr/bin/env python3
"""House rule: no function longer than a limit (default 80 lines) outside tests/.

The code is clang-formatted (Google style, namespaces not indented), so a
function definition at namespace scope starts with a line at column 0 that
ends in '{' and is not a namespace/class/struct/enum/union head, and ends at
the next '}' at column 0. Lambdas and local classes count toward their
enclosing function, as they should. Prints each offender as file:line name
(lines) and exits 1 when there is any.
"""
import pathlib
import re
import sys

HEADS = re.compile(r"^(namespace|class|struct|enum|union|extern|template\s*<[^>]*>\s*(class|struct))\b")


def functions(path):
    lines = path.read_text(errors="replace").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        head = line and not line[0].isspace() and "(" in line and not HEADS.match(line) \
            and not line.startswith(("#", "//", "}")) and "=" not in line.split("(")[0]
        if not head:
            i += 1
            continue
        # The signature may span lines; it ends at the first line ending in '{' or ';'.
        sig_end = i
        while sig_end < len(lines) and sig_end < i + 8 and not lines[sig_end].rstrip().endswith(("{", ";")):
            sig_end += 1
        if sig_end >= len(lines) or not lines[sig_end].rstrip().endswith("{"):
            i = sig_end + 1
            continue
        end = sig_end + 1
        while end < len(lines) and not lines[end].startswith("}"):
            end += 1
        name = re.sub(r"\s+", " ", " ".join(lines[i:sig_end + 1]))[:100]
        yield i + 1, end - i + 1, name
        i = end + 1


def main():
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 80
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    bad = []
    for path in sorted(root.rglob("*.cpp")) + sorted(root.rglob("*.h")):
        rel = path.relative_to(root)
        if rel.parts[0] in ("tests", "build", ".git") or rel.parts[0].startswith("build"):
            continue
        for line, length, name in functions(path):
            if length > limit:
                bad.append(f"{rel}:{line} {length} lines: {name}")
    for b in bad:
        print(b)
    print(f"{len(bad)} function(s) over {limit} lines")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
