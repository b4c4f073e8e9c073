/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/log.c"
#include "test/unit/common/ut_main.h"

VT_LOG_REGISTER_COMPONENT(ut_alpha)
VT_LOG_REGISTER_COMPONENT(ut_beta)

static char g_tmpdir[64];
static char g_capture_path[128];
static int g_saved_stderr = -1;
static char g_out[256 * 1024];

/* Redirects stderr (fd 2) into a file until capture_end(). */
static void
capture_begin(void)
{
	int fd;

	fflush(stderr);
	snprintf(g_capture_path, sizeof(g_capture_path), "%s/stderr", g_tmpdir);
	fd = open(g_capture_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	g_saved_stderr = dup(STDERR_FILENO);
	CU_ASSERT_FATAL(g_saved_stderr >= 0);
	CU_ASSERT_FATAL(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	close(fd);
}

/* Restores stderr and returns what was written (NUL-terminated, in g_out). */
static const char *
capture_end(void)
{
	ssize_t n;
	int fd;

	fflush(stderr);
	dup2(g_saved_stderr, STDERR_FILENO);
	close(g_saved_stderr);
	g_saved_stderr = -1;
	fd = open(g_capture_path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	n = read(fd, g_out, sizeof(g_out) - 1);
	close(fd);
	unlink(g_capture_path);
	g_out[n > 0 ? n : 0] = '\0';
	return g_out;
}

static void
reset_log_state(void)
{
	vt_log_set_level(VT_LOG_NOTICE);
	vt_log_set_print_level(VT_LOG_NOTICE);
	vt_log_clear_flag("all");
	vt_log_enable_timestamps(true);
}

static bool
matches(const char *text, const char *pattern)
{
	regex_t re;
	bool ok;

	CU_ASSERT_FATAL(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE | REG_NOSUB) == 0);
	ok = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		n += *s == '\n';
	}
	return n;
}

static void
log_defaults_are_notice(void)
{
	/* Nothing has touched the levels yet: this runs first. */
	CU_ASSERT_EQUAL(vt_log_get_level(), VT_LOG_NOTICE);
	CU_ASSERT_EQUAL(vt_log_get_print_level(), VT_LOG_NOTICE);
}

static void
log_error_line_has_timestamp_file_line_func_and_level(void)
{
	const char *out;

	reset_log_state();
	capture_begin();
	vt_log(VT_LOG_ERROR, "lib/bdev/bdev.c", 123, "vt_bdev_open", "cannot open bdev '%s': %s",
	       "X", "No such device");
	out = capture_end();
	CU_ASSERT(matches(out, "^\\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\."
			       "[0-9]{6}\\] bdev\\.c: 123:vt_bdev_open: \\*ERROR\\*: "
			       "cannot open bdev 'X': No such device\n$"));
	CU_ASSERT_EQUAL(count_lines(out), 1);
}

static void
log_line_without_timestamp_starts_with_file(void)
{
	const char *out;

	reset_log_state();
	CU_ASSERT(vt_log_timestamps_enabled());
	vt_log_enable_timestamps(false);
	CU_ASSERT(!vt_log_timestamps_enabled());
	capture_begin();
	vt_log(VT_LOG_ERROR, "lib/bdev/bdev.c", 7, "f", "no stamp");
	vt_log_enable_timestamps(true);
	vt_log(VT_LOG_ERROR, "lib/bdev/bdev.c", 8, "f", "stamp");
	out = capture_end();
	CU_ASSERT(matches(
		out,
		"^bdev\\.c:   7:f: \\*ERROR\\*: no stamp\n"
		"\\[[0-9-]{10} [0-9:]{8}\\.[0-9]{6}\\] bdev\\.c:   8:f: \\*ERROR\\*: stamp\n$"));
	CU_ASSERT_EQUAL(count_lines(out), 2);
}

static void
log_warning_is_labelled_warning(void)
{
	const char *out;

	reset_log_state();
	capture_begin();
	VT_WARNLOG("disk is slow");
	out = capture_end();
	CU_ASSERT(matches(out, "log_ut\\.c: *[0-9]+:log_warning_is_labelled_warning: "
			       "\\*WARNING\\*: disk is slow\n$"));
}

static void
log_info_is_suppressed_at_notice_print_level(void)
{
	const char *out;

	reset_log_state();
	capture_begin();
	VT_INFOLOG("hidden info");
	VT_NOTICELOG("visible notice");
	out = capture_end();
	CU_ASSERT(strstr(out, "hidden info") == NULL);
	CU_ASSERT(strstr(out, "*NOTICE*: visible notice") != NULL);
}

static void
log_info_prints_after_raising_print_level(void)
{
	const char *out;

	reset_log_state();
	vt_log_set_print_level(VT_LOG_INFO);
	capture_begin();
	VT_INFOLOG("now shown");
	out = capture_end();
	CU_ASSERT(strstr(out, "*INFO*: now shown") != NULL);
	reset_log_state();
}

static void
log_disabled_print_level_silences_errors(void)
{
	const char *out;

	reset_log_state();
	vt_log_set_print_level(VT_LOG_DISABLED);
	capture_begin();
	VT_ERRLOG("should not appear");
	out = capture_end();
	CU_ASSERT_STRING_EQUAL(out, "");
	reset_log_state();
}

static void
log_debug_prints_only_when_flag_set(void)
{
	const char *out;

	reset_log_state();
	capture_begin();
	VT_DEBUGLOG(ut_alpha, "debug while clear");
	out = capture_end();
	CU_ASSERT_STRING_EQUAL(out, "");

	CU_ASSERT_EQUAL(vt_log_set_flag("ut_alpha"), 0);
	capture_begin();
	VT_DEBUGLOG(ut_alpha, "debug while set %d", 7);
	VT_DEBUGLOG(ut_beta, "other component");
	out = capture_end();
	CU_ASSERT(strstr(out, "*DEBUG*: debug while set 7\n") != NULL);
	CU_ASSERT(strstr(out, "other component") == NULL);

	CU_ASSERT_EQUAL(vt_log_clear_flag("ut_alpha"), 0);
	capture_begin();
	VT_DEBUGLOG(ut_alpha, "debug after clear");
	out = capture_end();
	CU_ASSERT_STRING_EQUAL(out, "");
}

static void
log_debug_ignores_print_level(void)
{
	const char *out;

	reset_log_state();
	vt_log_set_print_level(VT_LOG_ERROR);
	vt_log_set_flag("ut_beta");
	capture_begin();
	VT_DEBUGLOG(ut_beta, "beta debug");
	out = capture_end();
	CU_ASSERT(strstr(out, "beta debug") != NULL);
	reset_log_state();
}

static void
log_set_flag_all_enables_every_flag(void)
{
	struct vt_log_flag *f;
	int n = 0;

	reset_log_state();
	CU_ASSERT_EQUAL(vt_log_set_flag("all"), 0);
	for (f = vt_log_flag_first(); f != NULL; f = vt_log_flag_next(f)) {
		CU_ASSERT(f->enabled);
		n++;
	}
	CU_ASSERT(n >= 2);
	CU_ASSERT_EQUAL(vt_log_clear_flag("all"), 0);
	for (f = vt_log_flag_first(); f != NULL; f = vt_log_flag_next(f)) {
		CU_ASSERT(!f->enabled);
	}
}

static void
log_set_flag_rejects_unknown_name(void)
{
	CU_ASSERT_EQUAL(vt_log_set_flag("no_such_flag"), -ENOENT);
	CU_ASSERT_EQUAL(vt_log_clear_flag("no_such_flag"), -ENOENT);
	CU_ASSERT_EQUAL(vt_log_set_flag(""), -ENOENT);
	CU_ASSERT_EQUAL(vt_log_set_flag(NULL), -ENOENT);
}

static void
log_register_flag_refuses_duplicate_name(void)
{
	static struct vt_log_flag dup = { .name = "ut_alpha" };
	struct vt_log_flag *f;
	const char *out;
	int seen = 0;

	capture_begin();
	vt_log_register_flag(&dup);
	out = capture_end();
	CU_ASSERT(strstr(out, "name already registered") != NULL);
	for (f = vt_log_flag_first(); f != NULL; f = vt_log_flag_next(f)) {
		CU_ASSERT(f != &dup);
		seen += strcmp(f->name, "ut_alpha") == 0;
	}
	CU_ASSERT_EQUAL(seen, 1);
}

static void
log_register_same_flag_twice_is_noop(void)
{
	struct vt_log_flag *f;
	int seen = 0;

	vt_log_register_flag(&VT_LOG_FLAG_ut_beta);
	for (f = vt_log_flag_first(); f != NULL; f = vt_log_flag_next(f)) {
		seen += f == &VT_LOG_FLAG_ut_beta;
	}
	CU_ASSERT_EQUAL(seen, 1);
}

static void
log_flags_iterate_sorted_by_name(void)
{
	static struct vt_log_flag a = { .name = "ut_aaa" }, z = { .name = "ut_zzz" };
	struct vt_log_flag *f, *prev = NULL;

	vt_log_register_flag(&z);
	vt_log_register_flag(&a);
	for (f = vt_log_flag_first(); f != NULL; f = vt_log_flag_next(f)) {
		if (prev != NULL) {
			CU_ASSERT(strcasecmp(prev->name, f->name) < 0);
		}
		prev = f;
	}
	CU_ASSERT_EQUAL(vt_log_set_flag("UT_ZZZ"), 0);
	CU_ASSERT(z.enabled);
	vt_log_clear_flag("ut_zzz");
}

static void
log_level_from_string_accepts_names_any_case(void)
{
	enum vt_log_level l;

	CU_ASSERT_EQUAL(vt_log_level_from_string("error", &l), 0);
	CU_ASSERT_EQUAL(l, VT_LOG_ERROR);
	CU_ASSERT_EQUAL(vt_log_level_from_string("Warning", &l), 0);
	CU_ASSERT_EQUAL(l, VT_LOG_WARN);
	CU_ASSERT_EQUAL(vt_log_level_from_string("WARN", &l), 0);
	CU_ASSERT_EQUAL(l, VT_LOG_WARN);
	CU_ASSERT_EQUAL(vt_log_level_from_string("NOTICE", &l), 0);
	CU_ASSERT_EQUAL(l, VT_LOG_NOTICE);
	CU_ASSERT_EQUAL(vt_log_level_from_string("info", &l), 0);
	CU_ASSERT_EQUAL(l, VT_LOG_INFO);
	CU_ASSERT_EQUAL(vt_log_level_from_string("DEBUG", &l), 0);
	CU_ASSERT_EQUAL(l, VT_LOG_DEBUG);
	CU_ASSERT_EQUAL(vt_log_level_from_string("disabled", &l), 0);
	CU_ASSERT_EQUAL(l, VT_LOG_DISABLED);
}

static void
log_level_from_string_rejects_unknown(void)
{
	enum vt_log_level l = VT_LOG_INFO;

	CU_ASSERT_EQUAL(vt_log_level_from_string("verbose", &l), -EINVAL);
	CU_ASSERT_EQUAL(vt_log_level_from_string("", &l), -EINVAL);
	CU_ASSERT_EQUAL(vt_log_level_from_string("ERROR ", &l), -EINVAL);
	CU_ASSERT_EQUAL(vt_log_level_from_string(NULL, &l), -EINVAL);
	CU_ASSERT_EQUAL(l, VT_LOG_INFO);
}

static void
log_level_to_string_names_each_level(void)
{
	CU_ASSERT_STRING_EQUAL(vt_log_level_to_string(VT_LOG_DISABLED), "DISABLED");
	CU_ASSERT_STRING_EQUAL(vt_log_level_to_string(VT_LOG_ERROR), "ERROR");
	CU_ASSERT_STRING_EQUAL(vt_log_level_to_string(VT_LOG_WARN), "WARNING");
	CU_ASSERT_STRING_EQUAL(vt_log_level_to_string(VT_LOG_NOTICE), "NOTICE");
	CU_ASSERT_STRING_EQUAL(vt_log_level_to_string(VT_LOG_INFO), "INFO");
	CU_ASSERT_STRING_EQUAL(vt_log_level_to_string(VT_LOG_DEBUG), "DEBUG");
}

static void
log_set_level_ignores_out_of_range_value(void)
{
	reset_log_state();
	vt_log_set_level((enum vt_log_level)42);
	vt_log_set_print_level((enum vt_log_level) - 7);
	CU_ASSERT_EQUAL(vt_log_get_level(), VT_LOG_NOTICE);
	CU_ASSERT_EQUAL(vt_log_get_print_level(), VT_LOG_NOTICE);
	vt_log_set_level(VT_LOG_DEBUG);
	CU_ASSERT_EQUAL(vt_log_get_level(), VT_LOG_DEBUG);
	reset_log_state();
}

static void
log_message_gets_exactly_one_newline(void)
{
	const char *out;

	reset_log_state();
	capture_begin();
	VT_ERRLOG("with newline\n");
	VT_ERRLOG("without newline");
	VT_ERRLOG("two newlines\n\n");
	out = capture_end();
	CU_ASSERT_EQUAL(count_lines(out), 3);
	CU_ASSERT(strstr(out, "with newline\n[") != NULL);
	CU_ASSERT(strstr(out, "without newline\n[") != NULL);
	CU_ASSERT(matches(out, "two newlines\n$"));
}

static void
log_long_message_is_truncated_with_ellipsis(void)
{
	char big[LOG_LINE_MAX * 2];
	const char *out;
	size_t len;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	reset_log_state();
	capture_begin();
	VT_ERRLOG("%s", big);
	out = capture_end();
	len = strlen(out);
	CU_ASSERT_EQUAL(len, LOG_LINE_MAX - 1);
	CU_ASSERT(len > 4 && strcmp(out + len - 4, "...\n") == 0);
	CU_ASSERT_EQUAL(count_lines(out), 1);
}

static void
log_preserves_errno(void)
{
	reset_log_state();
	capture_begin();
	errno = EBUSY;
	VT_ERRLOG("something");
	CU_ASSERT_EQUAL(errno, EBUSY);
	capture_end();
}

static void
log_syslog_mirror_follows_level(void)
{
	reset_log_state();
	CU_ASSERT(!should_syslog(VT_LOG_ERROR));
	vt_log_open_syslog("vt_log_ut");
	CU_ASSERT(should_syslog(VT_LOG_ERROR));
	CU_ASSERT(should_syslog(VT_LOG_NOTICE));
	CU_ASSERT(!should_syslog(VT_LOG_INFO));
	CU_ASSERT(!should_syslog(VT_LOG_DEBUG));
	vt_log_set_level(VT_LOG_DEBUG);
	CU_ASSERT(should_syslog(VT_LOG_DEBUG));
	vt_log_open_syslog(NULL);
	CU_ASSERT(!should_syslog(VT_LOG_ERROR));
	reset_log_state();
}

#define THREADS 4
#define LINES_PER_THREAD 200

static void *
log_thread(void *arg)
{
	int id = (int)(intptr_t)arg, i;

	for (i = 0; i < LINES_PER_THREAD; i++) {
		VT_ERRLOG("thread %d line %d %s", id, i, "padding-padding-padding-padding-padding");
	}
	return NULL;
}

static void
log_concurrent_threads_write_whole_lines(void)
{
	pthread_t th[THREADS];
	const char *out, *line, *nl;
	char pat[128];
	size_t n = 0;
	int i;

	reset_log_state();
	capture_begin();
	for (i = 0; i < THREADS; i++) {
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, log_thread, (void *)(intptr_t)i) == 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
	}
	out = capture_end();
	snprintf(pat, sizeof(pat),
		 "^\\[[^]]+\\] log_ut\\.c: *[0-9]+:log_thread: \\*ERROR\\*: "
		 "thread [0-9] line [0-9]+ padding(-padding){4}$");
	for (line = out; *line != '\0'; line = nl + 1) {
		char one[512];

		nl = strchr(line, '\n');
		CU_ASSERT_FATAL(nl != NULL);
		CU_ASSERT_FATAL((size_t)(nl - line) < sizeof(one));
		memcpy(one, line, (size_t)(nl - line));
		one[nl - line] = '\0';
		CU_ASSERT(matches(one, pat));
		n++;
	}
	CU_ASSERT_EQUAL(n, THREADS * LINES_PER_THREAD);
}

