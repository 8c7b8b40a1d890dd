#!/usr/bin/env bash
# Style: shellcheck on every script, checkpatch --strict on all C.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"

shell_scripts() {
	cd "$HMM_TOP" && git ls-files --cached --others --exclude-standard | while read -r f; do
		[[ -f $f ]] && head -n 1 "$f" | grep -qE '^#!.*(ba|da)?sh' && echo "$f"
	done
	return 0
}

c_sources() {
	cd "$HMM_TOP" && git ls-files --cached --others --exclude-standard -- '*.c' '*.h'
}

test_lint_shellcheck_is_clean() {
	local -a files
	mapfile -t files < <(shell_scripts)
	(cd "$HMM_TOP" && shellcheck -x "${files[@]}")
}

test_lint_checkpatch_is_clean() {
	local cp out
	local -a files
	local -a cps=("$HMM_CACHE"/src/linux-source-6.1-*/scripts/checkpatch.pl)
	cp=${cps[0]}
	if [[ ! -x $cp ]]; then
		echo "no kernel source with checkpatch.pl in $HMM_CACHE/src (run ./run_tests.sh once)"
		return 4
	fi
	mapfile -t files < <(c_sources)
	cd "$HMM_TOP" || return
	out=$("$cp" --strict --no-tree --terse --show-types -f "${files[@]}" 2>&1 |
		grep -E ': (ERROR|WARNING|CHECK):' || true)
	assert_eq "" "$out" "checkpatch findings"
}
