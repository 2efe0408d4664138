/*
 * vbench EEMBC test-harness: command buffer, parser and the model-independent commands.
 * See ee_harness.h for the protocol and the deliberate differences from the reference ports.
 */
#include "ee_harness.h"

#include <string.h>

#include "vb_hal.h"

#define MAX_TOKENS 4u

static char cmd_buf[EE_CMD_SIZE + 1u];
static uint32_t cmd_len;
static int cmd_overflow;

static uint8_t db_buf[EE_MAX_DB_INPUT_SIZE] __attribute__((aligned(4)));
static uint32_t db_size; /* bytes announced by "db load N" */
static uint32_t db_pos;  /* bytes received since */

/* ------------------------------------------------------------------ printing */

void ee_print(const char *s)
{
    hal_uart_puts(s);
}

void ee_print_u32(uint32_t v)
{
    hal_print_u32(v);
}

void ee_print_i32(int32_t v)
{
    hal_print_i32(v);
}

/* Printable copy of a token inside an error line: a CR or LF would split the line. */
static void print_sanitized(const char *s)
{
    for (; *s; s++)
        hal_uart_putc((*s >= 0x20 && *s < 0x7F) ? *s : '?');
}

void ee_print_error(const char *message)
{
    ee_print("e-[");
    ee_print(message);
    ee_print("]\r\n");
}

static void print_error_quoted(const char *message, const char *token)
{
    ee_print("e-[");
    ee_print(message);
    ee_print(" '");
    print_sanitized(token);
    ee_print("']\r\n");
}

void ee_print_fixed3(float v)
{
    /* value = mant * 2^e exactly; q = value * 1000 rounded half to even, in integers. */
    union {
        float f;
        uint32_t u;
    } x = {v};
    uint32_t biased = (x.u >> 23) & 0xFFu;
    uint64_t mant = x.u & 0x7FFFFFu;
    if (biased == 0xFFu) {
        ee_print(mant ? "nan" : (x.u >> 31) ? "-inf" : "inf");
        return;
    }
    int e = biased ? (int)biased - 150 : -149;
    if (biased)
        mant |= 0x800000u;
    uint64_t m1000 = mant * 1000u; /* < 2^34 */
    uint64_t q;
    if (e >= 0) {
        if (e > 29) { /* above 2^53: out of range for these workloads */
            ee_print((x.u >> 31) ? "-inf" : "inf");
            return;
        }
        q = m1000 << e;
    } else if (-e >= 40) {
        q = 0; /* below half a unit of the last place */
    } else {
        unsigned s = (unsigned)-e;
        uint64_t rest = m1000 & ((1ull << s) - 1u);
        uint64_t half = 1ull << (s - 1u);
        q = m1000 >> s;
        if (rest > half || (rest == half && (q & 1u)))
            q++;
    }
    if (x.u >> 31)
        hal_uart_putc('-'); /* printf keeps the sign of -0.0001 ("-0.000") */
    hal_print_u64(q / 1000u);
    uint32_t frac = (uint32_t)(q % 1000u);
    hal_uart_putc('.');
    hal_uart_putc((char)('0' + frac / 100u));
    hal_uart_putc((char)('0' + frac / 10u % 10u));
    hal_uart_putc((char)('0' + frac % 10u));
}

static void print_hex_byte(uint8_t b)
{
    hal_uart_putc("0123456789abcdef"[b >> 4]);
    hal_uart_putc("0123456789abcdef"[b & 0xFu]);
}

/* ------------------------------------------------------------------ time */

static uint64_t cycles_total;
static uint32_t cycles_last;

uint64_t ee_cycles64(void)
{
    uint32_t now = hal_cycles();
    cycles_total += (uint32_t)(now - cycles_last);
    cycles_last = now;
    return cycles_total;
}

/* The timer read and the falling edge come in the same order at both ends of a window, so the
 * m-lap-us difference and the GPIO edge difference measure the same interval. */
