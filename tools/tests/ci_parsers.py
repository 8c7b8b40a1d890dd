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
lava      the "parse: pattern:" of this project's LAVA jobs, taken from
          tools/lava/lava.sh (lava_pattern) so that the check and the jobs
          cannot drift, applied as LAVA's test shell applies it: Python's
          re over the console stream, a match a test case, named by its
          test_case_id group, its result group mapped by the job's
          fixupdict (ok pass, not ok fail, SKIP skip). The pattern takes
          the runner's results one "# " deep, where run_kselftest.sh puts
          them, and needs the line end: a line not yet ended is not read.
          run_kselftest.sh's own line for the runner is no case of it (the
          job records the run's verdict as a case of its own).

Output: one "NAME RESULT" line per result read, in stream order.

  ci_parsers.py kernelci|lava < output

With "tally" it counts what a parser read from OUTPUT: the results, the
names read more than once, and the runner's XFAILs read as a fail
(kernelci and lava read OUTPUT themselves; lkft reads the "NAME RESULT"
lines of ksft_results.py or LKFT's parse-output.py from stdin):

  ci_parsers.py tally kernelci|lava|lkft OUTPUT
  -> results N twice N xfail_as_fail N
"""
import os
import re
import subprocess
import sys

KERNELCI_DIR = re.compile(r"^# selftests: (.*)$")
KERNELCI_RESULT = re.compile(r"^(?:# )*(not )?ok \d+ ([^#]+)(# (SKIP)?)?")
LAVA_FIXUP = {"ok": "pass", "not ok": "fail", "SKIP": "skip", "skip": "skip"}


def lava_pattern():
    """The jobs' pattern, as tools/lava/lava.sh prints it."""
    top = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    out = subprocess.run(
        ["bash", "-c", 'HMM_TOP=$1; . "$1/tools/lava/lava.sh"; lava_pattern',
         "_", top], check=True, capture_output=True, text=True).stdout
    return re.compile(out.rstrip("\n"), re.MULTILINE)


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
    return [(m.group("test_case_id"), LAVA_FIXUP[m.group("result")])
            for m in lava_pattern().finditer(text)]


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
