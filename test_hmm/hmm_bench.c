// SPDX-License-Identifier: GPL-2.0
/*
 * hmm_bench: what batched NO_COPY migration buys, measured. A benchmark,
 * not a test: it prints figures and asserts nothing about speed. It only
 * fails when a migration fails or loses data.
 *
 *   hmm_bench [-m MIB] [-r REPS] [-w WARMUP] [-c US[,US...]] [-d UNIT]
 *             [-C] [-R]
 *
 * For batch sizes of 1, 8, 64 and 512 pages, 4 KiB pages and THP, and
 * the device's DMA engine copying one operation per batch ("batched") or
 * one per page ("per-page"), it times:
 *   to-dev       MIGRATE_TO_DEV: anonymous memory to device memory
 *   to-sys       MIGRATE_TO_SYS: back to system memory
 *   anon-nocopy  HMM_NC_MIGRATE_ANON, MIGRATE_SYNC_NO_COPY: new system
 *                pages, state moved by migrate_folio(), data by the engine
 *   anon-sync    the same under MIGRATE_SYNC: the kernel copies each page
 *   file-nocopy  HMM_NC_MIGRATE_FILE on a shmem file (memfd), NO_COPY
 *   memcpy       the same amount of memory copied by the CPU: the ceiling,
 *                sampled once per round all along the benchmark
 * Each figure is the median of REPS timed runs after WARMUP untimed ones,
 * with the fastest and slowest run as its spread. The runs of a sweep
 * (both engines, every batch size) alternate, so that a change in the
 * machine's load touches them alike. Every run starts from
 * freshly faulted memory (a THP is split by its first migration), and
 * its data is checked afterwards, untimed.
 *
 * -c lists the engine's set-up costs per copy operation in microseconds
 * (HMM_NC_ENGINE_SET): the first runs the whole matrix, the others only
 * anon-nocopy with 4 KiB pages, to show what batching saves on an engine
 * with a set-up cost. -R measures the kernel's own test_hmm.ko instead
 * (base commands only; its batch is 64 pages, its copy per page). -C
 * adds CSV lines, prefixed "csv: ", after the table.
 */
#define _GNU_SOURCE		/* memfd_create() */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "libhmm.h"

#define MIB		(1024UL * 1024)
#define THP_SIZE	(2 * MIB)
#define MAX_REPS	101
#define MAX_COSTS	8
#define MAX_SERIES	16	/* series measured together */
#define MAX_MEMCPY	1024	/* memcpy samples, one per round */
#define REF_BATCH	64	/* the 6.1 test_hmm.ko's migration batch */
#define CSV_PREFIX	"csv: "

static const unsigned int batch_sizes[] = { 1, 8, 64, 512 };

struct opts {
	size_t size;			/* bytes per run */
	unsigned int reps;
	unsigned int warmup;
	unsigned int costs[MAX_COSTS];	/* set-up costs, us */
	unsigned int ncosts;
	unsigned int unit;
	bool csv;
	bool reference;
};

/* What one series measures. */
struct series {
	const char *workload;
	bool thp;
	const char *engine;	/* batched, per-page, kernel, cpu, ... */
	unsigned int batch;	/* 0: not applicable */
	unsigned int setup_us;
};

/* One run: prepare (untimed), time, check and clean up (untimed). */
struct bench {
	const struct opts *o;
	int fd;
	size_t npages;
	char *map;		/* the mapping, THP-aligned inside */
	size_t map_len;
	char *buf;		/* the range migrated */
	char *aux;		/* a second buffer: device read-back, memcpy */
	int memfd;
	size_t thp_kb;		/* AnonHugePages of the last prepared buffer */
	double t0;		/* the timed call began */
	struct hmm_nc_counters c0;	/* the device's counters then */
	long long ops;		/* engine copy operations of the call, or -1 */
};

typedef int (*run_fn)(struct bench *b, const struct series *s,
		      double *secs);

struct result {
	struct series s;
	size_t pages;
	unsigned int reps;
	double med, min, max;	/* seconds per run */
	long long dma_ops;	/* engine copy operations per run, or -1 */
	char note[64];
};

