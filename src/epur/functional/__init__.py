"""Functional models: the float64 reference and the bit-accurate E-PUR datapath."""
