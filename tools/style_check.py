#!/usr/bin/env python3
"""avemo's style check: the rules of ../shared/docs/STYLE.md that a machine can check.

  1. function length: no function in src/ longer than MAX_FUNCTION_LINES (from the line of its name to its
     closing brace; comments, strings and preprocessor lines cannot fool the brace matching);
  2. library surface: the only global symbols of $BUILD/libavemo.a and the only exported symbols of
     $BUILD/libavemo.so are the functions that include/avemo.h declares, all of them (AVEMO_API);
  3. include layers: a file in src/<folder>/ includes only from its own folder, from folders to its left in
     core -> io -> dsp -> nn -> vision | model -> data -> train -> api -> cli (vision and model are peers:
     neither includes the other), or the public include/avemo.h; and api/ never includes train/.

Each violation is one line `file:line: what`; each check ends with `ok ...` or `FAIL ...`, and the last line
is `RESULT <checks passed> <checks failed>` for tests/run.sh (`make test` runs this script after the test
binaries; `make style` runs it alone). Exit status 0 when every check passed.

tools/style_allow.txt lists known violations to tolerate while the code is being fixed, one per line (see the
file); they are printed as `allowed: ...` and do not fail. Standard library only: no third-party module.
"""
import os
import re
import subprocess
import sys

MAX_FUNCTION_LINES = 120
# Rank of each src/ folder in the one direction of dependency; equal ranks (vision, model) are peers.
LAYER_RANK = {"core": 0, "io": 1, "dsp": 2, "nn": 3, "vision": 4, "model": 4, "data": 5, "train": 6,
              "api": 7, "cli": 8}
# Pairs (from, to) forbidden although `to` lies to the left: the public API does not reach into training.
FORBIDDEN_INCLUDES = {("api", "train")}
PUBLIC_HEADER = "include/avemo.h"
ALLOWLIST = "tools/style_allow.txt"

# A comment, a string literal or a character literal (whichever starts first wins, so "//" in a string is
# a string and a quote in a comment is a comment).
_NOT_CODE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
# A preprocessor line with its backslash continuations.
_PREPROCESSOR = re.compile(r'^[ \t]*#(?:[^\n]*\\\n)*[^\n]*', re.M)
_IDENT = re.compile(r'[A-Za-z_]\w*')
_KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "__attribute__", "_Alignas", "_Static_assert"}


def _blank(match):
    """The matched text with every character but newlines replaced by a space (line numbers survive)."""
    return re.sub(r'[^\n]', ' ', match.group(0))


def without_comments(text):
    """C source with its comments blanked out (string literals kept)."""
    return _NOT_CODE.sub(lambda m: m.group(0) if m.group(0)[0] in "\"'" else _blank(m), text)


def code_only(text):
    """C source with comments, string and character literals and preprocessor lines blanked out."""
    return _PREPROCESSOR.sub(_blank, _NOT_CODE.sub(_blank, text))


def _strip_attributes(header):
    """Remove GNU __attribute__((...)) groups from a declaration header."""
    while True:
        m = re.search(r'__attribute__\s*\(', header)
        if not m:
            return header
        depth, i = 0, m.end() - 1
        while i < len(header):
            depth += {"(": 1, ")": -1}.get(header[i], 0)
            i += 1
            if depth == 0:
                break
        header = header[:m.start()] + " " * (i - m.start()) + header[i:]


def _function_name(header):
    """Name of the function whose definition header (text before its body's '{') this is, else None."""
    header = _strip_attributes(header).rstrip()
    if not header.endswith(")"):
        return None  # struct / enum / initializer braces
    depth, i = 0, len(header) - 1
    while i >= 0:  # back to the '(' that opens the parameter list
        depth += {")": 1, "(": -1}.get(header[i], 0)
        if depth == 0:
            break
        i -= 1
    before = header[:i].rstrip()
    if before.endswith(")"):  # returns a function pointer, `int (*name(args))(args)`: the first call-like name
        names = [n for n in re.findall(r'([A-Za-z_]\w*)\s*\((?!\s*\*)', before) if n not in _KEYWORDS]
        return names[0] if names else None
    names = _IDENT.findall(before)  # the name just before the parameter list (REF(f)(...) gives f)
    return names[-1] if names and names[-1] not in _KEYWORDS else None


def functions(text):
    """(name, first line, last line) of each function defined in C source `text` (line of the name to line
    of the closing brace)."""
    code = code_only(text)
    out, depth, header_start, current = [], 0, 0, None
    for m in re.finditer(r'[{};]', code):
        ch, pos = m.group(0), m.start()
        if ch == "{":
            if depth == 0:
                name = _function_name(code[header_start:pos])
                if name:
                    name_pos = code.rfind(name, header_start, pos)
                    current = (name, code.count("\n", 0, name_pos) + 1)
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                if current:
                    out.append((current[0], current[1], code.count("\n", 0, pos) + 1))
                current = None
                header_start = pos + 1
        elif depth == 0:
            header_start = pos + 1
    return out


