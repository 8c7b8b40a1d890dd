#!/usr/bin/env bash
# A map of the module's files: which lib/*.c file uses functions that
# another lib/*.c file defines, drawn as a Graphviz graph. A newcomer
# reads docs/module-calls.svg; make docs redraws it.
#
#   tools/docs/callgraph.sh [DIR]   the graph of DIR/*.c (default lib/)
#                                   as Graphviz dot, on stdout
#   tools/docs/callgraph.sh --update
#                                   rewrite docs/module-calls.dot and
#                                   docs/module-calls.svg from lib/
#
# Definitions come from universal-ctags: the functions and variables a
# .c file defines without "static" (a static one cannot be reached from
# another file, and two files may each have a static helper of the same
# name). Uses come from a scanner of our own over each file with its
# comments and string and character literals removed: every identifier
# that names such a definition of another file is one use, a call or a
# reference (the ioctl table in test_hmm_core.c names its handlers
# without calling them, the refuse engine names each page kind's ops
# table, and those are edges a newcomer wants to see). Headers are not
# nodes: their inline functions (test_hmm_compat.h) belong to every file
# that includes them.
#
# An edge "a.c -> b.c" is labelled with the number of b.c's functions
# (and ops tables) a.c uses; its tooltip (hover in the SVG) names them. When DIR holds a
# Kbuild, the files of each of its "test_hmm-y" lines are drawn together,
# under that line's comment. Everything is sorted, so an unchanged tree
# gives the same bytes: the project's tests compare the committed .dot
# with a fresh one (tools/tests/test_docs.sh).
set -euo pipefail

export LC_ALL=C
DOCS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Universal ctags: Debian installs it as ctags-universal (and, through
# the alternatives, maybe as ctags); Exuberant ctags lacks the options
# used here.
ctags_cmd() {
	if command -v ctags-universal > /dev/null 2>&1; then
		echo ctags-universal
	elif ctags --version 2> /dev/null | grep -q '^Universal Ctags'; then
		echo ctags
	else
		echo 'callgraph: error: no universal-ctags (apt-get install universal-ctags)' >&2
		return 2
	fi
}

# defs FILE...: "name<TAB>file" for each function and variable the files
# define without "static", by basename.
defs() {
	local ctags

	ctags=$(ctags_cmd)
	"$ctags" -f - --languages=C --kinds-C=fv --excmd=number "$@" |
		awk -F'\t' '{
			for (i = 4; i <= NF; i++)
				if ($i == "file:")
					next
			n = split($2, p, "/")
			print $1 "\t" p[n]
		}' | sort -u
}

