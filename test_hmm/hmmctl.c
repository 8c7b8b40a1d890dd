// SPDX-License-Identifier: GPL-2.0
/*
 * hmmctl: poke the test_hmm device by hand.
 *
 *   hmmctl counters [--global] [--device N]
 *   hmmctl snapshot [--pages N] [--device N]
 *   hmmctl migrate  [--pages N] [--device N]
 *   hmmctl probe    [--pages N] [--device N] [--mode sync|nocopy]
 *   hmmctl balance [--engine-reset] [--since FILE]
 *   hmmctl engine-reset
 *   hmmctl info
 *   hmmctl klog-until TEXT < /dev/kmsg
 *   hmmctl shared-files
 *
 * The device mirrors the process that opens it, so every command works
 * on a buffer of hmmctl's own: snapshot shows one page of each kind,
 * migrate sends a buffer to the device and back, probe runs the no-copy
 * probe, and each prints PFNs, results and the counters it moved.
 * balance checks that nothing is in flight or held: the suite's runner
 * calls it after every test. engine-reset puts every device's DMA engine
 * back to its defaults (a test killed before its teardown leaves its
 * settings to the next one), naming each it reset; balance
 * --engine-reset does both, in the one process the runner pays for
 * between tests. info prints what the device offers, a
 * "key value" line each, for scripts: exit 3 when the device is not
 * test_hmm_nocopy's. klog-until needs no device: it is the suite
 * runner's cursor over the kernel log (see cmd_klog_until()). Nor does
 * shared-files, libhmm's list of the tunables a test may leave changed,
 * a path a line, which the runner puts back between tests.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libhmm.h"

struct opts {
	unsigned int device;
	size_t pages;
	bool global;
	bool engine_reset;
	const char *since;
	__u32 mode;
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "hmmctl: %s: %s\n", what, strerror(-err));
	return 1;
}

static void print_counters(const char *title, const struct hmm_nc_counters *c)
{
	static const char * const modes[HMM_NC_MODE_COUNT] = {
		"sync", "sync_no_copy", "sync_light", "async",
	};
	int cb, mode;

	printf("%s\n", title);
	printf("  batches %llu  pages_copied %llu\n",
	       (unsigned long long)c->batches,
	       (unsigned long long)c->pages_copied);
	printf("  pages_locked %llu  unlocked %llu  taken %llu  returned %llu\n",
	       (unsigned long long)c->pages_locked,
	       (unsigned long long)c->pages_unlocked,
	       (unsigned long long)c->pages_taken,
	       (unsigned long long)c->pages_returned);
	printf("  devmem_alloc %llu  free %llu  chunks %llu\n",
	       (unsigned long long)c->devmem_alloc,
	       (unsigned long long)c->devmem_free,
	       (unsigned long long)c->devmem_chunks);
	printf("  cpu_faults %llu  mirror_faults %llu  invalidations %llu  refusals %llu\n",
	       (unsigned long long)c->cpu_faults,
	       (unsigned long long)c->mirror_faults,
	       (unsigned long long)c->invalidations,
	       (unsigned long long)c->refusals);
	printf("  faults_injected %llu  copy_failed %llu\n",
	       (unsigned long long)c->faults_injected,
	       (unsigned long long)c->copy_failed);
	for (cb = 0; cb < HMM_NC_CB_COUNT; cb++)
		for (mode = 0; mode < HMM_NC_MODE_COUNT; mode++)
			if (c->migrated[cb][mode] || c->failed[cb][mode])
				printf("  %s/%s: migrated %llu failed %llu\n",
				       hmm_cb_name(cb), modes[mode],
				       (unsigned long long)c->migrated[cb][mode],
				       (unsigned long long)c->failed[cb][mode]);
}

/* Prints what a command did to the device's counters. */
static int print_delta(int fd, const struct hmm_nc_counters *before)
{
	struct hmm_nc_counters now, d;
	int ret = hmm_counters(fd, false, &now);

	if (ret)
		return fail("counters", ret);
	hmm_counters_delta(before, &now, &d);
	print_counters("counters moved by this command:", &d);
	return 0;
}

