#!/usr/bin/env bash
# The LAVA job generator (tools/lava/lava.sh), cheaply: no kernel, no
# boot, no lava-dispatcher needed. A job written against dummy
# artifacts and its keys; the parse pattern against recorded console
# lines, fed to it the way LAVA does (a streaming buffer, "\r\r\n" line
# ends, a line still arriving); bad input refused with a clear error;
# the device dictionary held to the guest run_tests.sh boots. Where
# Debian's lava-run is installed, the job passes its --validate.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
for part in lib releases qemu initramfs; do
	# shellcheck source=/dev/null
	source "$HMM_TOP/tools/vm/$part.sh"
done
# shellcheck source=tools/lava/lava.sh
source "$HMM_TOP/tools/lava/lava.sh"

LAVA_SETTINGS=$HMM_TOP/tools/testing/selftests/hmm_nocopy/settings
LAVA_TEST_DEVICE=$HMM_TOP/tools/lava/qemu-tcg.yaml

# A job for release 6.1 in a new directory with dummy artifacts; prints
# the directory.
dummy_job() {
	local dir

	dir=$(mktemp -d)
	printf 'not a kernel\n' > "$dir/bzImage"
	printf 'not a ramdisk\n' | gzip -n > "$dir/ramdisk.cpio.gz"
	lava_job_yaml 6.1 6.1.192 "file://$dir" "$LAVA_SETTINGS" 0 "$dir" \
		> "$dir/job.yaml"
	printf '%s\n' "$dir"
}

# Debian's interpreter with its yaml module, or skip (status 4).
need_yaml() {
	/usr/bin/python3 -c 'import yaml' 2> /dev/null && return 0
	echo "no python3-yaml: apt-get install python3-yaml"
	exit 4
}

test_lava_job_deploys_boots_and_tests_with_the_keys_a_lab_needs() {
	local dir job

	dir=$(dummy_job)
	job=$(cat "$dir/job.yaml")
	assert_contains "$job" "device_type: qemu"
	assert_contains "$job" "job_name: hmm_nocopy-6.1"
	assert_contains "$job" "priority: medium"
	assert_contains "$job" "    to: tmpfs"
	assert_contains "$job" "        url: 'file://$dir/bzImage'"
	assert_contains "$job" "        url: 'file://$dir/ramdisk.cpio.gz'"
	assert_contains "$job" "        format: cpio.newc"
	assert_contains "$job" "          lava: true"
	assert_contains "$job" "        compression: gz"
	assert_contains "$job" "    method: qemu"
	assert_contains "$job" "    - '$LAVA_PROMPT'"
	assert_contains "$job" "./run_kselftest.sh -c hmm_nocopy"
	assert_contains "$job" "lava-test-case $LAVA_VERDICT_CASE --result"
	# The settings timeout (3600 s) plus 5 minutes.
	assert_contains "$job" $'test:\n    timeout:\n      minutes: 65'
	rm -rf "$dir"
}

