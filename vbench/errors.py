"""User-facing errors: the CLI prints these without a traceback and exits non-zero."""


class VbenchError(Exception):
    """A problem with the user's input (file, platform, firmware, option), stated in one message."""

    exit_code = 2


class FirmwareFault(VbenchError):
    """The simulated firmware faulted (bad access, illegal instruction, HardFault)."""

    exit_code = 3
