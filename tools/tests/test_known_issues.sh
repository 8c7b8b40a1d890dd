#!/usr/bin/env bash
# Known kernel issues: the suite runner's XFAIL/XPASS and "last" ordering.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"

# Loads the runner's functions with a known-issues file and a fake kernel
# release.
load_runner() {
	HMM_RUN_LIB=1
	HMM_RUN_WORK=$(mktemp -d)
	# shellcheck source=tools/testing/selftests/hmm_nocopy/run_hmm_nocopy.sh
	source "$HMM_TOP/tools/testing/selftests/hmm_nocopy/run_hmm_nocopy.sh"
	WORK=$HMM_RUN_WORK
	KNOWN=$HMM_RUN_WORK/known
	cat > "$KNOWN" <<-'KNOWN_EOF'
	# comment
	file.bad_page_*   6.1.*   last   shmem pages freed with a mapping
	anon.flaky        5.10.*  -      only on 5.10
	KNOWN_EOF
}

uname() {
	echo 6.1.192
}

test_known_failure_is_xfail_with_reason() {
	load_runner
	assert_eq "ok 7 file.bad_page_shmem # XFAIL shmem pages freed with a mapping" \
		"$(result 7 file.bad_page_shmem fail "exit status 1")"
}

test_known_pass_is_xpass() {
	load_runner
	assert_eq "ok 7 file.bad_page_shmem # XPASS shmem pages freed with a mapping" \
		"$(result 7 file.bad_page_shmem ok)"
}

test_issue_of_another_kernel_does_not_apply() {
	load_runner
	assert_eq "not ok 3 anon.flaky # exit status 1" \
		"$(result 3 anon.flaky fail "exit status 1")"
	assert_eq "ok 4 anon.other" "$(result 4 anon.other ok)"
}

test_last_flag_orders_the_test_after_the_others() {
	load_runner
	local dir=$HMM_RUN_WORK/tests
	mkdir -p "$dir"
	printf '#!/bin/sh\nprintf "file.bad_page_shmem\\nfile.clean\\n"\n' > "$dir/a_test"
	printf '#!/bin/sh\nprintf "anon.x\\n"\n' > "$dir/b_test"
	chmod +x "$dir"/*
	assert_eq "file.clean anon.x file.bad_page_shmem" \
		"$(list_selected "$dir"/a_test "$dir"/b_test | awk '{print $2}' | xargs)"
}
