"""Robustness corpus (issue 17 item 6): generated malformed inputs through every command, and a fuzz of
the .tflite reader and the ELF loader."""
