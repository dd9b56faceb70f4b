/*-------------------------------------------------------------------------
 *
 * main_scenarios.c
 *	  Runner of the hand-written simulator scenarios (the files in scenarios/).
 *
 *	  sim-test [--seed N] [--rewrite] [--trace-dir DIR] [--out-dir DIR]
 *	           [--list] [-v] [name ...]
 *
 * Prints "seed=<n> commit=<sha>" first, then one "ok - name" or
 * "not ok - name: seed=<n> ..." line per test, then "N passed, N failed";
 * exits non-zero if any test failed.  The default seed is fixed, so the
 * scenarios are the same run every time unless --seed asks otherwise.
 *
 * test/sim/main_scenarios.c
 *
 *-------------------------------------------------------------------------
 */
#include "scenario.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RUN_TESTS_MAX 128
#define RUN_WORLDS_MAX 16
#define RUN_DEFAULT_SEED 20240601

struct sim_run_opts sim_run = {
	.seed = RUN_DEFAULT_SEED,
	.trace_dir = "test/sim/trace",
	.out_dir = "build/sim",
};

static struct sim_test run_tests[RUN_TESTS_MAX];
static size_t run_n_tests;
static struct sim_world *run_worlds[RUN_WORLDS_MAX];
static size_t run_n_worlds;
static const char *run_current;

void
sim_test_register(const char *name, sim_test_fn fn)
{
	if (run_n_tests == RUN_TESTS_MAX)
	{
		fprintf(stderr, "sim-test: more than %d tests\n", RUN_TESTS_MAX);
		exit(2);
	}
	run_tests[run_n_tests++] = (struct sim_test) {name, fn};
}

void
sim_test_opts(struct sim_opts *opts, unsigned n, uint64_t salt)
{
	/*
	 * The run's seed itself, so the seed a failure prints is the one to pass
	 * back with --seed; a test that needs a second, different world salts it.
	 */
	sim_opts_init(opts, n, sim_run.seed + salt);
}

struct sim_world *
sim_test_new(const struct sim_opts *opts)
{
	struct sim_world *w;

	if (run_n_worlds == RUN_WORLDS_MAX)
	{
		fprintf(stderr, "sim-test: more than %d worlds in one test\n",
				RUN_WORLDS_MAX);
		exit(2);
	}
	w = sim_world_new(opts);
	if (w == NULL)
	{
		fprintf(stderr, "sim-test: out of memory creating %u hosts\n", opts->n);
		exit(2);
	}
	run_worlds[run_n_worlds++] = w;
	return w;
}

void
sim_test_free(struct sim_world *w)
{
	for (size_t j = 0; j < run_n_worlds; j++)
		if (run_worlds[j] == w)
		{
			sim_world_free(w);
			run_worlds[j] = run_worlds[--run_n_worlds];
			return;
		}
}

void
sim_note(const char *fmt, ...)
{
	va_list		ap;

	printf("    # ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static char *
run_read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf = NULL;
	long		size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
		fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t) size + 1)) != NULL)
	{
		*len = fread(buf, 1, (size_t) size, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static bool
run_write_file(const char *path, const char *data, size_t len)
{
	FILE	   *f = fopen(path, "wb");
	bool		ok;

	if (f == NULL)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

/* The first differing line, for a failure message that can be acted on. */
static void
run_first_diff(const char *want, const char *got, char *buf, size_t buf_len)
{
	unsigned	line = 1;
	const char *w0 = want;
	const char *g0 = got;

	while (*want && *want == *got)
	{
		if (*want == '\n')
		{
			line++;
			w0 = want + 1;
			g0 = got + 1;
		}
		want++;
		got++;
	}
	snprintf(buf, buf_len, "line %u: expected \"%.*s\", got \"%.*s\"", line,
			 (int) strcspn(w0, "\n"), w0, (int) strcspn(g0, "\n"), g0);
}

void
sim_test_golden(struct sim_world *w, const char *name)
{
	char		path[512];
	char		diff[512];
	char	   *want;
	size_t		want_len = 0;
	const char *got = w->trace_buf ? w->trace_buf : "";

	snprintf(path, sizeof(path), "%s/%s.trace", sim_run.trace_dir, name);
	if (sim_run.rewrite)
	{
		if (!run_write_file(path, got, w->trace_len))
			sim_fail(w, "could not write %s: %s", path, strerror(errno));
		else
			sim_note("rewrote %s (%zu bytes)", path, w->trace_len);
		if (w->failed)
			sim_test_fail(w);
		return;
	}
	want = run_read_file(path, &want_len);
	if (want == NULL)
	{
		sim_fail(w, "could not read golden trace %s (run with --rewrite to "
				 "create it)", path);
		sim_test_fail(w);
	}
	if (want_len != w->trace_len || memcmp(want, got, want_len) != 0)
	{
		char		actual[512];

		run_first_diff(want, got, diff, sizeof(diff));
		snprintf(actual, sizeof(actual), "%s/%s.trace.actual", sim_run.out_dir,
				 name);
		mkdir(sim_run.out_dir, 0777);
		run_write_file(actual, got, w->trace_len);
		free(want);
		sim_fail(w, "trace differs from %s at %s (whole trace in %s; if the "
				 "change is intended, review it and run with --rewrite)",
				 path, diff, actual);
		sim_test_fail(w);
	}
	free(want);
	sim_note("trace matches %s (%zu bytes)", path, want_len);
}

static int
run_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sim_test *) a)->name,
				  ((const struct sim_test *) b)->name);
}

