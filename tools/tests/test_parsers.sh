#!/usr/bin/env bash
# Every CI parser reads each test of the runner's output once, with the
# runner's verdict (issue #27 item 4): KernelCI's line regex and a LAVA
# "parse: pattern:" (ci_parsers.py), LKFT's nested TAP parser
# (ksft_results.py, and LKFT's own parse-output.py where this machine
# has it), over output recorded in a real guest
# (tools/tests/record_parser_samples.sh): the runner as the project's
# guest runs it, and the same tests through run_kselftest.sh.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/tests/lkft.sh
source "$HMM_TOP/tools/tests/lkft.sh"

DATA=$HMM_TOP/tools/tests/data
SAMPLES=$DATA/parsers
SUITE=$HMM_TOP/tools/testing/selftests/hmm_nocopy

# The runner's verdicts in the 5.10 samples, one "NAME RESULT" a line:
# a pass, a known issue (XFAIL, a pass), a skip the release does not
# expect (a failure in our guest, a skip under run_kselftest.sh), an
# expected skip, a real kernel bug (its known-issues entry taken out
# for the sample), and the module's steps. @wrapper is run_kselftest.sh's
# own result for the runner (it exited 1).
WANT_GUEST='module.load pass
anon.to_device_and_back_one_page pass
anon.two_devices_take_turns pass
core.fallback_dirty_page_written_out_nocopy fail
core.bad_arguments_einval skip
shmem.kernel_migrate_vma_pages_clears_old_mapping fail
module.unload pass'
WANT_KSELFTEST='module.load pass
anon.to_device_and_back_one_page pass
anon.two_devices_take_turns pass
core.fallback_dirty_page_written_out_nocopy skip
core.bad_arguments_einval skip
shmem.kernel_migrate_vma_pages_clears_old_mapping fail
module.unload pass
@wrapper fail'

# The regular expression of the name parser $1 records for test $2
# (@wrapper: run_kselftest.sh's result for the runner), up to the space
# before the result.
read_as() {
	local parser=$1 name=$2 dots

	dots=${name//./\\.}
	case $parser:$name in
	kernelci:@wrapper) echo '^hmm_nocopy\.run_hmm_nocopy\.sh' ;;
	lkft:@wrapper) echo '^hmm_nocopy_run_hmm_nocopy_sh' ;;
	# DIR.NAME, DIR empty without run_kselftest.sh's "# selftests:" line.
	kernelci:*) echo "^(hmm_nocopy\\.run_hmm_nocopy\\.sh)?\\.$dots" ;;
	lava:*) echo "^$dots" ;;
	# "." made "_", under the runner's name; a skip's reason appended.
	lkft:*) echo "^(hmm_nocopy_run_hmm_nocopy_sh_)?${name//./_}(_[A-Za-z0-9_-]+)?" ;;
	esac
}

# check_reading PARSER READ WANT: the results READ ("NAME RESULT" lines,
# LKFT's may add a third word) that PARSER read are WANT's, one each,
# with WANT's result, and nothing else.
check_reading() {
	local parser=$1 read=$2 want=$3 name result re hits bad=0

	assert_eq "$(wc -l <<< "$want")" "$(grep -c . <<< "$read")" \
		"results $parser read" || { printf '%s\n' "$read"; return 1; }
	while read -r name result; do
		re=$(read_as "$parser" "$name")
		hits=$(grep -E "$re [a-z]+( [^ ]+)?\$" <<< "$read" || true)
		if [[ $(grep -c . <<< "$hits") != 1 ]]; then
			printf 'FAIL: %s reads %s %s times:\n%s\n' "$parser" "$name" \
				"$(grep -c . <<< "$hits")" "$hits"
			bad=1
			continue
		fi
		[[ $hits =~ \ $result(\ [^ ]+)?$ ]] && continue
		printf 'FAIL: %s reads %s as [%s], the runner said %s\n' "$parser" "$name" \
			"$hits" "$result"
		bad=1
	done <<< "$want"
	return "$bad"
}

# Both samples through the rule of ci_parsers.py $1. The LAVA jobs run
# the suite with run_kselftest.sh, and their pattern reads that output
# only, without run_kselftest.sh's own line (the job's verdict case).
check_rule() {
	local rule=$1

	if [[ $rule == lava ]]; then
		check_reading "$rule" "$(python3 "$HMM_TOP/tools/tests/ci_parsers.py" "$rule" \
			< "$SAMPLES/kselftest-5.10.txt")" "$(grep -v '^@wrapper' <<< "$WANT_KSELFTEST")"
		return
	fi
	check_reading "$rule" "$(python3 "$HMM_TOP/tools/tests/ci_parsers.py" "$rule" \
		< "$SAMPLES/guest-5.10.ktap")" "$WANT_GUEST" || return
	check_reading "$rule" "$(python3 "$HMM_TOP/tools/tests/ci_parsers.py" "$rule" \
		< "$SAMPLES/kselftest-5.10.txt")" "$WANT_KSELFTEST"
}

