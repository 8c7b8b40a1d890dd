#!/usr/bin/env bash
# make matrix's table: rows from each release's run output, the text and
# Markdown tables, and the JUnit file with one testsuite per release.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
HMM_MATRIX_LIB=1
# shellcheck source=tools/vm/matrix.sh
source "$HMM_TOP/tools/vm/matrix.sh"

# A run's output as run_tests.sh prints it (nested lines indented).
fake_log() {
	cat <<-'LOG'
	KTAP version 1
	1..4
	ok 1 module.load
	    ok 1 anon.x # XFAIL not this one: nested
	ok 2 anon.a
	ok 3 file.b # SKIP MIGRATE_SYNC_NO_COPY is not in this kernel (removed in 6.11)
	ok 4 file.kernel_bug # XFAIL 6.1 bug
	# guest ran for 212s
	3 passed, 0 failed, 1 skipped
	LOG
}

test_matrix_row_counts_verdict_xfail_and_guest_time() {
	local dir

	dir=$(mktemp -d)
	fake_log > "$dir/log"
	assert_eq "6.1 3 0 1 1 212 0" "$(matrix_row 6.1 0 "$dir/log")"
	rm -rf "$dir"
}

test_matrix_row_of_a_run_without_verdict_is_a_failure() {
	local dir

	dir=$(mktemp -d)
	printf 'run_tests: error: kernel build failed\n' > "$dir/log"
	assert_eq "5.10 0 1 0 0 - 2" "$(matrix_row 5.10 2 "$dir/log")"
	rm -rf "$dir"
}

test_matrix_tables_have_a_line_per_release() {
	local dir text md

	dir=$(mktemp -d)
	printf '5.10 120 0 12 0 190 0\n6.1 131 0 1 1 240 0\n6.12 70 1 60 0 150 1\n' \
		> "$dir/rows"
	text=$(matrix_table "$dir/rows")
	md=$(matrix_markdown "$dir/rows")
	assert_eq 4 "$(wc -l <<< "$text")" "text lines" &&
	assert_contains "$text" "6.12          70       1       60      0            150  (exit 1)" &&
	assert_contains "$md" "| release | passed | failed | skipped | XFAIL | guest seconds |" &&
	assert_contains "$md" "| 6.1 | 131 | 0 | 1 | 1 | 240 |"
	rm -rf "$dir"
}

test_matrix_junit_has_one_suite_per_release() {
	local dir xml

	dir=$(mktemp -d)
	printf '6.1 1 0 0 0 9 0\n6.12 0 1 0 0 - 2\n' > "$dir/rows"
	printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="hmm_nocopy" tests="1" failures="0" skipped="0">\n  <testcase classname="anon" name="anon.a"></testcase>\n</testsuite>\n' \
		> "$dir/6.1.xml"
	xml=$(matrix_junit "$dir")
	assert_eq 1 "$(grep -c '<testsuite name="hmm_nocopy-6.1"' <<< "$xml")" "6.1 suite" &&
	assert_eq 1 "$(grep -c '<testsuite name="hmm_nocopy-6.12" tests="1" failures="1"' <<< "$xml")" \
		"6.12 suite (no results)" &&
	assert_eq 1 "$(grep -c '^<?xml' <<< "$xml")" "one XML declaration" &&
	if command -v xmllint > /dev/null; then
		xmllint --noout - <<< "$xml"
	fi
	rm -rf "$dir"
}

test_matrix_patched_adds_a_fix_row_only_where_patches_exist() {
	assert_eq $'6.1 6.1\n9.9 9.9' "$(matrix_runs 0 6.1 9.9)" "unpatched" &&
	assert_eq $'6.1 6.1\n6.1+fix 6.1\n9.9 9.9' "$(matrix_runs 1 6.1 9.9)" \
		"patched"
}
