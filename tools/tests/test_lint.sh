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
	out=$(drop_allowed <<< "$out")
	assert_eq "" "$out" "checkpatch findings"
}

# The kernel fixes as a maintainer would check them. Their Fixes: ids
# are upstream commits that this source (a tarball, no git) cannot look
# up: that one check is left out.
test_lint_checkpatch_passes_the_kernel_patches() {
	local -a cps=("$HMM_CACHE"/src/linux-source-6.1-*/scripts/checkpatch.pl)
	local out

	if [[ ! -x ${cps[0]} ]]; then
		echo "no kernel source with checkpatch.pl in $HMM_CACHE/src (run ./run_tests.sh once)"
		return 4
	fi
	out=$("${cps[0]}" --strict --no-tree --terse --show-types \
		--ignore UNKNOWN_COMMIT_ID "$HMM_TOP"/patches/*/*.patch 2>&1 |
		grep -E ': (ERROR|WARNING|CHECK):' || true)
	assert_eq "" "$out" "checkpatch findings in patches/"
}

# Findings that are the point of the files they are in, and only there
# (file glob -> checkpatch type): the version gate is where the module
# may look at the kernel's version; the harness header's macros take a
# flow-control statement as kselftest_harness.h's own SKIP() and
# ASSERT_*() do; in the tests, EXPECT_*() ... TH_LOG() is two statements
# (the check, then the loop that prints the log), so a loop around one
# needs braces or its message is printed after the loop, with the loop
# variable past its end; so too in the tests' shared fixture helpers.
declare -A CHECKPATCH_ALLOWED=(
	[lib/test_hmm_release.h]=LINUX_VERSION_CODE
	[test_hmm/hmm_harness.h]=MACRO_WITH_FLOW_CONTROL
	[tools/testing/selftests/hmm_nocopy/*_test.c]=BRACES
	[tools/testing/selftests/hmm_nocopy/*_fixture.h]=BRACES
	# The uapi's list of page kinds (HMM_NC_CBS) is a run of macro calls,
	# as trace/events/migrate.h's MIGRATE_MODE is: not an expression.
	[lib/test_hmm_uapi_refuse.h]=COMPLEX_MACRO
)

drop_allowed() {
	local line file glob allowed

	while IFS= read -r line; do
		[[ -n $line ]] || continue
		file=${line%%:*}
		allowed=0
		for glob in "${!CHECKPATCH_ALLOWED[@]}"; do
			# shellcheck disable=SC2053  # a glob, on purpose
			[[ $file == $glob &&
			   $line == *":${CHECKPATCH_ALLOWED[$glob]}:"* ]] && allowed=1
		done
		((allowed)) || printf '%s\n' "$line"
	done
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

# The default release's (6.1) kernel source in the cache, and its first
# finished build (one being built has no Module.symvers yet).
cached_src() {
	local -a dirs=("$HMM_CACHE"/src/linux-source-6.1-*)
	[[ -d ${dirs[0]} ]] && echo "${dirs[0]}"
}

cached_kbuild() {
	local d
	for d in "$HMM_CACHE"/kernel/*-linux-source-6.1-*/; do
		[[ -f $d/Module.symvers ]] && echo "$d" && return 0
	done
	return 0
}

# The module (with W=1), the tools and the selftests compile without a
# single warning: a warning here is a bug report waiting to happen.
test_lint_c_builds_without_warnings() {
	local src kbuild tmp out rc=0
	src=$(cached_src)
	kbuild=$(cached_kbuild)
	if [[ -z $src || -z $kbuild ]]; then
		echo "no kernel source and build in $HMM_CACHE (run ./run_tests.sh once)"
		return 4
	fi
	tmp=$(mktemp -d)
	cp "$HMM_TOP"/lib/*.[ch] "$HMM_TOP"/lib/Kbuild "$tmp"/
	mkdir "$tmp/bin"
	out=$({ make -s -C "$kbuild" M="$tmp" W=1 modules &&
		make -s -C "$HMM_TOP/test_hmm" OUTPUT="$tmp/bin" &&
		make -s -C "$HMM_TOP/tools/testing/selftests/hmm_nocopy" \
			KSRC="$src" OUTPUT="$tmp/bin"; } 2>&1) || rc=$?
	rm -rf "$tmp"
	assert_eq 0 "$rc" "build status: $out" || return 1
	assert_not_contains "$out" "warning:" "compiler output"
}
