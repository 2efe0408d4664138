/* mb_empty: two back-to-back mcycle reads. CV32E40P: CSR access to mcycle is 4 cycles
 * (csr_slow), so expect ~4: the overhead included in every other result. */
#include "mb_rv.inc"

MB_FUNC mb_empty
    T_START
    T_END
MB_END mb_empty
