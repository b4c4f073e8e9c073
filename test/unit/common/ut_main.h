/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_UT_MAIN_H
#define VT_UT_MAIN_H

/* The end of every unit test's main(), once its suites are in the CUnit registry. */

#include <CUnit/Basic.h>

/* Runs every registered test verbosely and frees the registry; main's exit status. */
static inline int
ut_run_tests(void)
{
	unsigned int failures;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures != 0;
}

#endif
