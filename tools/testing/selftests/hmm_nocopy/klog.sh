#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The kernel-log side of the hmm_nocopy runner (sourced by
# run_hmm_nocopy.sh): the markers it writes around each test, and the
# findings of the gate (klog-gate.awk) between them.
# Needs MARK, GATE and hmmctl_cmd from the runner.

# A marker in the kernel log; the gate cuts the log at these.
klog_mark() {
	echo "$MARK: $1 $2" > /dev/kmsg 2>/dev/null
}

# The kernel log is read from a cursor where it can be: /dev/kmsg, opened
# once on fd 7 (klog_open), so that each test's gate reads only what was
# logged since the previous one's end marker (hmmctl klog-until), and the
# first gate what the kernel logged from boot on. Elsewhere (no hmmctl,
# no /dev/kmsg) dmesg is read whole each time.
KLOG_CURSOR=0

klog_open() {
	[ -x "$HERE/hmmctl" ] || command -v hmmctl > /dev/null 2>&1 || return 0
	# A failed redirection of exec would end the shell: try it in a
	# subshell first.
	(exec 7< /dev/kmsg) 2>/dev/null || return 0
	exec 7< /dev/kmsg
	KLOG_CURSOR=1
}

# Prints the kernel reports logged between the markers of $1; in a test
# VM (HMM_KLOG_FROM_BOOT=1), module.load is also charged with what the
# kernel logged while booting. From the cursor the reader stops at the
# end marker, which run_step has written; $2 = 0 says it could not be
# written, and a reader that waited for it would wait for ever.
klog_findings() {
	local from_start=0

	[ "$1" = module.load ] && [ "${HMM_KLOG_FROM_BOOT:-0}" = 1 ] && from_start=1
	if [ $KLOG_CURSOR = 1 ] && [ "${2:-1}" = 1 ]; then
		hmmctl_cmd klog-until "$MARK: end $1" <&7 | awk -v test="$1" \
			-v mark="$MARK" -v from_start=$from_start -v kmsg=1 -f "$GATE"
		return
	fi
	[ "${2:-1}" = 1 ] || echo "kernel log: no end marker (writing /dev/kmsg failed): not checked"
	dmesg 2>/dev/null | awk -v test="$1" -v mark="$MARK" \
		-v from_start=$from_start -f "$GATE"
}
