/* SPDX-License-Identifier: MIT */
/* libFuzzer entry for the harness in fuzz_exposure_track.h (see README.md). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_exposure_track.h"
#ifdef PC_FUZZ_STRUCTURED
#include "json_mutator.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return pc_fuzz_exposure_track_one(data, size);
}