static struct result results[256];
static unsigned int nresults;
static int engine_fd = -1;	/* the device whose engine we changed */
static const struct series memcpy_series = { "memcpy", false, "cpu", 0, 0 };
static double memcpy_times[MAX_MEMCPY];
static unsigned int nmemcpy;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Around the one call a run times: the engine's copy operations are
 * counted outside the timed span (the kernel's own device has no
 * counters).
 */
static void timed_start(struct bench *b)
{
	b->ops = -1;
	if (!b->o->reference && !hmm_counters(b->fd, false, &b->c0))
		b->ops = 0;
	b->t0 = now();
}

static double timed_stop(struct bench *b)
{
	double secs = now() - b->t0;
	struct hmm_nc_counters c1;

	if (b->ops == 0 && !hmm_counters(b->fd, false, &c1))
		b->ops = c1.batches - b->c0.batches;
	else
		b->ops = -1;
	return secs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void engine_restore(void)
{
	if (engine_fd >= 0 && hmm_engine_reset(engine_fd))
		fprintf(stderr, "hmm_bench: could not reset the engine\n");
}

/* Kilobytes of AnonHugePages in the smaps entry of the VMA at addr. */
static size_t smaps_thp_kb(const void *addr)
{
	unsigned long start, end, kb;
	bool in = false;
	char line[256];
	size_t found = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = (uintptr_t)addr >= start && (uintptr_t)addr < end;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1) {
			found = kb;
			break;
		}
	}
	fclose(f);
	return found;
}

/*
 * A fresh anonymous buffer of o->size bytes, THP-aligned, filled with
 * the pattern (every page faulted in): huge pages if asked for.
 */
