#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checks that a LAVA device dictionary has what a job needs.

    device_check.py DEVICE.yaml JOB.yaml

LAVA's dispatcher fails late, or with a Python traceback, on a device
dictionary that lacks what the job's actions look up; this names the
first missing key before anything boots. Exit status 1 and one line on
stderr when a key is missing.
"""
import sys

import yaml

# What a tmpfs deploy and a qemu boot of our jobs read from the device.
NEEDED = [
    ("constants", "boot_retry"),
    ("constants", "posix", "lava_test_results_dir"),
    ("constants", "posix", "lava_test_sh_cmd"),
    ("constants", "default-shell-prompt"),
    ("actions", "deploy", "methods", "image", "parameters", "guest"),
    ("actions", "boot", "methods", "qemu", "parameters", "command"),
    ("actions", "boot", "methods", "qemu", "parameters", "options"),
]


def lookup(tree, path):
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return False
        tree = tree[key]
    return True


def main(device_file, job_file):
    with open(device_file) as f:
        device = yaml.safe_load(f)
    with open(job_file) as f:
        job = yaml.safe_load(f)
    if not isinstance(device, dict):
        sys.exit("not a YAML mapping")
    for path in NEEDED:
        if not lookup(device, path):
            sys.exit("missing key %s" % ".".join(path))
    arch = job.get("context", {}).get("arch")
    if arch not in (device.get("available_architectures") or []):
        sys.exit("available_architectures lacks the job's context.arch '%s'"
                 % arch)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