static uint64_t timestamp_mark(void)
{
    uint64_t cycles = ee_cycles64();
    hal_timestamp_pulse();
    return cycles;
}

static void print_lap(uint64_t cycles)
{
#if !EE_CFG_ENERGY_MODE
    uint32_t hz = hal_core_clock_hz();
    uint64_t us = (cycles / hz) * 1000000u + (cycles % hz) * 1000000u / hz;
    ee_print("m-lap-us-");
    ee_print_u32((uint32_t)us); /* "%lu" of a 32-bit unsigned long: wraps like a us ticker */
    ee_print("\r\n");
#else
    (void)cycles;
#endif
}

void ee_timestamp(void)
{
    print_lap(timestamp_mark());
}

/* ------------------------------------------------------------------ parsing helpers */

enum { NUM_OK = 0, NUM_BAD = -1, NUM_NEGATIVE = -2, NUM_TOO_BIG = -3 };

static int parse_u32(const char *s, uint32_t *out)
{
    int negative = 0;
    if (*s == '-') {
        negative = 1;
        s++;
    }
    if (!*s)
        return NUM_BAD;
    uint32_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return NUM_BAD;
        uint32_t d = (uint32_t)(*s - '0');
        if (v > (0xFFFFFFFFu - d) / 10u)
            return negative ? NUM_NEGATIVE : NUM_TOO_BIG;
        v = v * 10u + d;
    }
    if (negative && v)
        return NUM_NEGATIVE;
    *out = v;
    return NUM_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Splits in place on spaces (runs of spaces count as one, as with strtok). */
static uint32_t tokenize(char *s, char **tok, uint32_t max)
{
    uint32_t n = 0;
    while (*s) {
        while (*s == ' ')
            *s++ = '\0';
        if (!*s)
            break;
        if (n == max)
            return max + 1u; /* too many */
        tok[n++] = s;
        while (*s && *s != ' ')
            s++;
    }
    return n;
}

static int no_extra(char **tok, uint32_t ntok, uint32_t allowed)
{
    if (ntok <= allowed)
        return 1;
    if (ntok > MAX_TOKENS)
        ee_print_error("Too many arguments");
    else
        print_error_quoted("Unexpected argument", tok[allowed]);
    return 0;
}

/* ------------------------------------------------------------------ commands */

static void cmd_help(void)
{
    ee_print(EE_FW_VERSION "\r\n\r\n");
    ee_print("help         : Print this information\r\n");
    ee_print("name         : Print the name of the device\r\n");
    ee_print("profile      : Print the firmware version and the model id\r\n");
    ee_print("timestamp    : Generate a timestamp (m-lap-us line and/or GPIO falling edge)\r\n");
    ee_print("db SUBCMD    : Manipulate the input byte buffer\r\n");
    ee_print("  load N     : Expect N bytes (at most ");
    ee_print_u32(EE_MAX_DB_INPUT_SIZE);
    ee_print(")\r\n");
    ee_print("  HH[HH]*    : Append hex-encoded bytes\r\n");
    ee_print("  print      : Print the loaded bytes, 8 per line\r\n");
    ee_print("infer N [W]  : Load the input, run W warm-up then N timed inferences (W = 10)\r\n");
    ee_print("results      : Return the result fp32 vector\r\n");
}

static void cmd_db_load(char **tok, uint32_t ntok)
{
    if (ntok < 3u) {
        ee_print_error("Command 'db load' requires the # of bytes");
        return;
    }
    if (!no_extra(tok, ntok, 3u))
        return;
    uint32_t n = 0;
    int rc = parse_u32(tok[2], &n);
    if (rc == NUM_BAD) {
        print_error_quoted("Invalid number of bytes", tok[2]);
        return;
    }
    if (rc == NUM_OK && n == 0u) {
        ee_print_error("Command 'db load' must be >0 bytes");
        return;
    }
    if (rc != NUM_OK || n > EE_MAX_DB_INPUT_SIZE) {
        db_size = db_pos = 0u; /* refuse instead of keeping an oversized count */
        ee_print("e-[Command 'db load' exceeds the buffer: ");
        print_sanitized(tok[2]);
        ee_print(" > ");
        ee_print_u32(EE_MAX_DB_INPUT_SIZE);
        ee_print(" bytes]\r\n");
        return;
    }
    db_size = n;
    db_pos = 0u;
    ee_print("m-[Expecting ");
    ee_print_u32(n);
    ee_print(" bytes]\r\n");
}

