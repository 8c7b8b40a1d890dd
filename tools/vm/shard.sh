#!/usr/bin/env bash
# The suite in shards: the selected tests split over several guests that
# run at once (run_tests.sh --jobs N), and their KTAP streams merged back
# into one, in the order one guest would have run them, with one plan and
# one verdict. Each guest runs the suite's own runner on its share, so
# each shard has its own kernel-log gate, counters check and known
# issues, and keeps the runner's "last" ordering within its share.
# Needs ktap.sh (ktap_result_fields) and SUITE_DIR.
#
#   suite_order RELEASE BIN...     the tests in one guest's order
#   shard_plan ORDER N DURATIONS SCHEDULE DIR
#                                  DIR/K.list: the share of guest K
#   shard_merge DIR N              the merged stream, on stdout

# suite_order RELEASE BIN...: prints the selected tests (HMM_FILTERS) in
# the order the runner gives them on kernel RELEASE, from the runner's
# own list_selected (run on the host: the binaries are static).
suite_order() {
	local release=$1 work
	shift

	work=$(mktemp -d)
	(
		# shellcheck disable=SC2317  # called by the runner's functions
		uname() { printf '%s\n' "$release"; }
		HMM_RUN_LIB=1
		HMM_RUN_DIR=$SUITE_DIR
		# shellcheck source=tools/testing/selftests/hmm_nocopy/run_hmm_nocopy.sh
		source "$SUITE_DIR/run_hmm_nocopy.sh"
		WORK=$work
		list_selected "$@"
	) | cut -d' ' -f2
	rm -rf "$work"
}

