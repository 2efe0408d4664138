/*
 * vbench EEMBC harness firmware: boot banner, then one received character at a time into the
 * command parser (docs/sources.md §Harness 2.3). Named ee_main.c, not main.c, so that `vbench build`
 * does not list this directory as a stand-alone application: it needs a compiled model and a
 * workload define, which vbench/harness/build.py supplies.
 */
#include "ee_harness.h"
#include "vb_hal.h"

int main(void)
{
    ee_benchmark_initialize();
    for (;;)
        ee_serial_char((char)hal_uart_getc());
}
