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
	out=$(drop_kernel_camelcase "$(dirname "$(dirname "$cp")")" <<< "$out")
	assert_eq "" "$out" "checkpatch findings"
}

# In a kernel tree, checkpatch's CamelCase check accepts identifiers the
# tree's headers declare (__SetPageMovable is the kernel's name, not
# ours); --no-tree cannot know them. Drop exactly those findings.
drop_kernel_camelcase() {
	local src=$1 line ident

	while IFS= read -r line; do
		[[ -n $line ]] || continue
		if [[ $line =~ CAMELCASE:\ Avoid\ CamelCase:\ \<([A-Za-z0-9_]+)\> ]]; then
			ident=${BASH_REMATCH[1]}
			grep -rqw -- "$ident" "$src/include" && continue
		fi
		printf '%s\n' "$line"
	done
}
