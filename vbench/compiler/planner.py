"""Arena planning: give every activation tensor a byte offset in one static arena.

Tensors whose lifetimes overlap never share bytes. RESHAPE outputs alias their input
(same bytes, lifetimes merged), so RESHAPE costs no memory or copy. Placement is greedy by
size (largest buffer first, lowest offset that fits next to the already placed buffers
that are alive at the same time), as TFLite Micro's GreedyMemoryPlanner does. The result
is reported against the peak-live-bytes lower bound, which no non-overlapping plan can beat;
when greedy-by-size misses it, a few other orders and seeded perturbations are tried.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from vbench.compiler.fold import Layer
from vbench.compiler.tflite_reader import MAX_TENSOR_BYTES, Graph
from vbench.errors import VbenchError

ALIGNMENT = 16
# The largest arena vbench plans: the per-tensor bound (tflite_reader.MAX_TENSOR_BYTES, 256 MiB),
# ~100x the SRAM of any MCU, and far below 2^31 so no size in the emitted C or the 32-bit runtime
# can wrap. Checked on the peak live bytes before placement, and on the placed arena.
MAX_ARENA_BYTES = MAX_TENSOR_BYTES


@dataclass
class Buffer:
    tensors: list[int]
    size: int            # bytes actually used (unaligned)
    first: int           # first layer index at which the buffer is live
    last: int            # last layer index at which it is live (inclusive)
    offset: int = -1

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass
class ArenaPlan:
    offsets: dict[int, int]   # tensor index -> arena byte offset
    arena_bytes: int
    lower_bound: int          # max over layers of the bytes live there
    sum_bytes: int            # every buffer in its own slot (no reuse)
    buffers: list[Buffer] = field(default_factory=list)


def _align(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def _buffers(graph: Graph, layers: list[Layer]) -> list[Buffer]:
    last_layer = len(layers) - 1
    owner: dict[int, Buffer] = {}
    buffers: list[Buffer] = []

    def touch(t_index: int, at: int):
        buf = owner.get(t_index)
        if buf is None:
            buf = Buffer([t_index], graph.tensors[t_index].nbytes, at, at)
            owner[t_index] = buf
            buffers.append(buf)
        buf.first, buf.last = min(buf.first, at), max(buf.last, at)

    # The graph input is live from the start until its last reader (so it must be set
    # before every invoke); the graph output from its producer until the end.
    touch(graph.inputs[0], 0)
    for layer in layers:
        for t_index in layer.inputs:
            touch(t_index, layer.index)
        if layer.op == "RESHAPE":
            buf = owner[layer.inputs[0]]
            buf.tensors.append(layer.output)
            buf.size = max(buf.size, graph.tensors[layer.output].nbytes)
            owner[layer.output] = buf
        else:
            touch(layer.output, layer.index)
    touch(graph.outputs[0], last_layer)
    owner[graph.outputs[0]].last = last_layer
    return buffers


def _place(order: list[Buffer]) -> tuple[int, list[int]]:
    """Greedy placement in `order`: each buffer goes to the lowest offset that does not
    collide with an already placed buffer alive at the same time."""
    placed: list[tuple[int, Buffer]] = []
    offsets = []
    for buf in order:
        conflicts = sorted(((off, p) for off, p in placed if p.overlaps_in_time(buf)),
                           key=lambda item: item[0])
        offset = 0
        for other_offset, other in conflicts:
            if offset + _align(buf.size) <= other_offset:
                break  # fits in the gap before `other`
            offset = max(offset, other_offset + _align(other.size))
        placed.append((offset, buf))
        offsets.append(offset)
    arena = max((off + _align(b.size) for off, b in placed), default=0)
    return arena, offsets


def plan_arena(graph: Graph, layers: list[Layer], restarts: int = 200) -> ArenaPlan:
    buffers = _buffers(graph, layers)
    lower_bound = max((sum(b.size for b in buffers if b.first <= i <= b.last)
                       for i in range(len(layers))), default=0)
    aligned_bound = max((sum(_align(b.size) for b in buffers if b.first <= i <= b.last)
                         for i in range(len(layers))), default=0)
    if lower_bound > MAX_ARENA_BYTES:
        peak = max(range(len(layers)),
                   key=lambda i: sum(b.size for b in buffers if b.first <= i <= b.last))
        _too_big(graph, lower_bound, f"{lower_bound:,} bytes of activations are live at layer {peak} "
                                     f"({layers[peak].op})")
    # Greedy by size first (TFLM's order); then other orders and seeded random shuffles
    # of the size order, keeping the smallest arena, until the bound is reached.
    by_size = sorted(buffers, key=lambda b: (-_align(b.size), b.first, b.tensors[0]))
    orders = [by_size,
              sorted(buffers, key=lambda b: (b.first, -b.size)),
              sorted(buffers, key=lambda b: (-(b.last - b.first + 1) * b.size, b.first)),
              sorted(buffers, key=lambda b: (-(b.last - b.first), -b.size, b.first))]
    rng = random.Random(0)
    best_arena, best_order, best_offsets = None, None, None
    for attempt in range(len(orders) + restarts):
        if attempt < len(orders):
            order = orders[attempt]
        else:  # perturb the best order found so far: swap a few neighbours
            order = list(best_order)
            for _ in range(1 + rng.randrange(3)):
                i = rng.randrange(len(order))
                j = min(len(order) - 1, i + 1 + rng.randrange(3))
                order[i], order[j] = order[j], order[i]
        arena, offsets = _place(order)
        if best_arena is None or arena < best_arena:
            best_arena, best_order, best_offsets = arena, order, offsets
        if best_arena <= aligned_bound:
            break
    if best_arena > MAX_ARENA_BYTES:
        _too_big(graph, best_arena, f"the planned arena is {best_arena:,} bytes")
    for buf, offset in zip(best_order, best_offsets):
        buf.offset = offset
    offsets = {t: b.offset for b in buffers for t in b.tensors}
    _check_no_overlap(buffers)
    return ArenaPlan(offsets, best_arena, lower_bound, sum(_align(b.size) for b in buffers), buffers)


def _too_big(graph: Graph, size: int, what: str):
    raise VbenchError(f"{graph.path}: {what}; vbench plans at most {MAX_ARENA_BYTES >> 20} MiB of arena "
                      f"(an MCU has a few hundred KiB of SRAM)")


def _check_no_overlap(buffers: list[Buffer]):
    for i, a in enumerate(buffers):
        for b in buffers[i + 1:]:
            if a.overlaps_in_time(b) and a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                raise AssertionError(f"arena planner bug: buffers {a.tensors} and {b.tensors} overlap")