static void print_pfns(const char *title, void *addr, size_t npages)
{
	__u64 *pm = calloc(npages, sizeof(*pm));
	size_t i;

	if (!pm || hmm_pagemap(addr, npages, pm)) {
		printf("%s: pagemap unreadable\n", title);
		free(pm);
		return;
	}
	printf("%s:", title);
	for (i = 0; i < npages; i++) {
		if (hmm_pm_pfn(pm[i]))
			printf(" %llx", (unsigned long long)hmm_pm_pfn(pm[i]));
		else
			printf(" %s", hmm_pm_swapped(pm[i]) ? "dev" : "-");
	}
	printf("\n");
	free(pm);
}

static int cmd_counters(int fd, const struct opts *o)
{
	struct hmm_nc_counters c;
	int ret = hmm_counters(fd, o->global, &c);

	if (ret)
		return fail("counters", ret);
	print_counters(o->global ? "global counters:" : "device counters:", &c);
	return 0;
}

/* The pairs that balance once no command runs, and their names. */
#define BALANCE_PAIRS	3
static const char *const balance_names[BALANCE_PAIRS] = {
	"pages_locked/unlocked", "pages_taken/returned", "devmem_alloc/free",
};

/*
 * What each pair is short of balance, as --since FILE keeps it between
 * two calls ("N N N"); none without the file, or a file not written yet.
 */
static void balance_read(const char *path, __s64 *open)
{
	long long v[BALANCE_PAIRS] = { 0 };
	FILE *f = path ? fopen(path, "re") : NULL;
	int i;

	if (f) {
		if (fscanf(f, "%lld %lld %lld", &v[0], &v[1], &v[2]) != 3)
			memset(v, 0, sizeof(v));
		fclose(f);
	}
	for (i = 0; i < BALANCE_PAIRS; i++)
		open[i] = v[i];
}

static int balance_write(const char *path, const __s64 *open)
{
	FILE *f = fopen(path, "we");
	int bad;

	if (!f)
		return -errno;
	fprintf(f, "%lld %lld %lld\n", (long long)open[0],
		(long long)open[1], (long long)open[2]);
	bad = ferror(f);
	return fclose(f) || bad ? -EIO : 0;
}

/*
 * With no command running, every page the engine locked or took has been
 * unlocked and given back, and no device page holds data (the processes
 * that owned some have exited). Exit status 1 says otherwise. With
 * --since FILE, only what grew since the call that wrote FILE counts
 * (the runner calls it after each test): pages still held by an earlier
 * test's work, its process killed while the kernel finished it, are
 * said as "carried:", and fail only the test during which they were
 * taken, not every test after it until the work ends.
 */
static int cmd_balance(int fd, const struct opts *o)
{
	__s64 was[BALANCE_PAIRS], now[BALANCE_PAIRS];
	__u64 out[BALANCE_PAIRS], back[BALANCE_PAIRS];
	struct hmm_nc_counters c;
	int ret = hmm_counters(fd, true, &c), i;
	bool ok = true;

	if (ret)
		return fail("counters", ret);
	out[0] = c.pages_locked;
	back[0] = c.pages_unlocked;
	out[1] = c.pages_taken;
	back[1] = c.pages_returned;
	out[2] = c.devmem_alloc;
	back[2] = c.devmem_free;
	balance_read(o->since, was);
	for (i = 0; i < BALANCE_PAIRS; i++) {
		now[i] = (__s64)(out[i] - back[i]);
		if (!now[i])
			continue;
		printf("%s%s %llu != %llu\n",
		       now[i] > was[i] ? "unbalanced: " : "carried: ",
		       balance_names[i], (unsigned long long)out[i],
		       (unsigned long long)back[i]);
		ok &= now[i] <= was[i];
	}
	if (o->since) {
		ret = balance_write(o->since, now);
		if (ret)
			return fail(o->since, ret);
	}
	if (o->engine_reset) {
		ret = hmm_engines_reset(stdout);
		if (ret < 0)
			return fail("engine-reset", ret);
	}
	return ok ? 0 : 1;
}

