"""vbench chooses its libunicorn when it is imported (vbench/sim/unicorn_lib.py): import it before
any test module imports unicorn, so that every test process runs on the same library."""

import vbench  # noqa: F401
