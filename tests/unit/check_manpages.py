#!/usr/bin/env python3
"""Holds a program's --help and its man page to the same options, and the man
page to what groff (and mandoc, where installed) render without a warning.

    check_manpages.py [--telemetry-source FILE] PROGRAM MANPAGE [PROGRAM MANPAGE ...]

--telemetry-source: every /relay/... command that FILE registers must have an
entry in the TELEMETRY section of the first man page.
"""
import argparse
import re
import shutil
import subprocess
import sys

OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def help_options(program):
    """{long: short or None} from Boost.Program_options' --help layout:
    "  -c [ --config ] FILE   text" or "  --check   text"; description lines
    that wrap are indented further."""
    out = subprocess.run([program, "--help"], capture_output=True, text=True, check=True).stdout
    options = {}
    for line in out.splitlines():
        m = re.match(r"^  (?:-(\w) \[ --([\w-]+) \]|--([\w-]+))", line)
        if m:
            options["--" + (m.group(2) or m.group(3))] = "-" + m.group(1) if m.group(1) else None
    return out, options


def plain(roff_line):
    """A roff line without its macro name, font escapes and quotes."""
    line = re.sub(r"^\.[A-Z]+\s*", "", roff_line)
    line = re.sub(r"\\f[BIRP]|\\c|\\&", "", line)
    return line.replace("\\-", "-").replace('"', "")


def section(text, name):
    m = re.search(r"^\.SH \"?%s\"?\n(.*?)(?=^\.SH |\Z)" % re.escape(name), text, re.M | re.S)
    return m.group(1) if m else ""


def tags(text, name):
    """The tags (the line after .TP) of section NAME, as plain text."""
    lines = section(text, name).splitlines()
    return [plain(line) for prev, line in zip(lines, lines[1:]) if prev.startswith(".TP")]


def man_options(text):
    """{long: short or None} from the tags of OPTIONS."""
    options = {}
    for line in tags(text, "OPTIONS"):
        names = OPTION.findall(line)
        longs = [n for n in names if n.startswith("--")]
        shorts = [n for n in names if not n.startswith("--")]
        if len(longs) != 1 or len(shorts) > 1:
            raise SystemExit(f"cannot read the OPTIONS tag {line!r}")
        options[longs[0]] = shorts[0] if shorts else None
    return options


def lint(manpage):
    """Warnings of the renderers, as a list of lines."""
    problems = []
    groff = shutil.which("groff")
    if not groff:
        return ["groff is missing (Debian package groff-base)"]
    r = subprocess.run([groff, "-t", "-man", "-Tutf8", "-ww", "-z", manpage],
                       capture_output=True, text=True)
    problems += [f"groff: {l}" for l in r.stderr.splitlines()]
    if r.returncode:
        problems.append(f"groff exited {r.returncode}")
    mandoc = shutil.which("mandoc")
    if mandoc:
        r = subprocess.run([mandoc, "-T", "lint", "-W", "warning", manpage],
                           capture_output=True, text=True)
        problems += [f"mandoc: {l}" for l in (r.stdout + r.stderr).splitlines()]
    else:
        print(f"  {manpage}: mandoc not installed (Debian package mandoc): groff alone checked")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--telemetry-source")
    ap.add_argument("pairs", nargs="+")
    args = ap.parse_args()
    if len(args.pairs) % 2:
        ap.error("expected PROGRAM MANPAGE pairs")
    failures = []
    for i in range(0, len(args.pairs), 2):
        program, manpage = args.pairs[i], args.pairs[i + 1]
        name = program.rsplit("/", 1)[-1]
        with open(manpage, encoding="utf-8") as f:
            text = f.read()
        help_text, in_help = help_options(program)
        in_man = man_options(text)
        print(f"{name}: --help {sorted(in_help)}, man page {sorted(in_man)}")
        for opt in sorted(set(in_help) - set(in_man)):
            failures.append(f"{name}: {opt} is in --help but not in OPTIONS of {manpage}")
        for opt in sorted(set(in_man) - set(in_help)):
            failures.append(f"{name}: {opt} is in OPTIONS of {manpage} but not in --help")
        for opt in sorted(set(in_help) & set(in_man)):
            if in_help[opt] != in_man[opt]:
                failures.append(f"{name}: {opt}: short form {in_help[opt]} in --help, "
                                f"{in_man[opt]} in the man page")
        if f"{name}(8)" not in help_text:
            failures.append(f"{name} --help does not point to {name}(8)")
        for left in re.findall(r"@[A-Z_]+@", text):
            failures.append(f"{manpage}: {left} was not substituted")
        failures += [f"{manpage}: {p}" for p in lint(manpage)]
        if i == 0 and args.telemetry_source:
            with open(args.telemetry_source, encoding="utf-8") as f:
                commands = re.findall(r'\{\s*"(/relay/[^"]+)",\s*locked<', f.read())
            documented = {re.split(r"[\s,\[]", t.strip())[0] for t in tags(text, "TELEMETRY")}
            print(f"{name}: telemetry commands {commands}")
            if not commands:
                failures.append(f"no telemetry command found in {args.telemetry_source}")
            for c in commands:
                if c not in documented:
                    failures.append(f"{manpage}: TELEMETRY has no entry for {c}")
    for f in failures:
        print("FAIL", f)
    if not failures:
        print("every option and telemetry command documented, pages render without warnings")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
