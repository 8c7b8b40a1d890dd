/* SPDX-License-Identifier: GPL-2.0 */
/* A fixture of tools/tests/test_docs.sh: what the three files share. */
#ifndef _FIXTURE_H
#define _FIXTURE_H

struct fixture_ops {
	int (*probe)(int x);
};

extern const struct fixture_ops kind_ops;

int engine_run(int x);
int engine_step(int x);
int kind_probe(int x);
int front_cmd(int x);

#endif /* _FIXTURE_H */
