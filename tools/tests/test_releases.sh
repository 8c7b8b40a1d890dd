#!/usr/bin/env bash
# The release table and the kernel source fetch (tools/vm/releases.sh,
# kernel.sh), with a fake apt: what is fetched, from where, into which
# cache directory, and that the machine's apt sources stay as they were.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/vm/lib.sh
source "$HMM_TOP/tools/vm/lib.sh"
# shellcheck source=tools/vm/releases.sh
source "$HMM_TOP/tools/vm/releases.sh"
# shellcheck source=tools/vm/kernel.sh
source "$HMM_TOP/tools/vm/kernel.sh"

# A machine with bookworm's sources in deb822 form and a disabled one.
fake_machine() {
	local dir=$1

	mkdir -p "$dir/etc/sources.list.d" "$dir/bin" "$dir/cache"
	cat > "$dir/etc/sources.list.d/debian.sources" <<-'SRC'
	Types: deb
	URIs: http://mirror.example/debian
	Suites: bookworm bookworm-updates
	Components: main

	Types: deb
	URIs: http://mirror.example/debian-security
	Suites: bookworm-security
	Components: main
	SRC
	printf 'deb http://other.example/apt cloud-sdk main\n' \
		> "$dir/etc/sources.list.d/other.list.disabled"
	printf 'ID=debian\nVERSION_CODENAME=bookworm\n' > "$dir/os-release"
	export HMM_APT_ETC=$dir/etc HMM_OS_RELEASE=$dir/os-release
	export HMM_CACHE=$dir/cache
}

# A fake apt-get that logs its calls and "downloads" a real .deb holding
# /usr/src/PKG.tar.xz with a tiny kernel tree in it; dpkg-query says
# nothing is installed.
fake_apt() {
	local dir=$1 pkg=$2 ver=$3 deb

	deb=$dir/deb

	mkdir -p "$deb/DEBIAN" "$deb/usr/src" "$dir/tree/linux-src"
	echo 'VERSION = 5' > "$dir/tree/linux-src/Makefile"
	tar -cJf "$deb/usr/src/$pkg.tar.xz" -C "$dir/tree" linux-src
	printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n' \
		"$pkg" "$ver" > "$deb/DEBIAN/control"
	dpkg-deb -b "$deb" "$dir/${pkg}_${ver}_all.deb" > /dev/null
	cat > "$dir/bin/apt-get" <<-APT
	#!/bin/bash
	echo "\$*" >> "$dir/apt.calls"
	case " \$* " in
	*" update "*) exit 0 ;;
	*" download $pkg "*) cp "$dir/${pkg}_${ver}_all.deb" . ;;
	*) exit 100 ;;
	esac
	APT
	printf '#!/bin/sh\nexit 1\n' > "$dir/bin/dpkg-query"
	chmod +x "$dir/bin/apt-get" "$dir/bin/dpkg-query"
	PATH=$dir/bin:$PATH
}

# The fetch tests' own table, so that they hold whatever releases the
# real one lists.
fake_releases() {
	KERNEL_RELEASES=(
		"4.19|linux-source-4.19|buster|"
		"5.10|linux-source-5.10|bullseye|"
		"6.12|linux-source-6.12|bookworm|"
	)
}

test_releases_table_lines_are_well_formed_with_the_default_among_them() {
	local entry release names

	for entry in "${KERNEL_RELEASES[@]}"; do
		[[ $entry =~ ^([0-9]+\.[0-9]+)\|linux-source-[0-9.]+\|[a-z]+\|[^|]*$ ]] ||
			{ echo "malformed line: $entry"; return 1; }
	done
	names=$(release_names)
	assert_eq "$(sort -u <<< "$names")" "$(sort <<< "$names")" "unique releases" &&
	assert_contains $'\n'"$names"$'\n' $'\n'"$KERNEL_RELEASE_DEFAULT"$'\n' "the default" &&
	for release in $names; do
		assert_eq "linux-source-$release" "$(release_field "$release" 2)" \
			"$release package" || return 1
	done
}

test_releases_every_named_fragment_exists() {
	local release frag

	for release in $(release_names); do
		frag=$(release_field "$release" 4)
		[[ -z $frag || -f $HMM_TOP/$frag ]] ||
			{ echo "$release: no $frag"; return 1; }
	done
}

