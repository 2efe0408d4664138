"""Instruction energy classes shared by the decoders and the power models.

A power model gives a charge per cycle (pC per cycle = uA per MHz) for each class; the decoders
tag every instruction with one. Order is part of the native ABI (vb_insn.energy_class).
"""

ENERGY_CLASSES = ("alu", "mul", "div", "load", "store", "branch", "fp", "fp_div", "system")
ENERGY_CLASS = {name: i for i, name in enumerate(ENERGY_CLASSES)}