test_lava_job_parameters_change_name_priority_tags_and_filters() {
	local dir job

	dir=$(mktemp -d)
	: > "$dir/bzImage"
	: > "$dir/ramdisk.cpio.gz"
	job=$(LAVA_JOB_NAME=nightly LAVA_PRIORITY=high LAVA_TAGS='numa big' \
		LAVA_FILTERS='anon.*' LAVA_TEST_MINUTES=30 \
		lava_job_yaml 6.12 6.12.118 https://lab.example/a "$LAVA_SETTINGS" 0 "$dir")
	assert_contains "$job" "job_name: nightly"
	assert_contains "$job" "priority: high"
	assert_contains "$job" $'tags:\n- numa\n- big'
	assert_contains "$job" "export HMM_FILTERS=''anon.*''"
	assert_contains "$job" "url: 'https://lab.example/a/bzImage'"
	assert_contains "$job" $'test:\n    timeout:\n      minutes: 30'
	rm -rf "$dir"
}

test_lava_job_is_yaml_whose_steps_and_pattern_survive_quoting() {
	local dir

	need_yaml
	dir=$(dummy_job)
	/usr/bin/python3 - "$dir/job.yaml" "$(lava_pattern)" <<-'PY'
	import sys, yaml
	job = yaml.safe_load(open(sys.argv[1]))
	d = job["actions"][2]["test"]["definitions"][0]["repository"]
	assert d["parse"]["pattern"] == sys.argv[2], d["parse"]["pattern"]
	steps = d["run"]["steps"]
	assert any("'^ok 1 selftests: hmm_nocopy: '" in s for s in steps), steps
	assert job["actions"][0]["deploy"]["images"]["ramdisk"]["overlays"] == {"lava": True}
	PY
	rm -rf "$dir"
}

# Console lines as LAVA receives them: "\r\r\n" ends, kernel-style
# nested output, run_kselftest.sh's own lines, and a last line cut short.
recorded_console() {
	printf '%s\r\r\n' \
		'# selftests: hmm_nocopy: run_hmm_nocopy.sh' \
		'# KTAP version 1' '# 1..6' \
		'# ok 1 module.load' \
		'# # # ok 1 anon.a' \
		'# ok 2 anon.a' \
		'# # # not ok 1 file.b' \
		'# not ok 3 file.b' \
		'# ok 4 uffd.c # SKIP userfaultfd write protection needs 5.13' \
		'# ok 5 shmem.d # XFAIL 6.1 migrate_vma_pages() keeps the mapping' \
		'# not ok 6 huge.e # unexpected skip: expected-skips-6.1 does not list it' \
		'# ok 7 module.unload' \
		'ok 1 selftests: hmm_nocopy: run_hmm_nocopy.sh'
	printf '# ok 8 late.f # SK'
}

# The pattern applied as LAVA's pexpect does: to a buffer that grows a
# few bytes at a time, each match consumed; prints "name result".
stream_match() {
	/usr/bin/python3 -c '
import re, sys
pat = re.compile(sys.argv[1], re.M)
fix = {"ok": "pass", "not ok": "fail", "SKIP": "skip", "skip": "skip"}
data, buf = sys.stdin.buffer.read().decode(), ""
for i in range(0, len(data), 5):
    buf += data[i:i + 5]
    while True:
        m = pat.search(buf)
        if not m:
            break
        print(m.group("test_case_id"), fix[m.group("result")])
        buf = buf[m.end():]
' "$(lava_pattern)"
}

test_lava_pattern_reads_each_top_level_result_once_with_its_verdict() {
	local got

	got=$(recorded_console | stream_match)
	assert_eq "module.load pass
anon.a pass
file.b fail
uffd.c skip
shmem.d pass
huge.e fail
module.unload pass" "$got" "test cases from the console"
}

test_lava_pattern_waits_for_the_line_end() {
	local got

	got=$(printf '# ok 3 x # SK' | stream_match)
	assert_eq "" "$got" "a half-received line"
	got=$(printf '# ok 3 x # SKIP why\r' | stream_match)
	assert_eq "x skip" "$got" "the same line, ended"
}

test_lava_rejects_an_unknown_release_before_building() {
	local out status=0

	out=$("$HMM_TOP/run_tests.sh" --kernel 4.19 --lava-job "$(mktemp -d)" 2>&1) ||
		status=$?
	assert_eq 2 "$status" "exit status"
	assert_contains "$out" "unknown --kernel '4.19'"
}

test_lava_rejects_artifacts_that_are_not_there() {
	local out

	out=$( (lava_url_check file:///nonexistent/bzImage) 2>&1) && return 1
	assert_contains "$out" "LAVA artifact not found: file:///nonexistent/bzImage"
	# Port 9 (discard) of this host: nothing answers there.
	out=$( (lava_url_check http://127.0.0.1:9/bzImage) 2>&1) && return 1
	assert_contains "$out" "LAVA artifact does not answer: http://127.0.0.1:9/bzImage"
	out=$( (lava_url_check ftp://lab/bzImage) 2>&1) && return 1
	assert_contains "$out" "must be file://, http:// or https://"
}

test_lava_rejects_bad_parameters() {
	local out

	out=$( (LAVA_PRIORITY=urgent lava_check_params) 2>&1) && return 1
	assert_contains "$out" "LAVA_PRIORITY: high, medium, low or 0 to 100, not 'urgent'"
	out=$( (LAVA_BOOT_MINUTES=soon lava_check_params) 2>&1) && return 1
	assert_contains "$out" "LAVA_BOOT_MINUTES: a number of minutes"
}

test_lava_device_without_the_needed_keys_is_named() {
	local dir out

	need_yaml
	dir=$(dummy_job)
	lava_check_device "$LAVA_TEST_DEVICE" "$dir/job.yaml"
	grep -v 'boot_retry' "$LAVA_TEST_DEVICE" > "$dir/device.yaml"
	out=$( (lava_check_device "$dir/device.yaml" "$dir/job.yaml") 2>&1) && return 1
	assert_contains "$out" "missing key constants.boot_retry"
	sed '/^- x86_64$/d;/^- amd64$/d' "$LAVA_TEST_DEVICE" > "$dir/device.yaml"
	out=$( (lava_check_device "$dir/device.yaml" "$dir/job.yaml") 2>&1) && return 1
	assert_contains "$out" "available_architectures lacks the job's context.arch 'amd64'"
	rm -rf "$dir"
}

# The device is the guest run_tests.sh boots: the same CPUs, memory and
# NUMA nodes (qemu.sh's defaults), TCG, no network.
test_lava_device_boots_the_guest_run_tests_boots() {
	local dev want

	dev=$(sed -n 's/^          - //p' "$LAVA_TEST_DEVICE")
	want=$(QEMU_MEM=2G qemu_topology_args 2G 2 2 | paste -d' ' - -)
	assert_contains "$dev" "-m 2G"
	assert_contains "$dev" "$want"
	assert_contains "$dev" "-accel tcg"
	assert_contains "$dev" "-net none"
}

test_lava_run_validates_the_job() {
	local dir out

	[[ -x /usr/bin/lava-run ]] || { echo "no /usr/bin/lava-run"; exit 4; }
	dir=$(dummy_job)
	/usr/bin/lava-run --validate --job-id "$$" --output-dir "$dir/out" \
		--device "$LAVA_TEST_DEVICE" "$dir/job.yaml" > "$dir/log" 2>&1 ||
		{ tail -n 5 "$dir/log"; return 1; }
	out=$(cat "$dir/log")
	assert_contains "$out" '"msg": "Job finished correctly"'
	rm -rf "$dir"
}
