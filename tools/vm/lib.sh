#!/usr/bin/env bash
# Shared helpers of the VM harness: messages, paths and small checks.
# Sourced by run_tests.sh and the stage scripts; defines no behaviour of
# its own.
# shellcheck disable=SC2034  # the paths are used by the sourcing scripts

HMM_TOP=${HMM_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HMM_VM_DIR="$HMM_TOP/tools/vm"
HMM_CACHE=${HMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/test_hmm}
HMM_BUILD=${HMM_BUILD:-$HMM_TOP/build}

info() {
	printf '# %s\n' "$*" >&2
}

die() {
	printf 'run_tests: error: %s\n' "$*" >&2
	exit 2
}

# Prints a file's last lines under a heading, for failures of long steps.
show_tail() {
	local file=$1 lines=${2:-40}

	printf -- '--- last %s lines of %s ---\n' "$lines" "$file" >&2
	tail -n "$lines" "$file" >&2 || true
	printf -- '--- end of %s ---\n' "$file" >&2
}

# A stable short hash of the named files' contents and extra words.
content_hash() {
	{
		local f
		for f in "$@"; do
			if [[ -f $f ]]; then
				cat -- "$f"
			else
				printf '%s\n' "$f"
			fi
		done
	} | sha256sum | cut -c1-16
}

# The files the suite's runner needs beside it, as its Makefile installs
# them (HMM_RUNNER_FILES), one a line, with the runner first.
runner_files() {
	local dir=$HMM_TOP/tools/testing/selftests/hmm_nocopy

	printf '%s\n' "$dir/run_hmm_nocopy.sh"
	sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' "$dir/Makefile" |
		sed -n 's/^HMM_RUNNER_FILES := //p' | tr -s ' \t' '\n' |
		sed "s|^|$dir/|"
}

nproc_build() {
	nproc 2>/dev/null || echo 2
}