static bool
run_selected(const char *name, int argc, char **argv, int first)
{
	if (first >= argc)
		return true;
	for (int i = first; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int
main(int argc, char **argv)
{
	/* Static: they must survive the longjmp out of a failed test. */
	static int	first;
	static unsigned passed;
	static unsigned failed;
	bool		list = false;
	int			i;

	first = argc;
	for (i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			sim_run.seed = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--rewrite") == 0)
			sim_run.rewrite = true;
		else if (strcmp(argv[i], "--trace-dir") == 0 && i + 1 < argc)
			sim_run.trace_dir = argv[++i];
		else if (strcmp(argv[i], "--out-dir") == 0 && i + 1 < argc)
			sim_run.out_dir = argv[++i];
		else if (strcmp(argv[i], "--list") == 0)
			list = true;
		else if (strcmp(argv[i], "-v") == 0)
			sim_run.verbose = true;
		else if (argv[i][0] == '-')
		{
			fprintf(stderr, "usage: %s [--seed N] [--rewrite] [--trace-dir DIR] "
					"[--out-dir DIR] [--list] [-v] [test ...]\n", argv[0]);
			return 2;
		}
		else
		{
			first = i;
			break;
		}
	}
	qsort(run_tests, run_n_tests, sizeof(run_tests[0]), run_cmp);
	if (list)
	{
		for (size_t k = 0; k < run_n_tests; k++)
			printf("%s\n", run_tests[k].name);
		return 0;
	}
	for (i = first; i < argc; i++)
	{
		size_t		k;

		for (k = 0; k < run_n_tests && strcmp(run_tests[k].name, argv[i]) != 0; k++)
			;
		if (k == run_n_tests)
		{
			fprintf(stderr, "sim-test: no test named \"%s\"\n", argv[i]);
			return 2;
		}
	}

	printf("seed=%llu commit=%s\n", (unsigned long long) sim_run.seed, SIM_COMMIT);
	fflush(stdout);
	for (size_t k = 0; k < run_n_tests; k++)
	{
		jmp_buf		jmp;

		if (!run_selected(run_tests[k].name, argc, argv, first))
			continue;
		run_current = run_tests[k].name;
		sim_test_jmp = &jmp;
		printf("# %s\n", run_current);
		fflush(stdout);
		if (setjmp(jmp) == 0)
		{
			run_tests[k].fn();
			printf("ok - %s\n", run_current);
			passed++;
		}
		else
		{
			const char *msg = "failed";

			for (size_t j = 0; j < run_n_worlds; j++)
				if (run_worlds[j]->failed)
				{
					msg = run_worlds[j]->fail_msg;
					break;
				}
			printf("not ok - %s: %s\n", run_current, msg);
			failed++;
		}
		fflush(stdout);
		for (size_t j = 0; j < run_n_worlds; j++)
			sim_world_free(run_worlds[j]);
		run_n_worlds = 0;
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
