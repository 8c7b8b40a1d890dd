// SPDX-License-Identifier: GPL-2.0
/*
 * A fixture of tools/tests/test_docs.sh. The front uses two functions of
 * the engine: one it calls twice, one it only names in a table. It
 * names kind_probe() only in comments and literals, which are no use:
 * kind_probe(0);
 */
#include "fixture.h"

static const struct fixture_ops front_ops = {
	.probe = engine_run,
};

int front_cmd(int x)
{
	const char *s = "kind_probe(x) \" kind_probe(x)";
	char quote = '"';

	// kind_probe(x) in a line comment
	if (s[0] == quote)
		return engine_step(x); /* kind_probe(x) */
	return engine_step(x + 1) + front_ops.probe(x);
}
