# Kernel-log gate: prints the kernel reports (BUG, WARNING, Oops, KASAN,
# lockdep, kmemleak, ...: KASAN and lockdep report as "BUG:"/"WARNING:",
# and their boot banners must not count) logged between "<mark>: begin <test>" and
# "<mark>: end <test>". Input is dmesg output; only the last begin/end
# pair of the test counts, so a re-run is judged on its own. With
# -v from_start=1, the log from its first line counts too (boot reports
# are charged to the first step). With -v after_end=1, what was logged
# after the test's last end marker counts instead (the host's view of a
# guest that wedged after its last step, from the console log).
# A "Bad page state" report is followed, a few lines on, by the page's
# dump and "page dumped because: WHY": WHY is added to its finding, e.g.
# "BUG: Bad page state in process x  pfn:1234 (page dumped because:
# non-NULL mapping)", so that one line says which bad state it was.
#
# With -v kmsg=1 the input is /dev/kmsg records ("PRIO,SEQ,USEC,FLAGS;
# text", continuation lines " KEY=VALUE") from the runner's cursor,
# which end with the test's end marker; input that ends before it, or
# the reader's "hmm-klog: records lost" (records overwritten before they
# were read), is a finding.
#
#   awk -v test=NAME -v mark=hmm-suite -f klog-gate.awk < dmesg.txt
#   hmmctl klog-until "hmm-suite: end NAME" <&7 |
#	awk -v test=NAME -v mark=hmm-suite -v kmsg=1 -f klog-gate.awk

function is_report(line) {
	return line ~ /(^|[] ])(BUG|WARNING|UBSAN|KFENCE):/ ||
	       line ~ /kernel BUG at/ ||
	       line ~ /Oops[:]|general protection fault|Kernel panic/ ||
	       line ~ /kmemleak: .*suspected memory leak/ ||
	       line ~ /INFO: (possible|trying to register|inconsistent|task .* blocked)/ ||
	       line ~ /possible (circular|recursive) locking/ ||
	       line ~ /rcu: INFO: .*(stall|detected)/ ||
	       line ~ /(list_add|list_del) corruption|Bad page (state|map)/
}

BEGIN {
	begin_tag = mark ": begin " test
	end_tag = mark ": end " test
	inside = from_start ? 1 : 0
	n = 0
}

kmsg && /^ / {
	next
}

{
	tail = $0
	sub(/\r$/, "", tail)
	if (kmsg)
		sub(/^[0-9]+,[0-9]+,[0-9]+,[^;]*;/, "", tail)
	else
		sub(/^\[ *[0-9.]+\] /, "", tail)
}

# Lost since the previous test's end: maybe this test's own records.
kmsg && tail ~ /^hmm-klog: records lost/ {
	lost = "kernel log: " tail
	next
}

tail == begin_tag {
	inside = !after_end
	if (!from_start)
		n = 0
	bad_page = 0
	next
}

tail == end_tag {
	inside = after_end ? 1 : 0
	if (after_end)
		n = 0
	bad_page = 0
	ended = 1
	next
}

inside && bad_page && tail ~ /^page dumped because: / {
	found[bad_page] = found[bad_page] " (" tail ")"
	bad_page = 0
	next
}

inside && is_report(tail) {
	found[++n] = tail
	bad_page = tail ~ /Bad page state/ ? n : 0
}

END {
	if (kmsg && !ended)
		found[++n] = "kernel log: records lost before \"" end_tag "\" (the log buffer wrapped?)"
	if (lost)
		found[++n] = lost
	for (i = 1; i <= n; i++)
		print found[i]
	exit n > 0
}