static const char *const mode_names[HMM_NC_MODE_COUNT] = {
	[HMM_NC_MODE_SYNC] = "sync",
	[HMM_NC_MODE_SYNC_NO_COPY] = "nocopy",
	[HMM_NC_MODE_SYNC_LIGHT] = "sync_light",
	[HMM_NC_MODE_ASYNC] = "async",
};

static const struct {
	__u64 bit;
	const char *name;
} feature_names[] = {
	{ HMM_NC_FEAT_REFUSALS, "refusals" },
	{ HMM_NC_FEAT_EXCLUSIVE, "exclusive" },
	{ HMM_NC_FEAT_AIO_RING, "aio-ring" },
	{ HMM_NC_FEAT_CORE_MIGRATE, "core_migrate" },
	{ HMM_NC_FEAT_CORE_HUGETLB, "core_hugetlb" },
};

static int cmd_info(int fd, const struct opts *o)
{
	struct hmm_nc_info in;
	unsigned int i, kv;
	int ret = hmm_info(fd, &in);

	if (ret == -ENODEV) {
		fprintf(stderr, "hmmctl: the device is not test_hmm_nocopy's\n");
		return 3;
	}
	if (ret)
		return fail("info", ret);
	kv = in.kernel_version;
	printf("module %s\nversion %s\nabi %u\n", in.module, in.version,
	       in.abi_version);
	printf("kernel %u.%u.%u\nmodes", kv >> 16, (kv >> 8) & 0xff, kv & 0xff);
	for (i = 0; i < HMM_NC_MODE_COUNT; i++)
		if (in.modes & (1U << i))
			printf(" %s", mode_names[i]);
	printf("\nfeatures");
	for (i = 0; i < ARRAY_SIZE(feature_names); i++)
		if (in.features & feature_names[i].bit)
			printf(" %s", feature_names[i].name);
	printf("\ncommands");
	for (i = 0; i < 256; i++)
		if (in.commands[i / 64] & (1ULL << (i % 64)))
			printf(" 0x%02x", i);
	printf("\n");
	return 0;
}

/*
 * A buffer with a page of each kind: untouched, the zero page, written,
 * written and read-only, on this device; then its snapshot.
 */
static int cmd_snapshot(int fd, const struct opts *o)
{
	size_t ps = hmm_page_size(), npages = o->pages < 5 ? 5 : o->pages, i;
	char *p = hmm_map_anon(npages * ps, PROT_READ | PROT_WRITE);
	char *mirror = malloc(npages * ps);
	__u8 *prot = calloc(npages, 1);
	char name[64];
	int ret;

	if (!p || !mirror || !prot)
		return fail("buffer", -ENOMEM);
	hmm_verify_word(p + ps, ps, 0);
	hmm_fill(p + 2 * ps, (npages - 2) * ps, 1);
	mprotect(p + 3 * ps, ps, PROT_READ);
	ret = hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, p + 4 * ps, mirror,
		      npages - 4, NULL);
	if (ret)
		return fail("migrate to device", ret);
	ret = hmm_snapshot(fd, p, npages, prot);
	if (ret)
		return fail("snapshot", ret);
	for (i = 0; i < npages; i++)
		printf("page %zu: 0x%02x %s\n", i, prot[i],
		       hmm_prot_str(prot[i], name, sizeof(name)));
	return 0;
}

