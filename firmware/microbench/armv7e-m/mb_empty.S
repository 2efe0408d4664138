/* mb_empty: two back-to-back DWT_CYCCNT reads. The overhead included in every other result.
 * TRM: LDR 2 cycles, but an LDR followed by an LDR pipelines (1 + N): expect 1..2. */
#include "mb_arm.inc"

MB_FUNC mb_empty
    T_START
    T_END
MB_END mb_empty
