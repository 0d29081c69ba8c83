/* SPDX-License-Identifier: MIT */
/* libFuzzer entry for the harness in fuzz_fwspec.h (see README.md). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_fwspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return pc_fuzz_fwspec_one(data, size);
}