# The module builds for a release that has its compat file (lib/Kbuild,
# lib/test_hmm_release.h): exactly those of the table.
test_releases_module_compat_files_are_the_releases() {
	local files

	files=$(cd "$HMM_TOP/lib" && for f in test_hmm_compat_[0-9]*.h; do
		f=${f#test_hmm_compat_}
		echo "${f%.h}"
	done | sort)
	assert_eq "$(release_names | sort)" "$files" \
		"lib/test_hmm_compat_<release>.h files"
}

# The README's table under "Kernel releases": below its header, a row
# per release, its first cell the release in backquotes.
test_releases_readme_table_names_exactly_the_releases() {
	local rows

	rows=$(awk '
		/^## / { in_section = ($0 == "## Kernel releases"); body = 0 }
		in_section && /^\| ---/ { body = 1; next }
		in_section && body && /^\| `[^`]+` \|/ {
			split($0, cell, "`")
			print cell[2]
		}' "$HMM_TOP/README.md" | sort)
	assert_eq "$(release_names | sort)" "$rows" "README release table"
}

test_releases_unknown_release_is_refused_with_the_list() {
	local out

	fake_releases
	out=$( (release_check 4.9) 2>&1) && return 1
	assert_contains "$out" "unknown --kernel '4.9' (known: 4.19 5.10 6.12)"
}

# fake_box_with_5_10: a fresh machine in a new directory (set in the
# caller's dir) with the test release list, bookworm's sources and an
# apt that serves linux-source-5.10 5.10.999-1.
fake_box_with_5_10() {
	dir=$(mktemp -d)
	fake_releases
	fake_machine "$dir"
	fake_apt "$dir" linux-source-5.10 5.10.999-1
}

test_releases_private_sources_swap_the_codename() {
	local dir

	dir=$(mktemp -d)
	fake_machine "$dir"
	assert_eq $'deb http://mirror.example/debian bullseye main
deb http://mirror.example/debian bullseye-updates main
deb http://mirror.example/debian-security bullseye-security main' \
		"$(apt_private_sources bullseye)" "sources.list"
	rm -rf "$dir"
}

test_releases_fetch_unpacks_into_cache_and_leaves_apt_alone() {
	local dir before src calls

	fake_box_with_5_10
	before=$(find "$dir/etc" -type f -exec sha256sum {} + | sort)
	src=$(kernel_debian_source 5.10 2> /dev/null)
	assert_eq "$dir/cache/src/linux-source-5.10-5.10.999-1" "$src" "tree" &&
	assert_eq "VERSION = 5" "$(cat "$src/Makefile")" "unpacked" &&
	assert_contains "$(cat "$dir/cache/apt/bullseye/sources.list")" \
		"debian-security bullseye-security main" &&
	calls=$(cat "$dir/apt.calls") &&
	assert_contains "$calls" "Dir::Etc::sourcelist=$dir/cache/apt/bullseye/sources.list" &&
	assert_contains "$calls" "Dir::State::Lists=$dir/cache/apt/bullseye/lists" &&
	assert_eq "$before" "$(find "$dir/etc" -type f -exec sha256sum {} + | sort)" \
		"the machine's apt sources" || return 1
	if [[ -e $dir/cache/apt/bullseye/root ]]; then
		echo "the extracted package was left behind"
		return 1
	fi
	rm -rf "$dir"
}

test_releases_second_run_uses_the_cache_without_apt() {
	local dir src

	fake_box_with_5_10
	kernel_debian_source 5.10 > /dev/null 2>&1
	: > "$dir/apt.calls"
	src=$(kernel_debian_source 5.10 2> /dev/null)
	assert_eq "$dir/cache/src/linux-source-5.10-5.10.999-1" "$src" "tree" &&
	assert_eq "" "$(cat "$dir/apt.calls")" "apt calls on the second run"
	rm -rf "$dir"
}

test_releases_failed_fetch_names_package_and_log() {
	local dir out

	fake_box_with_5_10
	out=$( (kernel_debian_source 6.12) 2>&1) && return 1
	assert_contains "$out" "cannot fetch linux-source-6.12 for bookworm (log: $dir/cache/apt/bookworm/apt.log)"
	rm -rf "$dir"
}