test_parsers_kernelci_regex_reads_each_test_once_with_the_runners_verdict() {
	check_rule kernelci
}

test_parsers_lava_pattern_reads_each_test_once_with_the_runners_verdict() {
	check_rule lava
}

# The counts make kselftest-check prints: nothing twice, no XFAIL as a
# fail, in both samples, for each parser.
test_parsers_tally_of_the_samples_is_clean() {
	local f rule
	for f in guest-5.10.ktap kselftest-5.10.txt; do
		for rule in kernelci lava; do
			assert_contains "$(python3 "$HMM_TOP/tools/tests/ci_parsers.py" tally \
				"$rule" "$SAMPLES/$f")" " twice 0 xfail_as_fail 0" "$rule over $f" || return
		done
	done
}

# A LAVA pattern reads a stream: a result line not yet ended (a
# half-received "ok 4 x # SK") is no result.
test_parsers_lava_pattern_waits_for_the_line_end() {
	local got
	got=$(printf '# ok 1 a.b\n# ok 2 a.c # SK' | python3 "$HMM_TOP/tools/tests/ci_parsers.py" lava)
	assert_eq "a.b pass" "$got" "results of a cut stream"
}

# Both samples read by READER (a command filtering stdin to LKFT's
# "NAME RESULT" lines).
check_lkft_reader() {
	local reader=$1 read

	read=$("$reader" < "$SAMPLES/guest-5.10.ktap") || return
	check_reading lkft "$read" "$WANT_GUEST" || return
	read=$("$reader" < "$SAMPLES/kselftest-5.10.txt") || return
	check_reading lkft "$read" "$WANT_KSELFTEST"
}

# LKFT's parser as ksft_results.py writes it down (python3-tap).
test_parsers_lkft_rule_reads_each_test_once_with_the_runners_verdict() {
	check_lkft_reader python_tap
}

# LKFT's own parse-output.py, where this machine has it (CI may not).
test_parsers_lkft_own_parser_reads_each_test_once_with_the_runners_verdict() {
	check_lkft_reader lkft_parse_output
}

# Output recorded before the runner marked a binary's own result lines
# (6.1, run_kselftest.sh): KernelCI's regex read every test twice and
# the known issue's test as a fail beside its XFAIL. The check above
# says so.
test_parsers_unmarked_nested_results_were_read_twice_by_kernelci() {
	local read out name=file.kernel_migrate_vma_pages_clears_old_shmem_mapping
	read=$(python3 "$HMM_TOP/tools/tests/ci_parsers.py" kernelci \
		< "$DATA/kselftest-hmm_nocopy-6.1.txt")
	assert_contains "$read" "hmm_nocopy.run_hmm_nocopy.sh.$name fail" || return
	assert_contains "$read" "hmm_nocopy.run_hmm_nocopy.sh.$name pass" || return
	# 134 tests and run_kselftest.sh's result, 131 of them twice.
	assert_eq "results 266 twice 131 xfail_as_fail 1" \
		"$(python3 "$HMM_TOP/tools/tests/ci_parsers.py" tally kernelci \
			"$DATA/kselftest-hmm_nocopy-6.1.txt")" "the tally" || return
	if out=$(check_reading kernelci "$read" "$name pass"); then
		echo "check_reading took the doubled reading"
		return 1
	fi
	assert_contains "$out" "results kernelci read"
}

# nest() marks a binary's result lines at any depth and with any blanks
# (python3-tap strips them at each level), and keeps the rest as it is.
test_parsers_runner_marks_nested_result_lines_at_any_depth() {
	local dir out
	dir=$(mktemp -d)
	HMM_RUN_LIB=1 HMM_RUN_DIR=$SUITE
	# shellcheck source=tools/testing/selftests/hmm_nocopy/run_hmm_nocopy.sh
	source "$SUITE/run_hmm_nocopy.sh"
	WORK=$dir
	printf '%s\n' 'TAP version 13' '1..1' '#  RUN  a.b ...' 'ok 1 a.b' \
		'not ok 2 a.c # XFAIL x' '# ok 3 sub' "#$(printf '\t')not ok 4 t" \
		'  ok 5 sp' 'okay 6' '# PASSED: 1 / 1 tests passed.' > "$dir/out"
	out=$(nest ./bin/a_test "$dir/out")
	rm -rf "$dir"
	assert_eq "" "$(grep -E '^[#[:space:]]*(not )?ok' <<< "$out" || true)" \
		"lines read as results" || return
	assert_contains "$out" "# # [a_test] ok 1 a.b" || return
	assert_contains "$out" "# # [a_test] not ok 2 a.c # XFAIL x" || return
	assert_contains "$out" "# # [a_test] ok 3 sub" || return
	assert_contains "$out" "# #  RUN  a.b ..." || return
	assert_contains "$out" "# # 1..1"
}
