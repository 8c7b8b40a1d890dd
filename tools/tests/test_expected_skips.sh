#!/usr/bin/env bash
# The end-to-end tests' check of the suite's skips against the list of
# those expected on the default kernel, on recorded runner output.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/tests/skips.sh
source "$HMM_TOP/tools/tests/skips.sh"

DATA=$HMM_TOP/tools/tests/data
# The one skip of the recorded run_kselftest.sh output.
HUGETLB_SKIP="huge.hugetlbfs_nocopy_through_hugetlbfs_migrate_folio no exported hugetlb folio allocator"

# skips LIST-TEXT FILE: checks the recorded FILE against a list of
# LIST-TEXT; sets out and rc.
skips() {
	local list
	list=$(mktemp)
	printf '%s\n' "$1" > "$list"
	set +e
	out=$(unexpected_skips "$list" < "$DATA/$2")
	rc=$?
	set -e
	rm -f "$list"
}

test_skips_unlisted_skip_fails_naming_it() {
	skips "# nothing expected" kselftest-hmm_nocopy-6.1.txt
	assert_eq 1 "$rc" status
	assert_eq "unexpected skip: huge.hugetlbfs_nocopy_through_hugetlbfs_migrate_folio (no exported hugetlb folio allocator)" \
		"$out" output
}

test_skips_listed_skip_with_its_reason_passes() {
	skips "$HUGETLB_SKIP" kselftest-hmm_nocopy-6.1.txt
	assert_eq 0 "$rc" status
	assert_eq "" "$out" output
}

test_skips_listed_skip_whose_reason_changed_fails() {
	skips "huge.hugetlbfs_nocopy_through_hugetlbfs_migrate_folio no hugetlb pages" \
		kselftest-hmm_nocopy-6.1.txt
	assert_eq 1 "$rc" status
	assert_eq 'skip reason changed: huge.hugetlbfs_nocopy_through_hugetlbfs_migrate_folio: listed "no hugetlb pages", now "no exported hugetlb folio allocator"' \
		"$out" output
}

test_skips_listed_test_that_ran_is_only_noted() {
	skips "$HUGETLB_SKIP"$'\nanon.cpu_write_faults_device_pages_back gone' \
		kselftest-hmm_nocopy-6.1.txt
	assert_eq 0 "$rc" status
	assert_eq "note: listed skip did not happen: anon.cpu_write_faults_device_pages_back" \
		"$out" output
}

# run_tests.sh's form: results at the top level, the tests' own output
# (a nested "ok 1 # SKIP") not counted.
test_skips_top_level_results_of_the_qemu_run() {
	skips "" skip.ktap
	assert_eq 1 "$rc" status
	assert_eq "unexpected skip: huge.hugetlb_page (no hugetlb pages)" "$out" output
}

test_skips_list_of_the_default_kernel_is_the_shipped_one() {
	assert_eq "$HMM_TOP/tools/testing/selftests/hmm_nocopy/expected-skips-6.1" \
		"$(expected_skips_file)" "list"
}

# Every release the suite knows has its list, shipped (the Makefile's
# runner files: kselftest install, tarball, guest), well formed, each
# test once.
test_skips_list_of_every_release_is_shipped_and_well_formed() {
	local list release
	# shellcheck source=tools/vm/releases.sh
	source "$HMM_TOP/tools/vm/releases.sh"
	for release in $(release_names); do
		list=$(expected_skips_of "$release")
		[[ -r $list ]] || { echo "no $list"; return 1; }
		assert_contains "$(runner_files)" "$list" || return
		assert_eq "" "$(grep -vE '^(#.*|[[:space:]]*|[a-z_0-9]+\.[a-z_0-9.]+[[:space:]]+[^[:space:]].*)$' "$list")" \
			"$release: lines neither comments nor 'fixture.test reason'" || return
		assert_eq "" "$(grep -vE '^(#|[[:space:]]*$)' "$list" | awk '{ print $1 }' | sort | uniq -d)" \
			"$release: tests listed twice" || return
	done
}

# The lists of 5.10 and 6.12 as a whole run there printed them (make
# matrix, build/results/matrix-*/RELEASE.log): the recorded skips of
# that run are all listed, with their reasons.
test_skips_lists_hold_the_recorded_runs_skips() {
	local release
	for release in 5.10 6.12; do
		unexpected_skips "$(expected_skips_of "$release")" < "$DATA/skips-$release.ktap" ||
			{ echo "on $release"; return 1; }
	done
}
