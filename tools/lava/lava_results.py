#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Reads what a standalone lava-run recorded in its log.

    lava_results.py cases LOG     the test cases of the test definitions:
                                  "name<TAB>result", in order
    lava_results.py console LOG   the console lines LAVA kept, in order
    lava_results.py job LOG       "result<TAB>error_type<TAB>error_msg" of
                                  the job (LAVA's own verdict on the run)
    lava_results.py phases LOG    seconds of each top-level action:
                                  "name<TAB>seconds", one a line

lava-run writes one YAML mapping a line (lvl, dt, msg): test cases only
there ("lvl: results"; --output-dir gets the job's verdict alone). The
lines are YAML, not JSON (tags such as ! "491" appear): a YAML loader
reads them.
"""
import datetime
import re
import sys

import yaml

START = re.compile(r"^(start|end): (\d+) (\S+)")


def records(path):
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                rec = yaml.safe_load(line)
            except yaml.YAMLError:
                continue
            if isinstance(rec, dict):
                yield rec


def cases(path):
    for rec in records(path):
        msg = rec.get("msg")
        if rec.get("lvl") != "results" or not isinstance(msg, dict):
            continue
        if msg.get("definition") in (None, "lava"):
            continue
        print("%s\t%s" % (msg.get("case"), msg.get("result")))


def console(path):
    for rec in records(path):
        if rec.get("lvl") == "target" and isinstance(rec.get("msg"), str):
            print(rec["msg"].rstrip("\r"))


def job(path):
    verdict = ("incomplete", "-", "lava-run recorded no job result")
    for rec in records(path):
        msg = rec.get("msg")
        if rec.get("lvl") == "results" and isinstance(msg, dict) \
                and msg.get("definition") == "lava" and msg.get("case") == "job":
            verdict = (msg.get("result"), msg.get("error_type", "-"),
                       str(msg.get("error_msg", "-")).replace("\n", " "))
    print("\t".join(verdict))


def phases(path):
    began = {}
    for rec in records(path):
        msg = rec.get("msg")
        if rec.get("lvl") != "info" or not isinstance(msg, str):
            continue
        m = START.match(msg)
        if not m:
            continue
        when = datetime.datetime.fromisoformat(rec["dt"])
        if m.group(1) == "start":
            began[m.group(2)] = when
        elif m.group(2) in began:
            secs = (when - began.pop(m.group(2))).total_seconds()
            print("%s\t%.1f" % (m.group(3), secs))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("cases", "console", "job", "phases"):
        sys.exit(__doc__)
    globals()[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    main()