static int buf_prepare(struct bench *b, bool thp)
{
	uintptr_t p;

	b->map_len = b->o->size + THP_SIZE;
	b->map = hmm_map_anon(b->map_len, PROT_READ | PROT_WRITE);
	if (!b->map)
		return -ENOMEM;
	p = ((uintptr_t)b->map + THP_SIZE - 1) & ~(uintptr_t)(THP_SIZE - 1);
	b->buf = (char *)p;
	if (madvise(b->buf, b->o->size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		return -errno;
	hmm_fill(b->buf, b->o->size, b->o->size);
	b->thp_kb = thp ? smaps_thp_kb(b->buf) : 0;
	return 0;
}

static void buf_release(struct bench *b)
{
	if (b->map)
		hmm_unmap(b->map, b->map_len);
	b->map = NULL;
	b->buf = NULL;
}

static int buf_check(struct bench *b, const char *what)
{
	ssize_t off = hmm_verify(b->buf, b->o->size, b->o->size);

	if (off < 0)
		return 0;
	fprintf(stderr, "hmm_bench: %s: data wrong at byte %zd\n", what, off);
	return -EIO;
}

static int run_to_dev(struct bench *b, const struct series *s, double *secs)
{
	int ret;

	ret = buf_prepare(b, s->thp);
	if (ret)
		return ret;
	timed_start(b);
	ret = hmm_cmd(b->fd, HMM_DMIRROR_MIGRATE_TO_DEV, b->buf, b->aux,
		      b->npages, NULL);
	*secs = timed_stop(b);
	/* What the device read back from its memory, not the CPU's view. */
	if (!ret && hmm_verify(b->aux, b->o->size, b->o->size) >= 0) {
		fprintf(stderr, "hmm_bench: %s: device data wrong\n",
			s->workload);
		ret = -EIO;
	}
	buf_release(b);
	return ret;
}

static int run_to_sys(struct bench *b, const struct series *s, double *secs)
{
	int ret;

	ret = buf_prepare(b, s->thp);
	if (!ret)
		ret = hmm_cmd(b->fd, HMM_DMIRROR_MIGRATE_TO_DEV, b->buf,
			      b->aux, b->npages, NULL);
	if (ret) {
		buf_release(b);
		return ret;
	}
	timed_start(b);
	ret = hmm_cmd(b->fd, HMM_DMIRROR_MIGRATE_TO_SYS, b->buf, b->aux,
		      b->npages, NULL);
	*secs = timed_stop(b);
	if (!ret)
		ret = buf_check(b, s->workload);
	buf_release(b);
	return ret;
}

/* A timing is only a timing of the whole buffer: -EAGAIN otherwise. */
static int all_moved(const struct bench *b, const char *what, __u64 moved)
{
	if (moved == b->npages)
		return 0;
	fprintf(stderr, "hmm_bench: %s: %llu of %zu pages moved\n",
		what, (unsigned long long)moved, b->npages);
	return -EAGAIN;
}

static int run_anon(struct bench *b, const struct series *s, double *secs,
		    __u32 mode)
{
	struct hmm_nc_migrate_cmd out;
	int ret;

	ret = buf_prepare(b, s->thp);
	if (ret)
		return ret;
	timed_start(b);
	ret = hmm_migrate_anon(b->fd, b->buf, b->npages, mode, 0, NULL, &out);
	*secs = timed_stop(b);
	if (!ret)
		ret = all_moved(b, s->workload, out.moved);
	if (!ret)
		ret = buf_check(b, s->workload);
	buf_release(b);
	return ret;
}

static int run_anon_nocopy(struct bench *b, const struct series *s,
			   double *secs)
{
	return run_anon(b, s, secs, HMM_NC_MODE_SYNC_NO_COPY);
}

static int run_anon_sync(struct bench *b, const struct series *s,
			 double *secs)
{
	return run_anon(b, s, secs, HMM_NC_MODE_SYNC);
}

#ifdef HMM_NC_MIGRATE_FILE
/* A shmem file of o->size bytes, mapped shared and filled. */
static int run_file_nocopy(struct bench *b, const struct series *s,
			   double *secs)
{
	struct hmm_nc_file_cmd out;
	int ret = 0;

	b->memfd = memfd_create("hmm_bench", MFD_CLOEXEC);
	if (b->memfd < 0)
		return -errno;
	if (ftruncate(b->memfd, b->o->size)) {
		ret = -errno;
		goto out_close;
	}
	b->buf = mmap(NULL, b->o->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      b->memfd, 0);
	if (b->buf == MAP_FAILED) {
		ret = -errno;
		goto out_close;
	}
	hmm_fill(b->buf, b->o->size, b->o->size);
	timed_start(b);
	ret = hmm_migrate_file(b->fd, b->buf, b->npages,
			       HMM_NC_MODE_SYNC_NO_COPY, 0, NULL, &out);
	*secs = timed_stop(b);
	if (!ret)
		ret = all_moved(b, s->workload, out.moved);
	if (!ret)
		ret = buf_check(b, s->workload);
	munmap(b->buf, b->o->size);
	b->buf = NULL;
out_close:
	close(b->memfd);
	return ret;
}
#endif

/* The CPU's copy of the same amount of memory, both buffers faulted. */
static int run_memcpy(struct bench *b, const struct series *s, double *secs)
{
	int ret;

	ret = buf_prepare(b, s->thp);
	if (ret)
		return ret;
	memset(b->aux, 1, b->o->size);
	timed_start(b);
	memcpy(b->aux, b->buf, b->o->size);
	*secs = timed_stop(b);
	ret = hmm_verify(b->aux, b->o->size, b->o->size) < 0 ? 0 : -EIO;
	buf_release(b);
	return ret;
}

/*
 * One memcpy run at the start of every timed round of every group, so
 * the ceiling is sampled under the same conditions as the migrations.
 */
static int memcpy_sample(struct bench *b)
{
	double secs;
	int ret;

	if (b->o->reference || nmemcpy == MAX_MEMCPY)
		return 0;
	ret = run_memcpy(b, &memcpy_series, &secs);
	if (!ret)
		memcpy_times[nmemcpy++] = secs;
	return ret;
}

/* Sets the engine for a series of our device; reference runs do not. */
static int series_engine(struct bench *b, const struct series *s)
{
	__u32 flags = 0;

	if (b->o->reference || !s->batch)
		return 0;
	if (!strcmp(s->engine, "per-page"))
		flags = HMM_NC_ENGINE_PER_PAGE;
	engine_fd = b->fd;
	return hmm_engine_set(b->fd, flags, s->batch, s->setup_us, NULL);
}

static void result_set(struct bench *b, struct result *r,
		       const struct series *s, unsigned int n, double *times,
		       size_t thp_kb, long long ops)
{
	unsigned int runs = b->o->warmup + n;

	qsort(times, n, sizeof(times[0]), cmp_double);
	memset(r, 0, sizeof(*r));
	r->s = *s;
	r->pages = b->npages;
	r->reps = n;
	r->min = times[0];
	r->max = times[n - 1];
	r->med = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
	r->dma_ops = ops < 0 || !s->batch ? -1 : ops / runs;
	if (s->thp)
		snprintf(r->note, sizeof(r->note), "THP %zu%% of memory",
			 thp_kb * 1024 * 100 / (b->o->size * runs));
}

/*
 * Measures n series with one run function. Their runs alternate (each
 * round runs every series once), so a change in the machine's load
 * touches them all alike and their ratios stay meaningful.
 */
static int measure_group(struct bench *b, const struct series *s,
			 unsigned int n, unsigned int reps, run_fn fn)
{
	static double times[MAX_SERIES][MAX_REPS];
	unsigned int i, round, runs = b->o->warmup + reps;
	size_t thp_kb[MAX_SERIES] = { 0 };
	long long ops[MAX_SERIES] = { 0 };
	double secs = 0;
	int ret = 0;

	if (n > MAX_SERIES || nresults + n > ARRAY_SIZE(results))
		return -ENOSPC;
	for (round = 0; round < runs && !ret; round++) {
		if (round >= b->o->warmup)
			ret = memcpy_sample(b);
		for (i = 0; i < n && !ret; i++) {
			ret = series_engine(b, &s[i]);
			if (!ret)
				ret = fn(b, &s[i], &secs);
			if (ret)
				break;
			if (round >= b->o->warmup)
				times[i][round - b->o->warmup] = secs;
			thp_kb[i] += b->thp_kb;
			ops[i] = b->ops < 0 || ops[i] < 0 ? -1 : ops[i] + b->ops;
		}
	}
	if (ret) {
		fprintf(stderr, "hmm_bench: %s %s %s batch %u: %s\n",
			s[i].workload, s[i].thp ? "thp" : "4k", s[i].engine,
			s[i].batch, strerror(-ret));
		return ret;
	}
	for (i = 0; i < n; i++)
		result_set(b, &results[nresults++], &s[i], reps, times[i],
			   thp_kb[i], ops[i]);
	return 0;
}

static int measure(struct bench *b, const struct series *s, run_fn fn)
{
	return measure_group(b, s, 1, b->o->reps, fn);
}

static double gib_s(size_t pages, double secs)
{
	return secs > 0 ? pages * hmm_page_size() / secs / (1UL << 30) : 0;
}

static void print_table(void)
{
	const struct result *r;
	char batch[16], setup[16], ops[24];
	unsigned int i;

	printf("%-12s %-4s %-16s %5s %6s %7s %10s %8s %19s  %s\n",
	       "workload", "page", "engine", "batch", "setup", "dma-ops",
	       "pages/s", "GiB/s", "GiB/s min..max", "note");
	for (i = 0; i < nresults; i++) {
		r = &results[i];
		snprintf(batch, sizeof(batch), "%u", r->s.batch);
		snprintf(setup, sizeof(setup), "%uus", r->s.setup_us);
		snprintf(ops, sizeof(ops), "%lld", r->dma_ops);
		printf("%-12s %-4s %-16s %5s %6s %7s %10.0f %8.3f %9.3f..%-9.3f  %s\n",
		       r->s.workload, r->s.thp ? "thp" : "4k", r->s.engine,
		       r->s.batch ? batch : "-",
		       r->s.batch ? setup : "-",
		       r->dma_ops >= 0 ? ops : "-", r->pages / r->med, gib_s(r->pages, r->med),
		       gib_s(r->pages, r->max), gib_s(r->pages, r->min),
		       r->note);
	}
}

static void print_csv(void)
{
	const struct result *r;
	unsigned int i;

	static const char * const columns[] = {
		"workload", "page", "engine", "batch", "setup_us", "pages",
		"reps", "dma_ops", "median_s", "min_s", "max_s", "pages_per_s",
		"gib_per_s", "gib_per_s_min", "gib_per_s_max", "note",
	};

	printf(CSV_PREFIX);
	for (i = 0; i < ARRAY_SIZE(columns); i++)
		printf("%s%c", columns[i],
		       i + 1 < ARRAY_SIZE(columns) ? ',' : '\n');
	for (i = 0; i < nresults; i++) {
		r = &results[i];
		printf(CSV_PREFIX "%s,%s,%s,%u,%u,%zu,%u,%lld,", r->s.workload,
		       r->s.thp ? "thp" : "4k", r->s.engine, r->s.batch,
		       r->s.setup_us, r->pages, r->reps, r->dma_ops);
		printf("%.6f,%.6f,%.6f,%.0f,", r->med, r->min, r->max,
		       r->pages / r->med);
		printf("%.4f,%.4f,%.4f,%s\n", gib_s(r->pages, r->med),
		       gib_s(r->pages, r->max), gib_s(r->pages, r->min),
		       r->note);
	}
}

/* Every batch size, both engine modes, of one workload, interleaved. */
static int sweep(struct bench *b, const char *workload, bool thp,
		 unsigned int setup_us, run_fn fn)
{
	static const char * const engines[] = { "batched", "per-page" };
	struct series s[ARRAY_SIZE(engines) * ARRAY_SIZE(batch_sizes)];
	unsigned int i, e, n = 0;

	for (e = 0; e < ARRAY_SIZE(engines); e++) {
		for (i = 0; i < ARRAY_SIZE(batch_sizes); i++) {
			s[n].workload = workload;
			s[n].thp = thp;
			s[n].engine = engines[e];
			s[n].batch = batch_sizes[i];
			s[n].setup_us = setup_us;
			n++;
		}
	}
	return measure_group(b, s, n, b->o->reps, fn);
}

/* MIGRATE_SYNC: the kernel copies, the engine is idle; batch sizes only. */
static int sweep_kernel_copy(struct bench *b, bool thp)
{
	struct series s[ARRAY_SIZE(batch_sizes)];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(batch_sizes); i++) {
		s[i].workload = "anon-sync";
		s[i].thp = thp;
		s[i].engine = "kernel-copy";
		s[i].batch = batch_sizes[i];
		s[i].setup_us = b->o->costs[0];
	}
	return measure_group(b, s, ARRAY_SIZE(s), b->o->reps, run_anon_sync);
}

static bool thp_available(void)
{
	char line[128] = "";
	FILE *f;

	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	return strstr(line, "[always]") || strstr(line, "[madvise]");
}

static int bench_ours(struct bench *b)
{
	unsigned int cost = b->o->costs[0], i, t;
	bool thp = thp_available();
	int ret = 0;

	for (t = 0; t < 2 && !ret; t++) {
		if (t && !thp) {
			printf("# no THP on this kernel: 4 KiB pages only\n");
			break;
		}
		ret = sweep(b, "to-dev", t, cost, run_to_dev);
		if (!ret && !t)
			ret = sweep(b, "to-sys", t, cost, run_to_sys);
		if (!ret)
			ret = sweep(b, "anon-nocopy", t, cost,
				    run_anon_nocopy);
		if (!ret)
			ret = sweep_kernel_copy(b, t);
	}
#ifdef HMM_NC_MIGRATE_FILE
	if (!ret) {
		ret = sweep(b, "file-nocopy", false, cost, run_file_nocopy);
		if (ret == -ENOTTY) {
			printf("# file-nocopy skipped: the module has no HMM_NC_MIGRATE_FILE\n");
			ret = 0;
		}
	}
#else
	printf("# file-nocopy skipped: no HMM_NC_MIGRATE_FILE in this uapi\n");
#endif
	for (i = 1; i < b->o->ncosts && !ret; i++)
		ret = sweep(b, "anon-nocopy", false, b->o->costs[i],
			    run_anon_nocopy);
	return ret;
}

/* The kernel's own test device: base commands, its fixed batch. */
static int bench_reference(struct bench *b)
{
	struct series s = { "to-dev", false, "kernel-ref", REF_BATCH, 0 };
	int ret;

	ret = measure(b, &s, run_to_dev);
	if (ret)
		return ret;
	s.workload = "to-sys";
	return measure(b, &s, run_to_sys);
}

static int parse_costs(struct opts *o, char *list)
{
	char *tok, *end;
	unsigned long v;

	o->ncosts = 0;
	for (tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		v = strtoul(tok, &end, 10);
		if (*end || v > HMM_NC_ENGINE_MAX_SETUP_US ||
		    o->ncosts == MAX_COSTS)
			return -EINVAL;
		o->costs[o->ncosts++] = v;
	}
	return o->ncosts ? 0 : -EINVAL;
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: hmm_bench [-m MIB] [-r REPS] [-w WARMUP] [-c US[,US...]]\n"
		"                 [-d UNIT] [-C] [-R]\n"
		"  -m MIB     memory per run (default 16, a multiple of 2)\n"
		"  -r REPS    timed runs per figure (default 7, at most %d)\n"
		"  -w WARMUP  untimed runs first (default 1)\n"
		"  -c LIST    engine set-up costs in us (default 0,10): the\n"
		"             first for everything, the others anon-nocopy only\n"
		"  -d UNIT    device /dev/hmm_dmirrorUNIT (default 0)\n"
		"  -C         CSV lines (prefixed \"" CSV_PREFIX "\") after the table\n"
		"  -R         measure the kernel's own test_hmm.ko (loaded)\n",
		MAX_REPS);
}

