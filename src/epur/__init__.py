"""epur: simulator and reference implementation of E-PUR (Silfa et al., PACT 2018)."""
