#!/usr/bin/env bash
# KTAP stream parser of the host side: echoes the guest's stream as it
# arrives, keeps the top-level results, and ends with the verdict line
# "N passed, N failed, N skipped". Nested (indented) lines are the
# tests' own output: shown, never counted.
#
# ktap_parse RESULTS < stream
#   RESULTS gets one "status<TAB>name<TAB>reason" line per top-level
#   result (status: pass, fail, skip, xfail, xpass), and a "missing"
#   line counting the tests that never reported. "not ok N name # XPASS"
#   (a known issue gone that is not flagged flaky) is a failure whose
#   reason starts with "XPASS"; "ok N name # XPASS" (a flaky one) is not.
#   Exit status: 0 if nothing failed, 1 otherwise; in --run mode
#   (a "# run-exit: N" line seen) N.
# ktap_verdict RESULTS prints the closing line from RESULTS.

# Splits a result line into the globals r_status, r_name, r_reason.
ktap_result_fields() {
	local line=$1 rest directive=""

	if [[ $line =~ ^not\ ok\ [0-9]+\ ?(.*)$ ]]; then
		r_status=fail
	elif [[ $line =~ ^ok\ [0-9]+\ ?(.*)$ ]]; then
		r_status=pass
	else
		return 1
	fi
	rest=${BASH_REMATCH[1]}
	r_name=${rest%%#*}
	r_name=${r_name%"${r_name##*[! ]}"}
	r_reason=""
	if [[ $rest == *"#"* ]]; then
		directive=${rest#*#}
		directive=${directive# }
	fi
	case $directive in
	SKIP*|skip*)
		r_status=skip
		r_reason=${directive#[Ss][Kk][Ii][Pp]}
		;;
	XFAIL*)
		r_status=xfail
		r_reason=${directive#XFAIL}
		;;
	XPASS*)
		if [[ $r_status == pass ]]; then
			r_status=xpass
			r_reason=${directive#XPASS}
		else
			r_reason=$directive
		fi
		;;
	*)
		r_reason=$directive
		;;
	esac
	r_reason=${r_reason# }
	return 0
}

ktap_parse() {
	local results=$1 line plan="" seen=0 run_exit="" done=0
	local pass=0 fail=0 skip=0 xfail=0 xpass=0 missing gone=0
	local r_status r_name r_reason

	: > "$results"
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%$'\r'}
		printf '%s\n' "$line"
		case $line in
		"1.."*)
			plan=${line#1..}
			plan=${plan%% *}
			;;
		"# run-exit: "*)
			run_exit=${line#\# run-exit: }
			;;
		"# guest: done")
			done=1
			;;
		"ok "*|"not ok "*)
			ktap_result_fields "$line" || continue
			seen=$((seen + 1))
			case $r_status in
			pass) pass=$((pass + 1)) ;;
			skip) skip=$((skip + 1)) ;;
			xfail) xfail=$((xfail + 1)) ;;
			xpass) xpass=$((xpass + 1)) ;;
			*) fail=$((fail + 1)) ;;
			esac
			[[ $r_status == xpass || $r_reason == XPASS* ]] && gone=$((gone + 1))
			printf '%s\t%s\t%s\n' "$r_status" "$r_name" "$r_reason" >> "$results"
			;;
		esac
	done

	if [[ -n $run_exit ]]; then
		return "$run_exit"
	fi
	missing=0
	if [[ -z $plan ]]; then
		printf '# ktap: no test plan in the stream: the guest never ran the suite\n'
		missing=1
	elif ((seen < plan)); then
		missing=$((plan - seen))
		printf '# ktap: %d of %d tests never reported (guest crashed or was stopped)\n' \
			"$missing" "$plan"
	elif ((done == 0)); then
		printf '# ktap: stream ended before the guest finished\n'
		missing=1
	fi
	if ((missing > 0)); then
		printf 'missing\t(unreported)\t%d\n' "$missing" >> "$results"
	fi
	fail=$((fail + missing))
	if ((xfail + gone > 0)); then
		printf '# %d expected failures (XFAIL), %d unexpected passes (XPASS)\n' \
			"$xfail" "$gone"
	fi
	if ((gone > 0)); then
		printf '# an XPASS means a known kernel bug is gone: update tools/testing/selftests/hmm_nocopy/known-issues\n'
	fi
	((fail == 0))
}

# Counts by status; a "missing" line stands for its count of failures.
ktap_verdict() {
	awk -F '\t' '
		$1 == "pass" { pass++ }
		$1 == "skip" { skip++ }
		$1 == "fail" { fail++ }
		$1 == "missing" { fail += $3 + 0 }
		END { printf "%d passed, %d failed, %d skipped\n", pass, fail, skip }
	' "$1"
}