static void cmd_db_hex(const char *hex)
{
    uint32_t len = (uint32_t)strlen(hex);
    if (len & 1u) {
        ee_print_error("Insufficent number of hex digits"); /* sic: the reference string */
        return;
    }
    for (uint32_t i = 0; i < len; i += 2u) {
        if (hex_value(hex[i]) < 0 || hex_value(hex[i + 1u]) < 0) {
            char pair[3] = {hex[i], hex[i + 1u], '\0'};
            print_error_quoted("Invalid hex digit", pair);
            return;
        }
    }
    if (db_pos >= db_size) {
        ee_print_error("No 'db load' in progress");
        return;
    }
    /* Digits beyond the announced size are ignored, as in the reference. */
    for (uint32_t i = 0; i < len && db_pos < db_size; i += 2u)
        db_buf[db_pos++] = (uint8_t)(hex_value(hex[i]) << 4 | hex_value(hex[i + 1u]));
    if (db_pos == db_size)
        ee_print("m-load-done\r\n");
}

static void cmd_db_print(void)
{
    for (uint32_t i = 0; i < db_size; i += 8u) {
        ee_print("m-buffer");
        for (uint32_t j = i; j < i + 8u && j < db_size; j++) {
            hal_uart_putc('-');
            print_hex_byte(db_buf[j]);
        }
        ee_print("\r\n");
    }
}

static void cmd_db(char **tok, uint32_t ntok)
{
    if (ntok < 2u) {
        ee_print_error("Command 'db' requires a subcommand");
        return;
    }
    if (strcmp(tok[1], "load") == 0) {
        cmd_db_load(tok, ntok);
    } else if (strcmp(tok[1], "print") == 0) {
        if (no_extra(tok, ntok, 2u))
            cmd_db_print();
    } else if (no_extra(tok, ntok, 2u)) {
        cmd_db_hex(tok[1]);
    }
}

static int parse_count(const char *tok, uint32_t *out, const char *negative_msg)
{
    int rc = parse_u32(tok, out);
    if (rc == NUM_OK)
        return 1;
    if (rc == NUM_NEGATIVE)
        ee_print_error(negative_msg);
    else if (rc == NUM_TOO_BIG)
        print_error_quoted("Number too large", tok);
    else
        print_error_quoted("Invalid number", tok);
    return 0;
}

static void print_counted(const char *prefix, uint32_t n)
{
    ee_print(prefix);
    ee_print_u32(n);
    ee_print("\r\n");
}

