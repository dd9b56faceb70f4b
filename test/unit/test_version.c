/*-------------------------------------------------------------------------
 *
 * test_version.c
 *	  Unit tests of the run-time version functions (plugin/version.c).
 *
 * The library's answer must agree with the headers it was built from, and
 * the number and the string must describe the same version; a host relies
 * on both to compare the library it loaded with the headers it compiled.
 *
 * test/unit/test_version.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "quorum/quorum.h"

static void
test_number_matches_headers(void **state)
{
	(void) state;
	assert_int_equal(quorum_version(),
					 QUORUM_VERSION_ENCODE(QUORUM_VERSION_MAJOR, QUORUM_VERSION_MINOR,
										   QUORUM_VERSION_PATCH));
	/* The encoding orders versions as they are ordered. */
	assert_true(QUORUM_VERSION_ENCODE(0, 2, 0) > QUORUM_VERSION_ENCODE(0, 1, 255));
	assert_true(QUORUM_VERSION_ENCODE(1, 0, 0) > QUORUM_VERSION_ENCODE(0, 255, 255));
}

static void
test_string_matches_number(void **state)
{
	unsigned	v = quorum_version();
	char		expect[32];

	(void) state;
	snprintf(expect, sizeof(expect), "%u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
	assert_string_equal(quorum_version_string(), expect);
	assert_string_equal(quorum_version_string(), QUORUM_VERSION_STRING);
	/* A static string: the same pointer every time. */
	assert_ptr_equal(quorum_version_string(), quorum_version_string());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_number_matches_headers),
		cmocka_unit_test(test_string_matches_number),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