# uses FILE...: "identifier<TAB>file" for each identifier outside
# comments, string and character literals, once per occurrence.
uses() {
	awk '
	FNR == 1 {
		n = split(FILENAME, p, "/")
		file = p[n]
		incomment = 0
	}
	{
		line = $0
		out = ""
		while (line != "") {
			if (incomment) {
				i = index(line, "*/")
				if (!i) {
					line = ""
					break
				}
				line = substr(line, i + 2)
				incomment = 0
				out = out " "
				continue
			}
			if (!match(line, /\/\*|\/\/|"|\047/)) {
				out = out line
				break
			}
			out = out substr(line, 1, RSTART - 1) " "
			tok = substr(line, RSTART, RLENGTH)
			line = substr(line, RSTART)
			if (tok == "//")
				break
			if (tok == "/*") {
				line = substr(line, 3)
				incomment = 1
				continue
			}
			# A literal, escapes included; an unterminated one
			# (a macro continued on the next line) ends the line.
			re = tok == "\"" ? "^\"([^\"\\\\]|\\\\.)*\"" : "^\047([^\047\\\\]|\\\\.)*\047"
			if (match(line, re))
				line = substr(line, RLENGTH + 1)
			else
				line = ""
		}
		while (match(out, /[A-Za-z0-9_]+/)) {
			word = substr(out, RSTART, RLENGTH)
			out = substr(out, RSTART + RLENGTH)
			if (word !~ /^[0-9]/)
				print word "\t" file
		}
	}' "$@"
}

# edges DEFS USES: "user<TAB>definer<TAB>name<TAB>uses" for each
# definition of one file that another file uses, sorted.
edges() {
	awk -F'\t' '
	NR == FNR { def[$1] = def[$1] " " $2; next }
	$1 in def {
		n = split(def[$1], f, " ")
		for (i = 1; i <= n; i++)
			if (f[i] != $2)
				count[$2 "\t" f[i] "\t" $1]++
	}
	END { for (k in count) print k "\t" count[k] }' "$1" "$2" | sort
}

# groups DIR: "file<TAB>group" from DIR/Kbuild: the files of one
# "test_hmm-y" line (continuations included) share a group, named by
# the comment above the line up to its first colon or full stop; a line
# without one is "module".
groups() {
	local kbuild=$1/Kbuild

	[[ -f $kbuild ]] || return 0
	sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' "$kbuild" | awk '
	/^#/ {
		if (comment == "") {
			comment = $0
			sub(/^#[ \t]*/, "", comment)
			sub(/[:.].*/, "", comment)
		}
		next
	}
	/^[A-Za-z0-9_]+-y[ \t]*[:+]?=/ {
		name = comment == "" ? "module" : comment
		for (i = 3; i <= NF; i++) {
			obj = $i
			sub(/\.o$/, ".c", obj)
			print obj "\t" name
		}
	}
	{ comment = "" }'
}

# dot DIR: the graph of DIR/*.c.
dot_of() {
	local dir=$1 tmp
	local -a files

	shopt -s nullglob
	files=("$dir"/*.c)
	shopt -u nullglob
	if ((${#files[@]} == 0)); then
		echo "callgraph: error: no .c files in $dir" >&2
		return 2
	fi
	tmp=$(mktemp -d)
	defs "${files[@]}" > "$tmp/defs"
	uses "${files[@]}" > "$tmp/uses"
	edges "$tmp/defs" "$tmp/uses" > "$tmp/edges"
	groups "$dir" > "$tmp/groups"
	printf '%s\n' "${files[@]##*/}" > "$tmp/files"

	awk -F'\t' -v title="${dir%/}/*.c" '
	FILENAME ~ /groups$/ { group[$1] = $2; next }
	FILENAME ~ /files$/ { file[++nfiles] = $1; next }
	{
		key = $1 "\t" $2
		if (!(key in fns))
			order[++nedges] = key
		fns[key] = fns[key] (fns[key] == "" ? "" : ", ") $3
		nfn[key]++
	}
	END {
		print "// Generated by tools/docs/callgraph.sh (make docs): do not edit."
		print "// " title ": an edge a.c -> b.c when a.c uses functions b.c defines;"
		print "// its label is how many, its tooltip names them."
		print "digraph module_calls {"
		print "\tgraph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, label=\"" title ": who uses whose functions\", labelloc=t];"
		print "\tnode [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];"
		print "\tedge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];"
		ng = 0
		for (i = 1; i <= nfiles; i++) {
			g = (file[i] in group) ? group[file[i]] : ""
			if (g == "") {
				print "\t\"" file[i] "\";"
				continue
			}
			if (!(g in gid)) {
				gid[g] = ++ng
				gname[ng] = g
			}
			members[gid[g]] = members[gid[g]] "\t\t\"" file[i] "\";\n"
		}
		for (i = 1; i <= ng; i++) {
			print "\tsubgraph cluster_" i " {"
			print "\t\tlabel=\"" gname[i] "\"; style=dashed; color=\"#999999\";"
			printf "%s", members[i]
			print "\t}"
		}
		for (i = 1; i <= nedges; i++) {
			split(order[i], e, "\t")
			print "\t\"" e[1] "\" -> \"" e[2] "\" [label=\"" nfn[order[i]] "\", tooltip=\"" e[1] " uses " fns[order[i]] "\"];"
		}
		print "}"
	}' "$tmp/groups" "$tmp/files" "$tmp/edges"
	rm -rf "$tmp"
}

# The SVG carries the checksum of the .dot it was drawn from, so a test
# can tell a stale picture without Graphviz (whose layout differs from
# one version to the next).
svg_of() {
	local dotfile=$1 sum

	sum=$(sha256sum < "$dotfile" | cut -d' ' -f1)
	dot -Tsvg "$dotfile" |
		awk -v sum="$sum" '{ print } NR == 1 { print "<!-- module-calls.dot sha256 " sum " -->" }'
}

update() {
	local dotfile=$DOCS_TOP/docs/module-calls.dot
	local svgfile=$DOCS_TOP/docs/module-calls.svg

	# shellcheck source=tools/vm/lib.sh
	source "$DOCS_TOP/tools/vm/lib.sh"
	# shellcheck source=tools/vm/deps.sh
	source "$DOCS_TOP/tools/vm/deps.sh"
	deps_ensure DEPS_DOCS
	(cd "$DOCS_TOP" && dot_of lib) > "$dotfile.tmp"
	mv "$dotfile.tmp" "$dotfile"
	svg_of "$dotfile" > "$svgfile.tmp"
	mv "$svgfile.tmp" "$svgfile"
	info "wrote docs/module-calls.dot and docs/module-calls.svg"
}

main() {
	case ${1:-} in
	--update) update ;;
	-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' ;;
	'') cd "$DOCS_TOP" && dot_of lib ;;
	*) dot_of "$1" ;;
	esac
}

main "$@"