static void cmd_infer(char **tok, uint32_t ntok)
{
    uint32_t n = 1u, warmup = 10u; /* the reference defaults */
    if (!no_extra(tok, ntok, 3u))
        return;
    if (ntok >= 2u && !parse_count(tok[1], &n, "Inference iterations must be >0"))
        return;
    if (ntok >= 3u && !parse_count(tok[2], &warmup, "Inference warmup must be >=0"))
        return;
    if (n == 0u) {
        ee_print_error("Inference iterations must be >0");
        return;
    }
    uint32_t want = ee_workload_db_bytes();
    if (db_pos != want || db_size != want) {
        ee_print("e-[Input db has ");
        ee_print_u32(db_pos);
        ee_print(" bytes, expected ");
        ee_print_u32(want);
        ee_print("]\r\n");
        return;
    }
    ee_workload_load(db_buf, db_pos); /* untimed pre-processing */

    int status = 0;
    print_counted("m-warmup-start-", warmup);
    for (uint32_t i = 0; i < warmup; i++) {
        status |= ee_workload_infer();
        (void)ee_cycles64();
    }
    ee_print("m-warmup-done\r\n");
    print_counted("m-infer-start-", n);
    /* Both m-lap-us lines are printed after the window (same text, same order as the reference
     * sequence, which prints the first one inside it): the window then holds only the inferences
     * and the two marks, and its length does not depend on the digits of the time printed. */
    uint64_t start = timestamp_mark();
    for (uint32_t i = 0; i < n; i++) {
        status |= ee_workload_infer();
        (void)ee_cycles64(); /* keeps the 64-bit cycle count across 32-bit wraps */
    }
    uint64_t end = timestamp_mark();
    print_lap(start);
    print_lap(end);
    ee_print("m-infer-done\r\n");
    if (status) {
        ee_print("e-[Inference failed with status ");
        ee_print_i32(status);
        ee_print("]\r\n");
        return;
    }
    ee_workload_results(); /* untimed post-processing */
}

static void run_command(char *line)
{
    char *tok[MAX_TOKENS];
    uint32_t ntok = tokenize(line, tok, MAX_TOKENS);
    if (ntok == 0u) {
        ee_print_error("Empty command");
        return;
    }
    const char *cmd = tok[0];
    if (strcmp(cmd, "name") == 0) {
        if (no_extra(tok, ntok, 1u))
            ee_print("m-name-" EE_DEVICE_NAME "-[" EE_VENDOR_NAME "]\r\n");
    } else if (strcmp(cmd, "timestamp") == 0) {
        if (no_extra(tok, ntok, 1u))
            ee_timestamp();
    } else if (strcmp(cmd, "profile") == 0) {
        if (no_extra(tok, ntok, 1u)) {
            ee_print("m-profile-[" EE_FW_VERSION "]\r\n");
            ee_print("m-model-[");
            ee_print(ee_workload_model_id());
            ee_print("]\r\n");
        }
    } else if (strcmp(cmd, "help") == 0) {
        cmd_help();
    } else if (strcmp(cmd, "db") == 0) {
        cmd_db(tok, ntok);
    } else if (strcmp(cmd, "infer") == 0) {
        cmd_infer(tok, ntok);
    } else if (strcmp(cmd, "results") == 0) {
        if (no_extra(tok, ntok, 1u))
            ee_workload_results();
    } else {
        ee_print("e-[Unknown command: "); /* the reference string, unquoted */
        print_sanitized(cmd);
        ee_print("]\r\n");
    }
}

void ee_serial_char(char c)
{
    if (c == '%') {
        cmd_buf[cmd_len] = '\0';
        if (cmd_overflow) {
            ee_print("e-[Command too long: more than ");
            ee_print_u32(EE_CMD_SIZE);
            ee_print(" characters]\r\n");
        } else {
            run_command(cmd_buf);
        }
        cmd_len = 0u;
        cmd_overflow = 0;
        ee_print("m-ready\r\n");
        return;
    }
    if (cmd_len == 0u && !cmd_overflow && (c == '\r' || c == '\n'))
        return;
    if (cmd_len < EE_CMD_SIZE)
        cmd_buf[cmd_len++] = c;
    else
        cmd_overflow = 1;
}

void ee_benchmark_initialize(void)
{
    hal_uart_init(VB_HAL_DEFAULT_BAUD);
    hal_cycles_init();
    cycles_last = hal_cycles();
    hal_timestamp_pin_init();
#if EE_CFG_ENERGY_MODE
    ee_print("m-timestamp-mode-energy\r\n");
#else
    ee_print("m-timestamp-mode-performance\r\n");
#endif
    ee_timestamp(); /* as the reference ports do once at start-up (pin idles high after it) */
    (void)ee_workload_init();
    ee_print("m-init-done\r\n");
    ee_print("m-ready\r\n");
}
