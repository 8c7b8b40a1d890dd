#!/usr/bin/env bash
# The suite in shards (tools/vm/shard.sh) on recorded guest streams: the
# plan's shares, and the merged stream that ktap_parse reads as one.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/vm/ktap.sh
source "$HMM_TOP/tools/vm/ktap.sh"
# shellcheck source=tools/vm/shard.sh
source "$HMM_TOP/tools/vm/shard.sh"

DATA=$HMM_TOP/tools/tests/data/shards

# two_guests [DIES]: a run directory of two guests that ran the plan
# a.one a.three (guest 1), a.two b.four (guest 2); guest DIES (1 or 2)
# stops after its first test, as a crashed guest's stream does. Sets dir.
two_guests() {
	dir=$(mktemp -d)
	mkdir -p "$dir/1" "$dir/2"
	printf 'a.one 1\na.two 2\na.three 1\nb.four 2\n' > "$dir/plan"
	printf 'a.one\na.three\n' > "$dir/1.list"
	printf 'a.two\nb.four\n' > "$dir/2.list"
	cp "$DATA/guest1.ktap" "$dir/1/ktap.raw"
	cp "$DATA/guest2.ktap" "$dir/2/ktap.raw"
	case ${1:-} in
	1) sed -i '/^# # nested three/,$d' "$dir/1/ktap.raw" ;;
	2) sed -i '/^ok 3 b.four/,$d' "$dir/2/ktap.raw" ;;
	esac
	touch "$dir/1/ended" "$dir/2/ended"
}

test_shard_merge_is_one_stream_in_plan_order() {
	local out
	two_guests
	out=$(shard_merge "$dir" 2)
	assert_eq "KTAP version 1
1..6
ok 1 module.load
ok 2 a.one
not ok 3 a.two # kernel log: WARNING: x
ok 4 a.three # SKIP why not
ok 5 b.four # XFAIL known
not ok 6 module.unload # guest 2: exit status 1" "$(grep -E '^(KTAP|1\.\.|ok|not ok)' <<< "$out")" results
	assert_contains "$out" "# a.two: kernel: WARNING: x"
	assert_contains "$out" "# hmm_nocopy: 2 passed, 2 failed, 1 skipped, 1 xfail, 0 xpass"
	assert_eq "# guest: done" "$(tail -n 1 <<< "$out")" "last line"
	assert_eq "6" "$(wc -l < "$dir/durations")" "durations"
	assert_contains "$(cat "$dir/durations")" "a.two	2.00	2"
	rm -rf "$dir"
}

# Every result is followed by its own time, not another guest's.
test_shard_merge_keeps_each_time_with_its_result() {
	local out
	two_guests
	out=$(shard_merge "$dir" 2)
	assert_eq "# time=2.00s" "$(grep -A1 '^not ok 3 a.two' <<< "$out" | tail -n 1)" "time of a.two"
	assert_eq "# time=0.05s" "$(grep -A1 '^ok 1 module.load' <<< "$out" | tail -n 1)" "longest module.load"
	rm -rf "$dir"
}

# A guest that died: its missing tests are left out for the parser to
# count, the others all come, and the stream does not say it is done.
test_shard_merge_of_a_dead_guest_leaves_out_what_never_came() {
	local out
	two_guests 2
	out=$(shard_merge "$dir" 2)
	assert_contains "$out" "1..6"
	assert_contains "$out" "ok 4 a.three # SKIP why not"
	assert_not_contains "$out" "b.four"
	assert_contains "$out" "not ok 6 module.unload # guest 2: no result"
	assert_not_contains "$out" "# guest: done"
	rm -rf "$dir"
}

test_shard_plan_balances_on_durations_and_keeps_solo_tests_together() {
	local d
	d=$(mktemp -d)
	printf 'a.x\nstress.load_use_unload_100_cycles\na.y\na.z\nb.w\n' > "$d/order"
	printf 'test\tseconds\na.x\t5\nstress.load_use_unload_100_cycles\t10\na.y\t3\na.z\t4\nb.w\t3\n' > "$d/durations"
	shard_plan "$d/order" 2 "$d/durations" "$HMM_TOP/tools/testing/selftests/hmm_nocopy/schedule" "$d"
	# Share 1 starts at 10 s of solo tests; share 2 takes tests until
	# it has more.
	assert_eq "stress.load_use_unload_100_cycles
b.w" "$(cat "$d/1.list")" "share 1"
	assert_eq "a.x
a.y
a.z" "$(cat "$d/2.list")" "share 2"
	assert_eq "$(cat "$d/order")" "$(cut -d' ' -f1 "$d/plan")" "plan order"
	rm -rf "$d"
}

# A guest that plans fewer tests than its share (it left one out): the
# merged plan still counts every test, so the parser sees one missing.
test_shard_merge_plan_counts_tests_a_guest_left_out() {
	local out
	two_guests
	sed -i -e 's/^1\.\.4$/1..3/' -e '/^ok 3 b.four/,/^# time=/d' -e 's/^not ok 4 module.unload/not ok 3 module.unload/' \
		"$dir/2/ktap.raw"
	out=$(shard_merge "$dir" 2)
	assert_contains "$out" "1..6"
	assert_not_contains "$out" "b.four"
	rm -rf "$dir"
}

# A filtered run updates the kept durations of its tests only.
test_durations_update_keeps_what_a_run_left_out() {
	local d
	d=$(mktemp -d)
	# shellcheck source=tools/vm/durations.sh
	source "$HMM_TOP/tools/vm/durations.sh"
	printf 'test\tseconds\tguest\tresult\na.x\t5\t1\tpass\na.y\t3\t2\tpass\n' > "$d/kept"
	printf 'test\tseconds\tguest\tresult\na.y\t9\t1\tpass\n' > "$d/run"
	durations_update "$d/kept" "$d/run"
	assert_eq $'test\tseconds\tguest\tresult\na.y\t9\t1\tpass\na.x\t5\t1\tpass' "$(cat "$d/kept")" kept
	rm -rf "$d"
}

# The steps after the tests come from whichever guest told of them: the
# first guest dying does not lose module.unload.
test_shard_merge_of_a_dead_first_guest_keeps_the_last_steps() {
	local out
	two_guests 1
	out=$(shard_merge "$dir" 2)
	assert_contains "$out" "ok 2 a.one"
	assert_not_contains "$out" "a.three"
	assert_contains "$out" "not ok 6 module.unload # guest 1: no result"
	rm -rf "$dir"
}