def source_files(root, exts):
    for dirpath, _, names in os.walk(root):
        for n in sorted(names):
            if n.endswith(exts):
                yield os.path.join(dirpath, n)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def check_function_lengths():
    found = []
    for path in sorted(source_files("src", (".c", ".h"))):
        for name, first, last in functions(read(path)):
            n = last - first + 1
            if n > MAX_FUNCTION_LINES:
                found.append((f"{path} {name}", f"{path}:{first}: function {name} is {n} lines "
                                                  f"(at most {MAX_FUNCTION_LINES})"))
    return found


def public_api():
    """{name: line} of the functions include/avemo.h declares."""
    code = code_only(read(PUBLIC_HEADER))
    return {m.group(1): code.count("\n", 0, m.start()) + 1
            for m in re.finditer(r'\b(avemo_\w+)\s*\(', code)}


def global_symbols(lib):
    """{symbol: nm type} of the symbols that a static archive defines globally, or that a shared library
    exports."""
    dynamic = ["-D"] if lib.endswith(".so") else []
    out = subprocess.run(["nm", "-g", "--defined-only"] + dynamic + [lib], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"nm {lib}: {out.stderr.strip()}")
    syms = {}
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) == 3:
            syms[f[2]] = f[1]
    return syms


def check_library_surface(build):
    found, api = [], public_api()
    for lib in (f"{build}/libavemo.a", f"{build}/libavemo.so"):
        name = os.path.basename(lib)
        if not os.path.exists(lib):
            found.append((f"{name} missing", f"{lib}:1: missing (build it with make)"))
            continue
        syms = global_symbols(lib)
        for s in sorted(set(syms) - set(api)):
            found.append((f"{name} {s}",
                          f"{lib}:1: global symbol {s} ({syms[s]}) is not an avemo_* function of {PUBLIC_HEADER}"))
        for s in sorted(set(api) - set(syms)):
            found.append((f"{name} {s}",
                          f"{PUBLIC_HEADER}:{api[s]}: {s} is not a global symbol of {lib} (AVEMO_API missing?)"))
    return found


def _folder_of(path):
    """src/ folder a header path belongs to (src/nn/ref -> nn), 'public' for include/, else None."""
    path = os.path.normpath(path)
    if path.startswith("include" + os.sep):
        return "public"
    parts = path.split(os.sep)
    return parts[1] if len(parts) > 2 and parts[0] == "src" else None


def check_include_layers():
    found = []
    for path in sorted(source_files("src", (".c", ".h"))):
        here = _folder_of(path)
        text = read(path)
        for m in re.finditer(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', without_comments(text), re.M):
            inc = m.group(1)
            target = next((p for p in (os.path.join(os.path.dirname(path), inc), os.path.join("src", inc),
                                       os.path.join("include", inc)) if os.path.exists(p)), None)
            there = _folder_of(target) if target else None
            if there in (None, "public", here) or here not in LAYER_RANK or there not in LAYER_RANK:
                continue
            if LAYER_RANK[there] >= LAYER_RANK[here] or (here, there) in FORBIDDEN_INCLUDES:
                line = text.count("\n", 0, m.start()) + 1
                rel = ("its peer" if LAYER_RANK[there] == LAYER_RANK[here] else
                       "a higher layer" if LAYER_RANK[there] > LAYER_RANK[here] else "a layer it must not use")
                found.append((f"{path} includes {inc}",
                              f"{path}:{line}: {here}/ includes {inc} from {rel} ({there}/)"))
    return found


def read_allowlist():
    if not os.path.exists(ALLOWLIST):
        return set()
    entries = set()
    for line in read(ALLOWLIST).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            entries.add(" ".join(line.split()))
    return entries


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    os.chdir(root)
    build = os.environ.get("BUILD") or "build"
    allowed = read_allowlist()
    checks = [("function length", check_function_lengths),
              ("library surface", lambda: check_library_surface(build)),
              ("include layers", check_include_layers)]
    passed = failed = 0
    used = set()
    for title, check in checks:
        try:
            found = check()
        except (OSError, RuntimeError) as e:
            found = [(None, f"{title}: {e}")]
        bad = 0
        for key, line in found:
            if key in allowed:
                used.add(key)
                print(f"allowed: {line}")
            else:
                bad += 1
                print(line)
        if bad:
            failed += 1
            print(f"FAIL {title}: {bad} violation(s)")
        else:
            passed += 1
            print(f"ok   {title}" + (f" ({len(found)} allowed by {ALLOWLIST})" if found else ""))
    for key in sorted(allowed - used):
        print(f"note: {ALLOWLIST}: '{key}' is no longer a violation: remove it")
    print(f"RESULT {passed} {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
