#!/usr/bin/env python3
"""List dead code: functions defined with external linkage that no other object file references.

  tools/dead_code.py OBJECT...      (`make deadcode` passes an -O0 build of src/, tests/, bench/, examples/)

A function (nm type T) defined in one object and undefined (U) in none of the others has no caller outside
its file. Among those, one whose name appears again in its own source file (code only: comments and strings
do not count) is used there and could be `static`; one that does not has no caller at all. `main`,
LLVMFuzzerTestOneInput and the public API of include/avemo.h are not listed. Prints one line per function,
`file:line: name: what`; always exits 0 (it reports, the lead decides).
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import style_check  # noqa: E402  (its C reader: comments, strings and preprocessor lines blanked)

ENTRY_POINTS = {"main", "LLVMFuzzerTestOneInput"}


def symbols(objects):
    """{object: set of functions it defines}, {object: set of symbols it references (undefined)}."""
    out = subprocess.run(["nm", "-A", "-P", "-g"] + objects, capture_output=True, text=True, check=True)
    defined, undefined = {o: set() for o in objects}, {o: set() for o in objects}
    for line in out.stdout.splitlines():
        obj, _, rest = line.partition(": ")
        f = rest.split()
        if len(f) < 2:
            continue
        if f[1] in ("T", "W"):
            defined[obj].add(f[0])
        elif f[1] in ("U", "w", "v"):  # undefined, or weak undefined (main.c's table of commands)
            undefined[obj].add(f[0])
    return defined, undefined


def source_of(obj):
    """src/x/y.c for BUILD/xref/src/x/y.o."""
    path = obj[:-2] + ".c"
    m = re.search(r'(?:^|/)xref/(.*)$', path)
    return m.group(1) if m else path


def main(objects):
    if not objects:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    defined, undefined = symbols(objects)
    api = set(style_check.public_api())
    dead = []
    for obj in objects:
        callers_elsewhere = set().union(*(undefined[o] for o in objects if o != obj))
        for name in sorted(defined[obj] - callers_elsewhere - ENTRY_POINTS - api):
            src = source_of(obj)
            text = style_check.read(src) if os.path.exists(src) else ""
            code = style_check.code_only(text)
            line = next((first for fn, first, _ in style_check.functions(text) if fn == name), 1)
            uses = len(re.findall(r'\b%s\b' % re.escape(name), code))
            what = "used only inside its own file (could be static)" if uses > 1 else "no caller"
            dead.append((what != "no caller", f"{src}:{line}: {name}: {what}"))
    print(f"# {sum(not s for s, _ in dead)} function(s) without a caller, "
          f"{sum(s for s, _ in dead)} used only in their own file, over {len(objects)} objects")
    for _, line in sorted(dead):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
