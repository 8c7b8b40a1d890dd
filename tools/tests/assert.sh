#!/usr/bin/env bash
# Assertions for the project's own tests.

assert_eq() {
	local want=$1 got=$2 what=${3:-value}

	[[ $want == "$got" ]] && return 0
	printf 'FAIL: %s: want [%s], got [%s]\n' "$what" "$want" "$got"
	return 1
}

assert_contains() {
	local haystack=$1 needle=$2 what=${3:-output}

	[[ $haystack == *"$needle"* ]] && return 0
	printf 'FAIL: %s lacks [%s]; it was:\n%s\n' "$what" "$needle" "$haystack"
	return 1
}

assert_not_contains() {
	local haystack=$1 needle=$2 what=${3:-output}

	[[ $haystack != *"$needle"* ]] && return 0
	printf 'FAIL: %s has [%s]; it was:\n%s\n' "$what" "$needle" "$haystack"
	return 1
}
