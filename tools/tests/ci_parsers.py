#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Reads kselftest output the way two line-based CI parsers do.

Written for this project's tests from each parser's documented
behaviour (CI cannot fetch the parsers); LKFT's nested TAP parser is
ksft_results.py beside this file.

kernelci  KernelCI's fork of Linaro's test-definitions,
          automated/linux/kselftest/kselftest.sh, parse_output() (branches
          chromeos and chromeos.kernelci.org, ca29308; its kernelci.org
          branch now calls LKFT's parse-output.py): a line
          "# selftests: DIR: BIN" names the directory; every line that is
          "ok N NAME" or "not ok N NAME" after any number of "# " is a
          result, named DIR.NAME (":" and "/" made "."), NAME taken up to
          the first "#"; a "# SKIP" after it makes a skip, "not ok" a fail,
          anything else (XFAIL too) a pass.
lava      the LAVA test definition's "parse: pattern:" of issue #27
          (tools/lava/): a line that starts with any number of "# ", then
          "ok N NAME" or "not ok N NAME", up to a "#" directive and the line
          end; "not ok" is a fail, a "# SKIP" directive a skip, anything
          else a pass. A line not yet ended is not read (the console is a
          stream).

Output: one "NAME RESULT" line per result read, in stream order.

  ci_parsers.py kernelci|lava < output

With "tally" it counts what a parser read from OUTPUT: the results, the
names read more than once, and the runner's XFAILs read as a fail
(kernelci and lava read OUTPUT themselves; lkft reads the "NAME RESULT"
lines of ksft_results.py or LKFT's parse-output.py from stdin):

  ci_parsers.py tally kernelci|lava|lkft OUTPUT
  -> results N twice N xfail_as_fail N
"""
import re
import sys

KERNELCI_DIR = re.compile(r"^# selftests: (.*)$")
KERNELCI_RESULT = re.compile(r"^(?:# )*(not )?ok \d+ ([^#]+)(# (SKIP)?)?")
LAVA_RESULT = re.compile(
    r"^(?:# )*(?P<result>ok|not ok) \d+ (?P<name>[^#\r\n]+?) *"
    r"(?:# *(?P<directive>[^\r\n]*))?[\r\n]", re.MULTILINE)


def kernelci(text):
    testdir = ""
    out = []
    for line in text.splitlines():
        m = KERNELCI_DIR.match(line)
        if m:
            testdir = re.sub(r"[:/]\s*", ".", m.group(1))
            continue
        m = KERNELCI_RESULT.match(line)
        if not m:
            continue
        name = m.group(2).rstrip()
        if name.startswith("selftests: "):
            name = re.sub(r"[:/]\s*", ".", name[len("selftests: "):])
        else:
            name = f"{testdir}.{name}"
        if m.group(4) == "SKIP":
            result = "skip"
        elif m.group(1):
            result = "fail"
        else:
            result = "pass"
        out.append((name, result))
    return out


def lava(text):
    out = []
    for m in LAVA_RESULT.finditer(text):
        directive = m.group("directive") or ""
        if m.group("result") == "not ok":
            result = "fail"
        elif directive.upper().startswith("SKIP"):
            result = "skip"
        else:
            result = "pass"
        out.append((m.group("name"), result))
    return out


# The runner's XFAIL results, at whatever depth run_kselftest.sh put them.
RUNNER_XFAIL = re.compile(r"^(?:# )*ok \d+ (\S+) # XFAIL")


def lkft_slug(text):
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")


def tally(rule, path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if rule == "lkft":
        read = [tuple(line.split()[:2]) for line in sys.stdin if line.strip()]
    else:
        read = {"kernelci": kernelci, "lava": lava}[rule](text)
    names = [name for name, _ in read]
    twice = len(names) - len(set(names))
    xfail = 0
    for line in text.splitlines():
        m = RUNNER_XFAIL.match(line)
        if not m:
            continue
        test = m.group(1)
        for name, result in read:
            same = (name.endswith("_" + lkft_slug(test)) or name == lkft_slug(test)
                    if rule == "lkft" else
                    name == test or name.endswith("." + test))
            if same and result == "fail":
                xfail += 1
    print(f"results {len(read)} twice {twice} xfail_as_fail {xfail}")


def main():
    rules = {"kernelci": kernelci, "lava": lava}
    if len(sys.argv) == 4 and sys.argv[1] == "tally" and \
            sys.argv[2] in ("kernelci", "lava", "lkft"):
        tally(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) != 2 or sys.argv[1] not in rules:
        sys.exit("usage: ci_parsers.py kernelci|lava < output, "
                 "ci_parsers.py tally kernelci|lava|lkft OUTPUT")
    for name, result in rules[sys.argv[1]](sys.stdin.read()):
        print(name, result)


if __name__ == "__main__":
    main()
