// SPDX-License-Identifier: GPL-2.0
/*
 * A fixture of tools/tests/test_docs.sh. A page kind: it calls only its
 * own static helper(), which the engine has one of too.
 */
#include "fixture.h"

static int helper(int x)
{
	return x * 2;
}

int kind_probe(int x)
{
	return helper(x);
}

const struct fixture_ops kind_ops = {
	.probe = kind_probe,
};
