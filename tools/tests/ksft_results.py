#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Reads run_kselftest.sh output the way LKFT does, and prints its results.

LKFT (Linaro's test-definitions, automated/linux/kselftest/parse-output.py)
parses kselftest output with python3-tap's tap.parser: every "# " comment
line is one level of nesting, stripped and parsed again as the children of
the result line that follows it; a result's name is its description, with
a SKIP directive's reason appended, reduced to [A-Za-z0-9_-]; children are
named after their parents (parent_child); a name seen again gets _dup2,
_dup3, ... This does the same, written for this project's tests, so that
they see the suite's output as LKFT's parser does.

Output: one "NAME RESULT DIRECTIVE" line per result (RESULT pass, fail or
skip as LKFT records it; DIRECTIVE the first word of the TAP directive, or
"-"), leaves before their parents, in stream order.

  ksft_results.py < run_kselftest-output.txt
"""
import contextlib
import re
import sys

from tap import parser


def lkft_slug(text):
    """The name LKFT records: runs of other characters become one _."""
    text = re.sub(r"\[\d{1,5}\]", "", text)
    text = re.sub(r"[^A-Za-z0-9_-]+", "_", text)
    text = re.sub(r"(^_|_$)", "", text)
    return re.sub(r"_-", "__", text)


def one_level_down(line):
    """A comment line of this level as a line of the nested level."""
    return line[1:].strip() if line.startswith("#") else line


def result_name(line):
    name = line.description
    if name.startswith("selftests:"):
        name = name[len("selftests:"):]
    directive = line.directive.text
    if line.ok and line.skip and directive.lower().startswith("skip"):
        name = f"{name} {directive[4:]}"
    return lkft_slug(name.strip()) or "<unknown>"


def parse(text):
    """The results of one level: (name, result, directive, children)."""
    results = []
    nested = []
    for line in parser.Parser().parse_text(text):
        if line.category == "test":
            if not line.ok:
                outcome = "fail"
            elif line.skip:
                outcome = "skip"
            else:
                outcome = "pass"
            words = line.directive.text.split()
            results.append((result_name(line), outcome,
                            words[0] if words else "-",
                            parse("".join(nested))))
            nested = []
        elif line.category == "diagnostic":
            nested.append(one_level_down(line.text) + "\n")
    return results


def flatten(prefix, results):
    out = []
    for name, outcome, directive, children in results:
        full = prefix + name
        out += flatten(full + "_", children)
        out.append([full, outcome, directive])
    return out


def unique(results):
    seen = {}
    for r in results:
        seen[r[0]] = seen.get(r[0], 0) + 1
        if seen[r[0]] > 1:
            r[0] += f"_dup{seen[r[0]]}"


def main():
    # Without its optional imports tap.parser warns on stdout.
    with contextlib.redirect_stdout(sys.stderr):
        tree = parse(sys.stdin.read())
    results = flatten("", tree)
    unique(results)
    for name, outcome, directive in results:
        print(name, outcome, directive)


if __name__ == "__main__":
    main()