/* A buffer to the device and back, with PFNs and data checked. */
static int cmd_migrate(int fd, const struct opts *o)
{
	size_t size = o->pages * hmm_page_size();
	char *p = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	char *mirror = malloc(size);
	struct hmm_nc_counters before;
	struct hmm_dmirror_cmd cmd;
	int ret;

	if (!p || !mirror)
		return fail("buffer", -ENOMEM);
	hmm_fill(p, size, 42);
	ret = hmm_counters(fd, false, &before);
	if (ret)
		return fail("counters", ret);
	print_pfns("pfns before ", p, o->pages);
	ret = hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, p, mirror, o->pages,
		      &cmd);
	if (ret)
		return fail("migrate to device", ret);
	printf("to device: %llu pages, device data %s\n",
	       (unsigned long long)cmd.cpages,
	       hmm_verify(mirror, size, 42) < 0 ? "intact" : "WRONG");
	print_pfns("pfns on dev ", p, o->pages);
	ret = hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_SYS, p, NULL, o->pages, &cmd);
	if (ret)
		return fail("migrate to system", ret);
	printf("to system: %llu pages\n", (unsigned long long)cmd.cpages);
	print_pfns("pfns after  ", p, o->pages);
	printf("data %s\n", hmm_verify(p, size, 42) < 0 ? "intact" : "WRONG");
	return print_delta(fd, &before);
}

/* The no-copy probe: what do new pages hold after the state moved? */
static int cmd_probe(int fd, const struct opts *o)
{
	size_t size = o->pages * hmm_page_size(), i;
	char *p = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	__u8 *status = calloc(o->pages, 1);
	struct hmm_nc_counters before;
	struct hmm_nc_migrate_cmd cmd;
	const char *seen = "something else";
	int ret;

	if (!p || !status)
		return fail("buffer", -ENOMEM);
	hmm_fill(p, size, 7);
	ret = hmm_counters(fd, false, &before);
	if (ret)
		return fail("counters", ret);
	print_pfns("pfns before", p, o->pages);
	ret = hmm_migrate_anon(fd, p, o->pages, o->mode, HMM_NC_MIGRATE_PROBE,
			       status, &cmd);
	if (ret)
		return fail("probe", ret);
	print_pfns("pfns after ", p, o->pages);
	printf("moved %llu of %zu pages in %llu batches; status:",
	       (unsigned long long)cmd.moved, o->pages,
	       (unsigned long long)cmd.batches);
	for (i = 0; i < o->pages; i++)
		printf(" %s", hmm_status_str(status[i]));
	if (hmm_verify_word(p, size, HMM_NC_SENTINEL) < 0)
		seen = "the sentinel (the kernel did not copy)";
	else if (hmm_verify(p, size, 7) < 0)
		seen = "the data (the kernel copied)";
	printf("\nnew pages hold %s\n", seen);
	return print_delta(fd, &before);
}

/*
 * klog-until TEXT: copies the kernel-log records readable on stdin, an
 * fd on /dev/kmsg that the caller keeps open as its cursor, to stdout,
 * up to and including the first record whose text is TEXT, and reads
 * nothing past it: the next caller starts there. /dev/kmsg gives one
 * record a read() and refuses (EINVAL) a buffer shorter than the record,
 * which is why this is not done by awk, whose buffer starts small.
 * Records overwritten before they were read (EPIPE) are said with a
 * record of ours, "hmm-klog: records lost", which the gate counts as a
 * finding; reading goes on from the oldest record left. Exit 0 once
 * TEXT was seen; 1 if the input ended, failed, or stayed silent for
 * KLOG_WAIT_MS first (TEXT was written before this started: a reader
 * that waited for ever would hang the run).
 */
#define KLOG_RECORD_MAX	8192	/* the kernel's CONSOLE_EXT_LOG_MAX */
#define KLOG_WAIT_MS	30000
#define KLOG_LOST	"0,0,0,-;hmm-klog: records lost (the log buffer wrapped)\n"

static bool klog_record_is(const char *rec, size_t len, const char *text)
{
	const char *body = memchr(rec, ';', len);
	const char *eol;
	size_t n = strlen(text);

	if (!body)
		return false;
	body++;
	eol = memchr(body, '\n', len - (body - rec));
	if (!eol)
		eol = rec + len;
	return (size_t)(eol - body) == n && !memcmp(body, text, n);
}