static int parse_args(struct opts *o, int argc, char **argv)
{
	char costs[] = "0,10";
	unsigned long mib = 16;
	int c;

	o->reps = 7;
	o->warmup = 1;
	if (parse_costs(o, costs))
		return -EINVAL;
	while ((c = getopt(argc, argv, "m:r:w:c:d:CRh")) != -1) {
		switch (c) {
		case 'm':
			mib = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			o->reps = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			o->warmup = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			if (parse_costs(o, optarg))
				return -EINVAL;
			break;
		case 'd':
			o->unit = strtoul(optarg, NULL, 10);
			break;
		case 'C':
			o->csv = true;
			break;
		case 'R':
			o->reference = true;
			break;
		case 'h':
			print_usage();
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || !mib || mib % 2 || mib > 1024 || !o->reps ||
	    o->reps > MAX_REPS || o->warmup > 100)
		return -EINVAL;
	o->size = mib * MIB;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct bench b = { &o };
	int ret;

	if (parse_args(&o, argc, argv)) {
		print_usage();
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	b.fd = hmm_open(o.unit);
	if (b.fd < 0) {
		fprintf(stderr, "hmm_bench: /dev/hmm_dmirror%u: %s\n", o.unit,
			strerror(-b.fd));
		return 1;
	}
	b.npages = o.size / hmm_page_size();
	b.aux = hmm_map_anon(o.size, PROT_READ | PROT_WRITE);
	if (!b.aux)
		return 1;
	printf("# hmm_bench: %zu MiB (%zu pages) per run, %u runs after %u warm-up%s\n",
	       o.size / MIB, b.npages, o.reps, o.warmup,
	       o.reference ? ", the kernel's test_hmm.ko" : "");
	if (!o.reference) {
		nresults = 1;	/* results[0]: memcpy, sampled all along */
		ret = bench_ours(&b);
		engine_restore();
		if (nmemcpy) {
			result_set(&b, &results[0], &memcpy_series, nmemcpy,
				   memcpy_times, 0, -1);
		} else {
			memmove(results, results + 1,
				--nresults * sizeof(results[0]));
		}
	} else {
		ret = bench_reference(&b);
	}
	print_table();
	if (o.csv)
		print_csv();
	close(b.fd);
	return ret ? 1 : 0;
}
