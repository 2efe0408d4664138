"""Calibration of vbench's free parameters against board measurements (`vbench calibrate`,
`vbench fidelity`); the entry point is vbench/calibrate.py.

    measurements.py  the measurement CSV format and its validation
    workloads.py     what a row runs (resolve_firmware) and its cached simulation
    params.py        the free parameters and their bounds
    fit.py           linear / bounded nonlinear least squares, leave-one-out cross-validation
    output.py        report, plot and calibrated parameter files with provenance
    fidelity.py      per platform: calibrated parameters, sources, cross-validated error
"""
