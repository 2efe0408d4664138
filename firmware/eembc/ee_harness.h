/*
 * vbench EEMBC / MLPerf Tiny test-harness interface on the device side.
 *
 * The host sends `<command>%` over the console UART; the device answers with lines ending in
 * "\r\n", errors prefixed "e-", messages prefixed "m-", and closes every answer with "m-ready".
 * The command set and the exact strings follow docs/sources.md §Harness 2 (the
 * public EEMBC EnergyRunner / MLCommons runner protocol); the code is written from that
 * description, not copied. Differences from the reference ports, all on error paths:
 *   - commands longer than EE_CMD_SIZE, empty commands, bad numbers and extra arguments get an
 *     "e-[...]" line instead of undefined behaviour;
 *   - "db load N" with N above EE_MAX_DB_INPUT_SIZE is refused (the reference keeps N and later
 *     writes past its buffer);
 *   - "infer" with a buffer of the wrong size is refused (the reference infers on stale input);
 *   - CR and LF before the first character of a command are ignored (terminal line endings).
 *
 * Split: ee_harness.c (parser, commands, timestamps, number formatting) is model independent;
 * ee_workload.c (input conversion, inference, result format) is selected at build time with one
 * of EE_MODEL_KWS01, EE_MODEL_VWW01, EE_MODEL_IC01, EE_MODEL_AD01.
 */
#ifndef EE_HARNESS_H
#define EE_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#define EE_MONITOR_VERSION "2.2.0"
#define EE_FW_VERSION "ULPMark for tinyML Firmware V0.0.1"
#define EE_DEVICE_NAME "dut"
#define EE_VENDOR_NAME "unspecified"
#define EE_CMD_SIZE 80u
#define EE_MAX_DB_INPUT_SIZE (96u * 96u * 3u)

/* 0: performance/accuracy image (m-lap-us text and the GPIO edge at every timestamp);
 * 1: energy image (GPIO edge only, as the energy monitor sees it). */
#ifndef EE_CFG_ENERGY_MODE
#define EE_CFG_ENERGY_MODE 0
#endif

/* ---- workload (ee_workload.c) ---------------------------------------------------------------- */

const char *ee_workload_model_id(void);     /* "kws01", "vww01", "ic01" or "ad01" */
uint32_t ee_workload_db_bytes(void);        /* db bytes one inference consumes */
int ee_workload_init(void);                 /* 0, or prints an e- line and returns nonzero */
/* Untimed pre-processing: converts the db payload into the input tensor bytes kept for
 * ee_workload_infer(). len == ee_workload_db_bytes() is checked by the caller. */
void ee_workload_load(const uint8_t *db, uint32_t len);
/* One inference. The runtime's arena reuses the input bytes for later activations, so every
 * inference copies the prepared input in first (a memcpy, inside the timed window). Returns the
 * runtime's status (0 = VB_OK). */
int ee_workload_infer(void);
void ee_workload_results(void);             /* prints "m-results-[...]\r\n" */

/* ---- services ------------------------------------------------------------------------------ */

void ee_print(const char *s);
void ee_print_u32(uint32_t v);
void ee_print_i32(int32_t v);
/* v as printf("%0.3f") prints it: correctly rounded, ties to even (no float printf needed). */
void ee_print_fixed3(float v);
void ee_print_error(const char *message);   /* "e-[message]\r\n" */

/* 64-bit cycle count; the 32-bit hardware counter is extended in software, so this must be called
 * at least once per 2^32 cycles (the infer loop calls it after every inference). */
uint64_t ee_cycles64(void);

/* ---- entry points (ee_main.c) ---------------------------------------------------------------- */

void ee_benchmark_initialize(void);
void ee_serial_char(char c);                /* feed one received character */
void ee_timestamp(void);

#endif /* EE_HARNESS_H */
