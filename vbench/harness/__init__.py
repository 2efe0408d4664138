"""The MLPerf Tiny / EEMBC benchmark harness: device firmware build (build), the serial protocol
(protocol), transports to a virtual or a real board (transport), the host runner (runner) and the
performance, energy and accuracy modes (modes)."""