static int cmd_klog_until(const char *text)
{
	static char rec[KLOG_RECORD_MAX];
	struct pollfd in = { .fd = STDIN_FILENO, .events = POLLIN };
	ssize_t n;

	for (;;) {
		if (poll(&in, 1, KLOG_WAIT_MS) == 0)
			return fail("reading the kernel log", -ETIMEDOUT);
		n = read(STDIN_FILENO, rec, sizeof(rec));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EPIPE) {
			fputs(KLOG_LOST, stdout);
			continue;
		}
		if (n < 0)
			return fail("reading the kernel log", -errno);
		if (n == 0)
			return 1;
		if (fwrite(rec, 1, n, stdout) != (size_t)n)
			return 1;
		if (klog_record_is(rec, n, text))
			return fflush(stdout) ? 1 : 0;
	}
}

static int cmd_shared_files(void)
{
	unsigned int i;

	for (i = 0; i < hmm_nshared_files; i++)
		printf("%s\n", hmm_shared_files[i]);
	return fflush(stdout) ? 1 : 0;
}

static int print_help(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: hmmctl COMMAND [OPTIONS]\n"
		"  counters [--global]   print the counters\n"
		"  snapshot              snapshot a buffer with a page of each kind\n"
		"  migrate               move a buffer to the device and back\n"
		"  probe [--mode M]      run the no-copy probe (M: nocopy, sync)\n"
		"  balance               exit 1 if the global counters show pages\n"
		"                        still locked, taken or on a device;\n"
		"                        --engine-reset: and reset the engines;\n"
		"                        --since FILE: only what grew since the\n"
		"                        call that wrote FILE (\"carried:\" the rest)\n"
		"  engine-reset          put every device's engine back to the\n"
		"                        defaults, naming each one that was not\n"
		"  info                  what the device and its kernel offer\n"
		"  klog-until TEXT       copy /dev/kmsg records from stdin up to\n"
		"                        the one whose text is TEXT (no device)\n"
		"  shared-files          the tunables a test may leave changed,\n"
		"                        a path a line (no device)\n"
		"options: --device N (default 0), --pages N (default 4)\n");
	return status;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "pages", required_argument, NULL, 'p' },
		{ "global", no_argument, NULL, 'g' },
		{ "engine-reset", no_argument, NULL, 'E' },
		{ "since", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "d:p:gm:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->device = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			o->pages = strtoul(optarg, NULL, 0);
			break;
		case 'g':
			o->global = true;
			break;
		case 'E':
			o->engine_reset = true;
			break;
		case 's':
			o->since = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "sync"))
				o->mode = HMM_NC_MODE_SYNC;
			else if (!strcmp(optarg, "nocopy"))
				o->mode = HMM_NC_MODE_SYNC_NO_COPY;
			else
				return -1;
			break;
		default:
			return -1;
		}
	}
	return o->pages ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts o = { .pages = 4, .mode = HMM_NC_MODE_SYNC_NO_COPY };
	const char *cmd;
	int fd;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return print_help(argc < 2);
	cmd = argv[1];
	if (!strcmp(cmd, "klog-until"))
		return argc == 3 ? cmd_klog_until(argv[2]) : print_help(2);
	if (!strcmp(cmd, "shared-files"))
		return argc == 2 ? cmd_shared_files() : print_help(2);
	if (parse(argc - 1, argv + 1, &o))
		return print_help(2);
	if (!strcmp(cmd, "engine-reset")) {
		fd = hmm_engines_reset(stdout);
		return fd < 0 ? fail("engine-reset", fd) : 0;
	}
	fd = hmm_open(o.device);
	if (fd < 0)
		return fail("open " HMM_DEV_FMT, fd);
	if (!strcmp(cmd, "counters"))
		return cmd_counters(fd, &o);
	if (!strcmp(cmd, "snapshot"))
		return cmd_snapshot(fd, &o);
	if (!strcmp(cmd, "migrate"))
		return cmd_migrate(fd, &o);
	if (!strcmp(cmd, "probe"))
		return cmd_probe(fd, &o);
	if (!strcmp(cmd, "balance"))
		return cmd_balance(fd, &o);
	if (!strcmp(cmd, "info"))
		return cmd_info(fd, &o);
	return print_help(2);
}
