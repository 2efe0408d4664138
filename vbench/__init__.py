"""vbench: a virtual MLPerf Tiny benchmark on simulated microcontroller boards."""

__version__ = "0.1.0"
