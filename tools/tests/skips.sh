#!/usr/bin/env bash
# Helpers of the project's tests: the suite's skips held to the list of
# those expected on the default kernel, the list the suite ships beside
# known-issues (tools/testing/selftests/hmm_nocopy/expected-skips-6.1),
# which its runner reads too.

# The list for release $1.
expected_skips_of() {
	echo "$HMM_TOP/tools/testing/selftests/hmm_nocopy/expected-skips-$1"
}

# The list for the default kernel release.
expected_skips_file() {
	# shellcheck source=tools/vm/releases.sh
	source "$HMM_TOP/tools/vm/releases.sh"
	expected_skips_of "$KERNEL_RELEASE_DEFAULT"
}

# unexpected_skips LIST < OUTPUT: reads the runner's results in OUTPUT,
# top level ("ok N name # SKIP reason", as run_tests.sh shows them) or
# one level down ("# ok N ...", as run_kselftest.sh nests them), and
# prints each skip that LIST does not name, or names with another
# reason; exit status 1 if there is one. A listed test that did not skip
# gets a note.
unexpected_skips() {
	local list=$1

	[[ -r $list ]] || { echo "no list of expected skips: $list"; return 1; }
	awk '
		FNR == NR {
			sub(/\r$/, "")
			if ($0 ~ /^#/ || $0 ~ /^[ \t]*$/)
				next
			reason = $0
			sub(/^[^ \t]+[ \t]+/, "", reason)
			want[$1] = reason
			next
		}
		{ sub(/\r$/, "") }
		/^(# )?ok [0-9]+ [^ ]+ # SKIP/ {
			line = $0
			sub(/^(# )?ok [0-9]+ /, "", line)
			name = line
			sub(/ .*/, "", name)
			reason = line
			sub(/^[^ ]+ # SKIP ?/, "", reason)
			skipped[name] = 1
			if (!(name in want)) {
				printf "unexpected skip: %s (%s)\n", name, reason
				bad = 1
			} else if (want[name] != reason) {
				printf "skip reason changed: %s: listed \"%s\", now \"%s\"\n",
					name, want[name], reason
				bad = 1
			}
		}
		END {
			for (name in want)
				if (!(name in skipped))
					printf "note: listed skip did not happen: %s\n", name
			exit bad
		}' "$list" -
}