int
main(void)
{
	CU_pSuite suite;
	int rc;

	snprintf(g_tmpdir, sizeof(g_tmpdir), "/tmp/vt_log_ut.XXXXXX");
	if (mkdtemp(g_tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("log", NULL, NULL);
	CU_ADD_TEST(suite, log_defaults_are_notice);
	CU_ADD_TEST(suite, log_error_line_has_timestamp_file_line_func_and_level);
	CU_ADD_TEST(suite, log_line_without_timestamp_starts_with_file);
	CU_ADD_TEST(suite, log_warning_is_labelled_warning);
	CU_ADD_TEST(suite, log_info_is_suppressed_at_notice_print_level);
	CU_ADD_TEST(suite, log_info_prints_after_raising_print_level);
	CU_ADD_TEST(suite, log_disabled_print_level_silences_errors);
	CU_ADD_TEST(suite, log_debug_prints_only_when_flag_set);
	CU_ADD_TEST(suite, log_debug_ignores_print_level);
	CU_ADD_TEST(suite, log_set_flag_all_enables_every_flag);
	CU_ADD_TEST(suite, log_set_flag_rejects_unknown_name);
	CU_ADD_TEST(suite, log_register_flag_refuses_duplicate_name);
	CU_ADD_TEST(suite, log_register_same_flag_twice_is_noop);
	CU_ADD_TEST(suite, log_flags_iterate_sorted_by_name);
	CU_ADD_TEST(suite, log_level_from_string_accepts_names_any_case);
	CU_ADD_TEST(suite, log_level_from_string_rejects_unknown);
	CU_ADD_TEST(suite, log_level_to_string_names_each_level);
	CU_ADD_TEST(suite, log_set_level_ignores_out_of_range_value);
	CU_ADD_TEST(suite, log_message_gets_exactly_one_newline);
	CU_ADD_TEST(suite, log_long_message_is_truncated_with_ellipsis);
	CU_ADD_TEST(suite, log_preserves_errno);
	CU_ADD_TEST(suite, log_syslog_mirror_follows_level);
	CU_ADD_TEST(suite, log_concurrent_threads_write_whole_lines);

	rc = ut_run_tests();
	rmdir(g_tmpdir);
	return rc;
}
