/* A QEMU TCG plugin counting the guest instructions a user-mode run executes: built by
 * runtime/qemu_count.py with `gcc -shared -fPIC` and loaded as
 *
 *   qemu-<arch> -plugin count.so[,regions=FILE,code=ADDRESS] -d plugin -D LOG program ...
 *
 * QEMU's plugin "insn" is what the target's translator translates in one step: one
 * instruction on aarch64, one packet on Hexagon (target/hexagon/translate.c translates a
 * packet per `translate_insn` and reads its words with translator_ldl, so
 * qemu_plugin_insn_data holds the packet). On Hexagon the instructions of a packet are
 * counted from its words: a duplex word is two sub-instructions; a constant extender
 * (immext) and a nop are none, as QEMU's own counter of executed instructions has them.
 *
 * Each translation block gets one inline 64-bit add of its packets and one of its
 * instructions, into the counters of the region holding the block's first address:
 * FILE has one region a line, `start end` in hex (end exclusive), in increasing order, as
 * addresses of the executable whose lowest executable segment starts at ADDRESS (hex) in its
 * ELF program headers: a position-independent executable runs moved by where QEMU put that
 * segment (qemu_plugin_start_code). Blocks outside
 * every region (or with no FILE) count in region 0. At exit LOG gets
 *
 *   lamina-count target <name>
 *   lamina-count region <k> packets <n> instructions <n>     (every region with counts)
 *
 * Inline adds are not atomic: a guest with several threads is counted inexactly.
 *
 * The declarations below are QEMU 7.2's include/qemu/qemu-plugin.h (QEMU_PLUGIN_VERSION
 * 1), only the parts used; Debian ships no header for it.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
#define QEMU_PLUGIN_VERSION 1

typedef uint64_t qemu_plugin_id_t;

typedef struct qemu_info_t {
    const char *target_name;
    struct {
        int min;
        int cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus;
            int max_vcpus;
        } system;
    };
} qemu_info_t;

struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_op {
    QEMU_PLUGIN_INLINE_ADD_U64,
};

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);
uint64_t qemu_plugin_start_code(void);

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct region {
    uint64_t start, end;
};

struct counts {
    uint64_t packets, instructions;
};

static struct region *regions; /* regions[1..n_regions]; region 0 is the rest */
static struct counts *counts;  /* one per region */
static size_t n_regions;
static uint64_t code_start;    /* the ELF address of the lowest executable segment */
static uint64_t load_bias;     /* where the executable runs minus its ELF addresses */
static bool load_bias_known;   /* the loader has run: known at the first translation */
static bool hexagon;
static char target[64];

/* The instructions of one Hexagon packet (its little-endian words). */
static uint64_t packet_instructions(const uint8_t *data, size_t size)
{
    uint64_t n = 0;
    for (size_t at = 0; at + 4 <= size; at += 4) {
        uint32_t word;
        memcpy(&word, data + at, sizeof word);
        unsigned parse = (word >> 14) & 3;
        if (parse == 0) {
            n += 2; /* duplex: two sub-instructions */
        } else if ((word >> 28) == 0 || (word >> 24) == 0x7f) {
            continue; /* immext or nop */
        } else {
            n += 1;
        }
    }
    return n;
}

static size_t region_of(uint64_t address)
{
    size_t low = 1, high = n_regions + 1; /* the region, if any, is in [low, high) */
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (address < regions[mid].start) {
            high = mid;
        } else if (address >= regions[mid].end) {
            low = mid + 1;
        } else {
            return mid;
        }
    }
    return 0;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t packets = qemu_plugin_tb_n_insns(tb);
    uint64_t instructions = packets;
    if (hexagon) {
        instructions = 0;
        for (size_t i = 0; i < packets; i++) {
            struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
            instructions += packet_instructions(qemu_plugin_insn_data(insn),
                                                qemu_plugin_insn_size(insn));
        }
    }
    if (!load_bias_known) {
        load_bias = qemu_plugin_start_code() - code_start;
        load_bias_known = true;
    }
    struct counts *into = &counts[region_of(qemu_plugin_tb_vaddr(tb) - load_bias)];
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &into->packets,
                                             packets);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
                                             &into->instructions, instructions);
}

static void report(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    char line[160];
    snprintf(line, sizeof line, "lamina-count target %s\n", target);
    qemu_plugin_outs(line);
    for (size_t k = 0; k <= n_regions; k++) {
        if (counts[k].packets == 0) {
            continue;
        }
        snprintf(line, sizeof line, "lamina-count region %zu packets %" PRIu64
                 " instructions %" PRIu64 "\n", k, counts[k].packets, counts[k].instructions);
        qemu_plugin_outs(line);
    }
}

/* Reads FILE into `regions`; false (with a message) on a bad file. */
static bool read_regions(const char *path)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        fprintf(stderr, "lamina-count: cannot open %s\n", path);
        return false;
    }
    size_t capacity = 64;
    regions = malloc((capacity + 1) * sizeof *regions);
    uint64_t start, end, previous_end = 0;
    while (regions != NULL && fscanf(file, "%" SCNx64 " %" SCNx64, &start, &end) == 2) {
        if (start >= end || start < previous_end) {
            fprintf(stderr, "lamina-count: %s: region %" PRIx64 " %" PRIx64
                    " is empty or out of order\n", path, start, end);
            fclose(file);
            return false;
        }
        if (n_regions == capacity) {
            capacity *= 2;
            regions = realloc(regions, (capacity + 1) * sizeof *regions);
            if (regions == NULL) {
                break;
            }
        }
        regions[++n_regions] = (struct region){start, end};
        previous_end = end;
    }
    bool complete = regions != NULL && feof(file);
    fclose(file);
    if (!complete) {
        fprintf(stderr, "lamina-count: %s: expected lines `start end` in hex\n", path);
    }
    return complete;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "regions=", 8) == 0) {
            if (!read_regions(argv[i] + 8)) {
                return 1;
            }
        } else if (strncmp(argv[i], "code=", 5) == 0) {
            code_start = strtoull(argv[i] + 5, NULL, 16);
        } else {
            fprintf(stderr, "lamina-count: unknown argument %s\n", argv[i]);
            return 1;
        }
    }
    counts = calloc(n_regions + 1, sizeof *counts);
    if (counts == NULL) {
        return 1;
    }
    snprintf(target, sizeof target, "%s", info->target_name);
    hexagon = strcmp(info->target_name, "hexagon") == 0;
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, report, NULL);
    return 0;
}