# schedule_globs SCHEDULE KIND: the test globs that the suite's schedule
# file (glob, kinds, why) gives KIND (long, solo), one a line.
schedule_globs() {
	local glob kinds

	while read -r glob kinds _; do
		[[ $glob == \#* || ,$kinds, != *,$2,* ]] || printf '%s\n' "$glob"
	done < "$1"
}

# shard_solo SCHEDULE < ORDER: each test of ORDER, then 1 if the suite's
# schedule file says it is of kind "solo", else 0.
shard_solo() {
	local name glob solo
	local -a globs

	mapfile -t globs < <(schedule_globs "$1" solo)
	while read -r name; do
		solo=0
		for glob in "${globs[@]}"; do
			# shellcheck disable=SC2053  # a glob, on purpose
			[[ $name == $glob ]] && { solo=1; break; }
		done
		printf '%s %s\n' "$name" "$solo"
	done
}

# shard_plan ORDER N DURATIONS SCHEDULE DIR: splits the tests of file
# ORDER into N shares, DIR/1.list ... DIR/N.list, each in ORDER's order.
# Going down the list, each test goes to the share with the least
# expected time so far (its seconds in DURATIONS, a previous run's
# durations.tsv, else 1 s), so the shares end together and advance
# through the list together (the merged stream flows). Tests of kind
# "solo" in SCHEDULE all go to share 1, which counts them from the
# start. DIR/plan gets "name share".
shard_plan() {
	local order=$1 n=$2 durations=$3 schedule=$4 dir=$5

	shard_solo "$schedule" < "$order" > "$dir/solo"
	awk -v n="$n" -v dir="$dir" -v durations="$durations" -v tests="$dir/solo" '
		function cost(t) {
			return (t in secs) && secs[t] > 0 ? secs[t] : 1
		}
		BEGIN {
			while ((getline line < durations) > 0) {
				split(line, w)
				secs[w[1]] = w[2] + 0
			}
			# Share 1 starts with its solo tests counted: the others
			# take the rest first.
			while ((getline line < tests) > 0)
				if (split(line, w) == 2 && w[2] == 1)
					load[1] += cost(w[1])
		}
		{
			k = 1
			if (!$2) {
				for (i = 2; i <= n; i++)
					if (load[i] < load[k])
						k = i
				load[k] += cost($1)
			}
			print $1 > (dir "/" k ".list")
			print $1, k > (dir "/plan")
		}' "$dir/solo"
}

# One shard's stream is cut into blocks: a test's nested output, its
# result line and the "# time=" line after it. Globals of shard_merge:
# sh_buf[K] (lines of the block being read), sh_part[K] (a line not yet
# ended), sh_pend[K] (the name of a result awaiting its time line),
# sh_plan[K] (its plan's count), sh_first[K] and sh_done[K] (when its
# first and "# guest: done" lines were read), blocks (block text by
# "K name"), trail (the steps every guest runs after its tests),
# counts (results emitted, by kind).
shard_block_end() {
	local k=$1 name=${sh_pend[$1]}

	# The steps besides module.load and the tests come last, in the
	# order the first guest to tell of each told it (a guest may die).
	if [[ -z ${share[$name]+x} ]]; then
		share[$name]=all
		trail+=("$name")
	fi
	blocks["$k $name"]=${sh_buf[k]}
	sh_buf[k]=""
	sh_pend[k]=""
}

# shard_line K LINE: files one line of shard K's stream.
shard_line() {
	local k=$1 line=$2 name

	if [[ -n ${sh_pend[k]} ]]; then
		if [[ $line == "# time="* ]]; then
			sh_buf[k]+=$line$'\n'
			shard_block_end "$k"
			return
		fi
		shard_block_end "$k"
	fi
	case $line in
	"KTAP version "*) sh_first[k]=$EPOCHREALTIME; return ;;
	"1.."*) sh_plan[k]=${line#1..}; sh_plan[k]=${sh_plan[k]%% *} ;;
	"Bail out!"*) printf '%s\n' "$line" ;;
	"# guest: done") sh_done[k]=$EPOCHREALTIME ;;
	"# hmm_nocopy: "*" passed, "*) ;;
	"ok "*|"not ok "*)
		name=${line#not }
		name=${name#ok }
		name=${name#* }
		name=${name%% #*}
		name=${name%"${name##*[! ]}"}
		sh_buf[k]+=$line$'\n'
		sh_pend[k]=$name
		;;
	*) sh_buf[k]+=$line$'\n' ;;
	esac
}

# shard_read K FILE: files what shard K's stream has gained since the
# last call; returns 1 if nothing.
shard_read() {
	local k=$1 fd=$2 line got=1

	while IFS= read -r line <&"$fd"; do
		shard_line "$k" "${sh_part[k]}${line%$'\r'}"
		sh_part[k]=""
		got=0
	done
	# At the end of what is written so far: keep a line still being written.
	[[ -z $line ]] || { sh_part[k]+=$line; got=0; }
	return "$got"
}

# shard_renumber NUM TEXT: the block with its result line numbered NUM.
shard_renumber() {
	local num=$1 text=$2 line

	while IFS= read -r line; do
		if [[ $line =~ ^(not\ ok|ok)\ [0-9]+\ (.*)$ ]]; then
			line="${BASH_REMATCH[1]} $num ${BASH_REMATCH[2]}"
		fi
		printf '%s\n' "$line"
	done <<< "${text%$'\n'}"
}

# shard_step_merged NUM NAME N: a step every guest runs (module.load,
# module.unload, ...), as one result: what each guest's step printed
# under a "# guest K:" line, ok only if it was ok everywhere, the
# longest time.
shard_step_merged() {
	local num=$1 name=$2 n=$3 k text line status=ok why="" secs best=0 best_line=""

	for ((k = 1; k <= n; k++)); do
		text=${blocks["$k $name"]-}
		# Under a heading of its guest: what the step printed besides.
		((n == 1)) || [[ $text != *$'\n'"# "[!t]* && $text != "# "[!t]* ]] ||
			printf '# guest %d:\n' "$k"
		if [[ -z $text ]]; then
			status="not ok"
			why=${why:-"guest $k: no result"}
			continue
		fi
		while IFS= read -r line; do
			case $line in
			"not ok "*)
				status="not ok"
				[[ -n $why || $line != *" # "* ]] || why="guest $k: ${line#* # }"
				;;
			"ok "*) ;;
			"# time="*)
				secs=${line#\# time=}
				secs=${secs%s}
				if ((10#${secs/./} > best)); then
					best=$((10#${secs/./}))
					best_line=$line
				fi
				;;
			*) printf '%s\n' "$line" ;;
			esac
		done <<< "${text%$'\n'}"
	done
	printf '%s %d %s%s\n' "$status" "$num" "$name" "${why:+ # $why}"
	[[ -z $best_line ]] || printf '%s\n' "$best_line"
}

# shard_ready NAME N: whether NAME's result can be printed: a test's once
# its shard sent it, a step of every shard's once each sent it (or every
# guest has ended).
shard_ready() {
	local name=$1 n=$2 k

	if [[ ${share[$name]} != all ]]; then
		[[ -n ${blocks["${share[$name]} $name"]+x} ]]
		return
	fi
	((ended)) && return 0
	for ((k = 1; k <= n; k++)); do
		[[ -n ${blocks["$k $name"]+x} ]] || return 1
	done
}

# shard_emit NUM NAME N: prints NAME's result as number NUM, and its
# time to the durations file ("name seconds share").
shard_emit() {
	local num=$1 name=$2 n=$3 text

	if [[ ${share[$name]} == all ]]; then
		text=$(shard_step_merged "$num" "$name" "$n")
	else
		text=$(shard_renumber "$num" "${blocks["${share[$name]} $name"]}")
	fi
	printf '%s\n' "$text"
	shard_count "$text"
	[[ $text =~ (^|$'\n')\#\ time=([0-9.]+)s ]] &&
		printf '%s\t%s\t%s\n' "$name" "${BASH_REMATCH[2]}" "${share[$name]}" >> "$durations"
	return 0
}

# shard_emit_ready N: prints, in order, every result that can be; at the
# end (every guest ended) a test that never came is passed over, left
# for the parser to count as missing.
shard_emit_ready() {
	local n=$1 name

	while ((next < ${#order[@]})); do
		name=${order[$next]}
		if shard_ready "$name" "$n"; then
			shard_emit "$((next + 1))" "$name" "$n"
		elif ! ((ended)); then
			return 0
		fi
		next=$((next + 1))
	done
}

# shard_all_ended DIR N: whether every shard's guest has ended (its
# DIR/K/ended exists).
shard_all_ended() {
	local k

	for ((k = 1; k <= $2; k++)); do
		[[ -f $1/$k/ended ]] || return 1
	done
}

# shard_count TEXT: counts the result of an emitted block in counts[]
# (passed, failed, skipped, xfail, xpass), read as the host's parser
# reads it.
shard_count() {
	# shellcheck disable=SC2034  # set by ktap_result_fields, not read here
	local line r_status r_name r_reason

	while IFS= read -r line; do
		ktap_result_fields "$line" || continue
		case $r_status in
		pass) counts[0]=$((counts[0] + 1)) ;;
		skip) counts[2]=$((counts[2] + 1)) ;;
		xfail) counts[3]=$((counts[3] + 1)) ;;
		xpass) counts[4]=$((counts[4] + 1)) ;;
		*) counts[1]=$((counts[1] + 1)) ;;
		esac
		return
	done <<< "$1"
}

# shard_plans_told DIR N: whether every guest's plan line was read.
shard_plans_told() {
	local k

	for ((k = 1; k <= $2; k++)); do
		[[ -n ${sh_plan[k]-} ]] || return 1
	done
}

# shard_poll DIR N: reads what every stream gained; sleeps a little when
# none had anything.
shard_poll() {
	local dir=$1 n=$2 k got=1

	shard_all_ended "$dir" "$n" && ended=1
	for ((k = 1; k <= n; k++)); do
		shard_read "$k" "${fds[k]}" && got=0
	done
	((got == 0 || ended)) || sleep 0.2
}

# shard_merge DIR N: the merged stream of the shards' DIR/K/ktap.raw, in
# DIR/plan's order, as they are written. The plan counts all tests and
# the steps each guest runs around them (module.load first; the others,
# such as module.unload, last, in the order a guest first told of
# them), each step merged
# over the shards; every result is renumbered. Ends once every guest has
# ended (DIR/K/ended) and its stream is read; "# guest: done" only if
# every guest said it.
shard_merge() {
	local dir=$1 n=$2 k name next=0 ended=0 extra told tests fd
	local durations=$dir/durations
	local -a order=(module.load) fds sh_buf sh_part sh_pend sh_done \
		sh_plan trail sh_first counts=(0 0 0 0 0)
	local -A share=([module.load]=all) blocks

	while read -r name k; do
		order+=("$name")
		share[$name]=$k
	done < "$dir/plan"
	tests=$((${#order[@]} - 1))
	: > "$durations"
	for ((k = 1; k <= n; k++)); do
		: >> "$dir/$k/ktap.raw"
		exec {fd}< "$dir/$k/ktap.raw"
		fds[k]=$fd
		sh_buf[k]=""
		sh_part[k]=""
		sh_pend[k]=""
	done
	printf 'KTAP version 1\n'
	# The plan once every guest has told how many steps it runs besides
	# its tests (the most any tells: a guest that plans fewer tests than
	# its share leaves the rest missing).
	until shard_plans_told "$dir" "$n" || ((ended)); do
		shard_poll "$dir" "$n"
	done
	extra=1
	for ((k = 1; k <= n; k++)); do
		told=$((${sh_plan[k]:-0} - $(wc -l < "$dir/$k.list")))
		((told <= extra)) || extra=$told
	done
	printf '1..%d\n' "$((tests + extra))"
	until ((ended)); do
		shard_poll "$dir" "$n"
		shard_emit_ready "$n"
	done
	shard_poll "$dir" "$n"
	for ((k = 1; k <= n; k++)); do
		[[ -z ${sh_pend[k]} ]] || shard_block_end "$k"
		fd=${fds[k]}
		exec {fd}<&-
	done
	shard_emit_ready "$n"
	for name in "${trail[@]}"; do
		next=$((next + 1))
		shard_emit "$next" "$name" "$n"
	done
	printf '# hmm_nocopy: %d passed, %d failed, %d skipped, %d xfail, %d xpass\n' \
		"${counts[@]}"
	for ((k = 1; k <= n; k++)); do
		printf '%s %s\n' "${sh_first[k]-}" "${sh_done[k]-}" > "$dir/$k/seen"
	done
	for ((k = 1; k <= n; k++)); do
		[[ -n ${sh_done[k]-} ]] || return 0
	done
	printf '# guest: done\n'
}
