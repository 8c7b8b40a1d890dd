#!/usr/bin/env bash
# The project's map: docs/architecture.md names files and functions
# that exist, and its picture of the module (tools/docs/callgraph.sh ->
# docs/module-calls.dot and .svg) is what the generator draws from
# lib/ now. The generator itself is checked on a fixture module of
# three files (tools/tests/data/callgraph/).
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"

CALLGRAPH=$HMM_TOP/tools/docs/callgraph.sh
CG_FIXTURE=$HMM_TOP/tools/tests/data/callgraph

# The generator needs universal-ctags (make check installs it as root).
need_ctags() {
	command -v ctags-universal > /dev/null 2>&1 && return 0
	ctags --version 2> /dev/null | grep -q '^Universal Ctags' && return 0
	echo "no universal-ctags (apt-get install universal-ctags)"
	return 4
}

# The fixture: the front calls one engine function and names another in
# a table; the engine calls a page kind's function and names its ops
# table. Not edges: kind_probe() in the front's comments and string and
# character literals, and the static helper() that engine.c and kind.c
# each have.
test_callgraph_fixture_edges() {
	local out want

	need_ctags || return
	out=$("$CALLGRAPH" "$CG_FIXTURE" | grep -E $'^\t".*" -> ')
	want=$(printf '%s\n' \
		$'\t"engine.c" -> "kind.c" [label="2", tooltip="engine.c uses kind_ops, kind_probe"];' \
		$'\t"front.c" -> "engine.c" [label="2", tooltip="front.c uses engine_run, engine_step"];')
	assert_eq "$want" "$out" "edges of the fixture"
}

# The files of one Kbuild line are drawn together, under its comment;
# a line without a comment is "module".
test_callgraph_fixture_groups() {
	local out

	need_ctags || return
	out=$("$CALLGRAPH" "$CG_FIXTURE")
	assert_contains "$out" $'\tsubgraph cluster_1 {\n\t\tlabel="The engine and its page kinds"; style=dashed; color="#999999";\n\t\t"engine.c";\n\t\t"kind.c";\n\t}' &&
	assert_contains "$out" $'\t\tlabel="module"; style=dashed; color="#999999";\n\t\t"front.c";\n\t}'
}

test_callgraph_needs_c_files() {
	local dir out rc=0

	dir=$(mktemp -d)
	out=$("$CALLGRAPH" "$dir" 2>&1) || rc=$?
	rmdir "$dir"
	assert_eq 2 "$rc" "exit status" &&
	assert_contains "$out" "no .c files in $dir"
}

# Same tree, same bytes: the committed .dot can be compared.
test_callgraph_is_deterministic() {
	need_ctags || return
	assert_eq "$("$CALLGRAPH")" "$("$CALLGRAPH")" "two runs over lib/"
}

test_callgraph_dot_is_current() {
	local out

	need_ctags || return
	out=$(diff -u "$HMM_TOP/docs/module-calls.dot" <("$CALLGRAPH")) && return 0
	printf 'FAIL: docs/module-calls.dot does not match lib/: run make docs\n%s\n' "$out"
	return 1
}

# The SVG names the checksum of the .dot it was drawn from: a stale
# picture shows without Graphviz.
test_callgraph_svg_is_drawn_from_dot() {
	local want got

	want=$(sha256sum < "$HMM_TOP/docs/module-calls.dot" | cut -d' ' -f1)
	got=$(sed -n 's/^<!-- module-calls.dot sha256 \([0-9a-f]*\) -->$/\1/p' \
		"$HMM_TOP/docs/module-calls.svg")
	assert_eq "$want" "$got" "the .dot docs/module-calls.svg was drawn from (make docs)"
}

BQ='`'

# docs/architecture.md outside its HTML comments (those say what a
# refactor will change), one backquoted span a line.
architecture_spans() {
	awk '
	{
		line = $0
		while (line != "") {
			if (incomment) {
				i = index(line, "-->")
				if (!i)
					next
				line = substr(line, i + 3)
				incomment = 0
			}
			i = index(line, "<!--")
			if (!i) {
				out = out line "\n"
				break
			}
			out = out substr(line, 1, i - 1)
			line = substr(line, i + 4)
			incomment = 1
		}
	}
	END { printf "%s", out }' "$HMM_TOP/docs/architecture.md" |
		grep -o "${BQ}[^${BQ}]*${BQ}" | tr -d "$BQ" | sort -u
}

# Every project path it names exists (a <placeholder> matches any
# name), and every function, macro or constant of ours it names is
# still somewhere in the tree: a rename that forgets the map fails here.
test_architecture_names_what_exists() {
	local span glob name missing=""
	local -a found

	while IFS= read -r span; do
		case $span in
		lib/* | test_hmm/* | tools/* | configs/* | docs/* | \
			run_tests.sh | Makefile | README.md)
			glob=$span
			while [[ $glob =~ ^(.*)\<[^\>]*\>(.*)$ ]]; do
				glob="${BASH_REMATCH[1]}*${BASH_REMATCH[2]}"
			done
			# shellcheck disable=SC2206  # the glob, on purpose
			found=("$HMM_TOP"/$glob)
			[[ -e ${found[0]} ]] || missing+=" $span"
			;;
		esac
		if [[ $span =~ ^([A-Za-z_][A-Za-z0-9_]*)\(\)$ ||
		      $span =~ ^((HMM|DMIRROR)_[A-Z0-9_]+)$ ]]; then
			name=${BASH_REMATCH[1]}
			grep -rqw --include='*.[ch]' --include='*.sh' \
				--include='*.awk' --include=hmm-run -- "$name" \
				"$HMM_TOP"/{lib,test_hmm,tools,run_tests.sh} ||
				missing+=" $span"
		fi
	done < <(architecture_spans)
	assert_eq "" "$missing" "names in docs/architecture.md that are not in the tree"
}
