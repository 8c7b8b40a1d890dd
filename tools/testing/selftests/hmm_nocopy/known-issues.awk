# known-issues.awk: the known-issues engine of the hmm_nocopy runner. It
# reads the known-issues file (see its head for the format) and, in
# mode judge, a test's output and kernel-log findings after it.
# -v mode=check: prints "LINE: error" for each malformed line or entry,
#   then "expect LINE" for each expect (the shell tries the regexes).
# -v mode=globs -v release=R: prints the test globs of the entries for R.
# -v mode=lookup -v test=NAME -v release=R: prints "FLAGS REASON" of the
#   first entry for NAME on R ("-" for no flags).
# -v mode=judge (same), with the test's output and kernel-log findings
#   files after known-issues: prints "missing RE" for each expect that
#   matched no line, "miscount N SEEN RE" for each counted expect
#   ("expect N:") that matched SEEN lines, not N, and "unexplained LINE"
#   for each finding and harness assertion that matched no expect;
#   nothing when it failed as expected.
# -v carried=FILE: the fixes the running kernel carries (kernel-patches,
#   written by run_tests.sh --patch: "localversion: -fix-KEY", then
#   "patch: SUBJECT" lines); they count only when `uname -r` holds that
#   localversion. An entry whose "fixed-by:" names one of them does not
#   apply.
# Regexes are never passed with -v (awk would take their backslashes for
# escapes): they are read from the file.
#
#   awk -v mode=MODE -v test=NAME -v release=R -f known-issues.awk \
#	known-issues [OUTPUT FINDINGS]

function err(line, msg) {
	printf "%d: %s\n", line, msg
	bad = 1
}

# A glob (*, ?, [...]) as an anchored ERE.
function glob_re(g,	re, i, n, c) {
	re = "^"
	n = length(g)
	for (i = 1; i <= n; i++) {
		c = substr(g, i, 1)
		if (c == "*") {
			re = re ".*"
		} else if (c == "?") {
			re = re "."
		} else if (c == "[") {
			re = re "["
			if (substr(g, i + 1, 1) == "!") {
				re = re "^"
				i++
			}
			while (i < n) {
				c = substr(g, ++i, 1)
				re = re c
				if (c == "]")
					break
			}
		} else if (index("\\^$.|+(){}", c)) {
			re = re "\\" c
		} else {
			re = re c
		}
	}
	return re "$"
}

function end_entry(	i) {
	if (!start)
		return
	if (!("test" in e))
		err(start, "entry without \"test:\"")
	if (!("kernel" in e))
		err(start, "entry without \"kernel:\"")
	if (!("reason" in e))
		err(start, "entry without \"reason:\"")
	if (!nexp)
		err(start, "entry without \"expect:\"")
	here = release ~ glob_re(e["kernel"]) &&
	       !(("fixed-by" in e) && (e["fixed-by"] in fixed))
	if (mode == "globs" && !bad && here)
		print e["test"]
	if (mode ~ /lookup|judge/ && !found && !bad && test ~ glob_re(e["test"]) &&
	    here) {
		found = 1
		flags = ("flags" in e) ? e["flags"] : "-"
		reason = e["reason"]
		for (i = 1; i <= nexp; i++) {
			want[i] = x[i]
			wantn[i] = xn[i]
		}
		nwant = nexp
	}
	start = 0
	nexp = 0
	split("", e)
}

# The fixes in the carried file, if it is this kernel's.
function read_carried(file,	line, mine) {
	while ((getline line < file) > 0) {
		if (line ~ /^localversion: /)
			mine = index(release, substr(line, 15)) > 0
		else if (mine && line ~ /^patch: /)
			fixed[substr(line, 8)] = 1
	}
	close(file)
}

BEGIN {
	kfile = ARGV[1]
	findings = ARGV[3]
	if (carried != "")
		read_carried(carried)
}

FILENAME == kfile {
	line = $0
	sub(/\r$/, "", line)
	if (line ~ /^[ \t]*$/) {
		end_entry()
		next
	}
	if (line ~ /^#/)
		next
	if (!start)
		start = FNR
	if (!match(line, /^[a-z][a-z-]*( +[0-9]+)?:/)) {
		err(FNR, "not \"key: value\": " line)
		next
	}
	key = substr(line, 1, RLENGTH - 1)
	val = substr(line, RLENGTH + 1)
	# "expect N:": the expect must match exactly N lines.
	count = 0
	if (key ~ / /) {
		count = key
		sub(/^[a-z]+ +/, "", count)
		sub(/ .*/, "", key)
		if (key != "expect") {
			err(FNR, "only \"expect\" takes a count: " line)
			next
		}
		if (count + 0 < 1) {
			err(FNR, "a count is 1 or more: " line)
			next
		}
	}
	sub(/^[ \t]+/, "", val)
	sub(/[ \t]+$/, "", val)
	if (key !~ /^(test|kernel|expect|flags|reason|fixed-by)$/) {
		err(FNR, "unknown key \"" key ":\"")
		next
	}
	if (val == "") {
		err(FNR, "empty \"" key ":\"")
		next
	}
	if (key == "expect") {
		if (val ~ /\\[A-Za-z0-9<>]/)
			err(FNR, "not a POSIX ERE (\\d \\s \\w \\b \\< and back-references are not): " val)
		x[++nexp] = val
		xn[nexp] = count + 0
		if (mode == "check")
			expline[++nchk] = FNR
		next
	}
	if (key in e) {
		err(FNR, "a second \"" key ":\" in one entry")
		next
	}
	if ((key == "test" || key == "kernel") && val ~ /[ \t]/)
		err(FNR, key ": one glob, no spaces: " val)
	if (key == "flags") {
		n = split(val, f, ",")
		for (i = 1; i <= n; i++)
			if (f[i] != "last" && f[i] != "flaky")
				err(FNR, "unknown flag \"" f[i] "\" (last, flaky)")
	}
	e[key] = val
	next
}

# The test output and the findings, once the entry is known.
!judged {
	end_entry()
	judged = 1
}

found {
	hit = 0
	for (i = 1; i <= nwant; i++)
		if ($0 ~ want[i]) {
			seen[i]++
			hit = 1
		}
	if (!hit && (FILENAME == findings ||
	    $0 ~ /^# [^ :]+:[0-9]+:[^:]*:Expected /))
		unexplained[++nun] = $0
}

END {
	if (!judged)
		end_entry()
	if (mode == "check") {
		for (i = 1; i <= nchk; i++)
			print "expect " expline[i]
		exit bad
	}
	if (!found || mode == "globs")
		exit 0
	if (mode == "lookup") {
		print flags " " reason
		exit 0
	}
	for (i = 1; i <= nwant; i++) {
		if (!seen[i])
			print "missing " want[i]
		else if (wantn[i] && seen[i] != wantn[i])
			print "miscount " wantn[i] " " seen[i] " " want[i]
	}
	for (i = 1; i <= nun; i++)
		print "unexplained " unexplained[i]
}
